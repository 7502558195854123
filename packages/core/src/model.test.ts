import { describe, expect, it } from 'vitest';
import { isFsError } from './errors.js';
import { pauseLifecycle, segmentLifecycle, streamLifecycle, tracksUsedBy } from './model.js';

describe('lifecycles', () => {
  it('a stopped stream cannot be stopped again, and the error says so', () => {
    expect(() => streamLifecycle.assert('stopped', 'stopped', 'stop')).toThrow(
      "cannot stop stream in state 'stopped'",
    );
    try {
      streamLifecycle.assert('failed', 'streaming', 'confirm');
      expect.unreachable();
    } catch (error) {
      expect(isFsError(error, 'FS_ERR_INVALID_TRANSITION')).toBe(true);
    }
  });

  it('allows exactly the documented stream transitions', () => {
    expect(streamLifecycle.assert('deferred', 'starting', 'start')).toBe('starting');
    expect(streamLifecycle.can('starting', 'streaming')).toBe(true);
    expect(streamLifecycle.can('streaming', 'starting')).toBe(false);
    expect(streamLifecycle.can('deferred', 'streaming')).toBe(false);
    expect(streamLifecycle.isTerminal('stopped')).toBe(true);
    expect(streamLifecycle.isTerminal('streaming')).toBe(false);
  });

  it('segments pause and resume while live, and an ended segment is final', () => {
    expect(segmentLifecycle.can('active', 'paused')).toBe(true);
    expect(segmentLifecycle.can('paused', 'active')).toBe(true);
    expect(() => segmentLifecycle.assert('ended', 'active', 'resume')).toThrow(
      "cannot resume segment in state 'ended'",
    );
    expect(() => pauseLifecycle.assert('closed', 'closed', 'close')).toThrow(/cannot close pause/);
  });

  it('counts both_tracks as two forked tracks', () => {
    expect(tracksUsedBy('both_tracks')).toBe(2);
    expect(tracksUsedBy('inbound_track')).toBe(1);
    expect(tracksUsedBy('outbound_track')).toBe(1);
  });
});
