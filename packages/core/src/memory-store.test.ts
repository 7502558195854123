import { describe, expect, it } from 'vitest';
import { isFsError } from './errors.js';
import { createMemorySegmentStore } from './memory-store.js';
import type { Segment } from './model.js';
import { makeSid } from './testing/index.js';

function segment(n: number, call = makeSid('CA', 1)): Segment {
  return {
    id: `SG${n}`,
    version: 0,
    index: n,
    previousSegmentId: null,
    customerCallSid: call,
    taskSid: makeSid('WT', 1),
    reservationSid: makeSid('WR', n),
    workerSid: makeSid('WK', n),
    conferenceSid: null,
    workerCallSid: null,
    transferMode: 'none',
    state: 'active',
    startedAt: 0,
    endedAt: null,
    endReason: null,
    pauses: [],
    streams: [],
    errors: [],
  };
}

describe('createMemorySegmentStore', () => {
  it('stores copies, versions each write and finds segments by reservation and call', async () => {
    const store = createMemorySegmentStore();
    const original = segment(1);
    const saved = await store.put(original, 0);
    expect(saved.version).toBe(1);
    original.state = 'ended';
    expect((await store.get('SG1'))?.state).toBe('active');
    await store.put(segment(0), 0);
    await store.put(segment(5, makeSid('CA', 2)), 0);
    expect((await store.listByCall(makeSid('CA', 1))).map((s) => s.id)).toEqual(['SG0', 'SG1']);
    expect((await store.getByReservation(makeSid('WR', 5)))?.id).toBe('SG5');
    expect(await store.getByReservation(makeSid('WR', 9))).toBeNull();
  });

  it('rejects a write from a stale version and a second segment for one reservation', async () => {
    const store = createMemorySegmentStore();
    const first = await store.put(segment(1), 0);
    await store.put({ ...first, state: 'paused' }, 1);
    await expect(store.put({ ...first, state: 'ended' }, 1)).rejects.toSatisfy((e) =>
      isFsError(e, 'FS_ERR_STORE_CONFLICT'),
    );
    await expect(store.put({ ...segment(1), id: 'SG-other' }, 0)).rejects.toThrow(
      /already has segment SG1/,
    );
    expect((await store.get('SG1'))?.state).toBe('paused');
  });
});
