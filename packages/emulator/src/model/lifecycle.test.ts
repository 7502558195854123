import { describe, expect, it } from 'vitest';
import { EmulatorStateError } from '../errors.js';
import {
  CALL_TRANSITIONS,
  CONFERENCE_TRANSITIONS,
  PARTICIPANT_TRANSITIONS,
  STREAM_TRANSITIONS,
  transition,
} from './lifecycle.js';

describe('lifecycle transition tables', () => {
  it('allows the documented call path and refuses leaving a terminal state', () => {
    expect(transition('call', CALL_TRANSITIONS, 'queued', 'ringing')).toBe('ringing');
    expect(transition('call', CALL_TRANSITIONS, 'ringing', 'in-progress')).toBe('in-progress');
    expect(transition('call', CALL_TRANSITIONS, 'in-progress', 'completed')).toBe('completed');
    expect(() => transition('call CA1', CALL_TRANSITIONS, 'completed', 'in-progress')).toThrow(
      new EmulatorStateError("cannot move call CA1 from 'completed' to 'in-progress'"),
    );
    expect(() => transition('call', CALL_TRANSITIONS, 'ringing', 'completed')).toThrow(
      EmulatorStateError,
    );
  });

  it('ends conferences, participants and streams only once', () => {
    expect(() =>
      transition('conference', CONFERENCE_TRANSITIONS, 'completed', 'in-progress'),
    ).toThrow(EmulatorStateError);
    expect(() => transition('conference', CONFERENCE_TRANSITIONS, 'in-progress', 'init')).toThrow(
      EmulatorStateError,
    );
    expect(() =>
      transition('participant', PARTICIPANT_TRANSITIONS, 'complete', 'connected'),
    ).toThrow(EmulatorStateError);
    expect(transition('stream', STREAM_TRANSITIONS, 'connecting', 'failed')).toBe('failed');
    expect(() => transition('stream', STREAM_TRANSITIONS, 'stopped', 'streaming')).toThrow(
      EmulatorStateError,
    );
    expect(() => transition('stream', STREAM_TRANSITIONS, 'failed', 'stopped')).toThrow(
      EmulatorStateError,
    );
  });
});
