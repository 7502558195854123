import { describe, expect, it } from 'vitest';
import { MediaStateError } from './errors.js';
import { isStreamOver, transition } from './stream-state.js';

describe('stream state machine', () => {
  it('allows the life of a stream', () => {
    expect(transition('MZ1', 'connecting', 'streaming')).toBe('streaming');
    expect(transition('MZ1', 'streaming', 'stopping')).toBe('stopping');
    expect(transition('MZ1', 'stopping', 'stopped')).toBe('stopped');
    expect(transition('MZ1', 'connecting', 'failed')).toBe('failed');
  });

  it('fails loudly on a forbidden transition', () => {
    expect(() => transition('MZ1', 'stopped', 'streaming')).toThrow(MediaStateError);
    expect(() => transition('MZ1', 'failed', 'stopped')).toThrow(
      "cannot move stream MZ1 from 'failed' to 'stopped'",
    );
    expect(() => transition('MZ1', 'stopping', 'failed')).toThrow(MediaStateError);
  });

  it('knows which states are over', () => {
    expect(isStreamOver('stopped')).toBe(true);
    expect(isStreamOver('failed')).toBe(true);
    expect(isStreamOver('stopping')).toBe(false);
  });
});
