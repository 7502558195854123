/**
 * The `SegmentStore` contract (see `ports.ts`) as one Vitest suite, run by every implementation:
 * the core's memory store here, the server's file store in its package. Written once so the
 * implementations cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import { isFsError } from '../errors.js';
import type { Segment } from '../model.js';
import type { SegmentStore } from '../ports.js';
import { makeSid } from './fake-voice.js';

/** A fresh active segment `SG{n}` of reservation `WR…n`, on call `call` (`CA…1` by default). */
export function makeTestSegment(n: number, call: string = makeSid('CA', 1)): Segment {
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

/**
 * Declares the contract suite `SegmentStore contract: {name}`; `makeStore` opens a new, empty
 * store for each case.
 */
export function describeSegmentStoreContract(
  name: string,
  makeStore: () => SegmentStore | Promise<SegmentStore>,
): void {
  const segment = makeTestSegment;
  describe(`SegmentStore contract: ${name}`, () => {
    it('stores copies, versions each write and finds segments by reservation and call', async () => {
      const store = await makeStore();
      const original = segment(1);
      const saved = await store.put(original, 0);
      expect(saved.version).toBe(1);
      original.state = 'ended';
      saved.state = 'ended';
      expect((await store.get('SG1'))?.state).toBe('active');
      const read = await store.get('SG1');
      if (read !== null) read.state = 'ended';
      expect((await store.getByReservation(makeSid('WR', 1)))?.state).toBe('active');
      await store.put(segment(0), 0);
      await store.put(segment(5, makeSid('CA', 2)), 0);
      expect((await store.listByCall(makeSid('CA', 1))).map((s) => s.id)).toEqual(['SG0', 'SG1']);
      expect((await store.getByReservation(makeSid('WR', 5)))?.id).toBe('SG5');
      expect(await store.getByReservation(makeSid('WR', 9))).toBeNull();
      expect(await store.get('SG9')).toBeNull();
      expect(await store.listByCall(makeSid('CA', 9))).toEqual([]);
    });

    it('rejects a write from a stale version and a second segment for one reservation', async () => {
      const store = await makeStore();
      const first = await store.put(segment(1), 0);
      await store.put({ ...first, state: 'paused' }, 1);
      await expect(store.put({ ...first, state: 'ended' }, 1)).rejects.toSatisfy((e) =>
        isFsError(e, 'FS_ERR_STORE_CONFLICT'),
      );
      await expect(store.put({ ...segment(1), id: 'SG-other' }, 0)).rejects.toThrow(
        /already has segment SG1/,
      );
      await expect(store.put(segment(2), 3)).rejects.toSatisfy((e) =>
        isFsError(e, 'FS_ERR_STORE_CONFLICT'),
      );
      expect((await store.get('SG1'))?.state).toBe('paused');
      expect((await store.get('SG1'))?.version).toBe(2);
      expect(await store.get('SG2')).toBeNull();
    });

    it('lists the calls that still have a segment not ended, in the order they were first stored', async () => {
      const store = await makeStore();
      expect(await store.listLiveCalls()).toEqual([]);
      const callA = makeSid('CA', 1);
      const callB = makeSid('CA', 2);
      const callC = makeSid('CA', 3);
      await store.put(segment(1, callB), 0);
      await store.put({ ...segment(2, callA), state: 'paused' }, 0);
      const ended = await store.put({ ...segment(3, callC), state: 'ended' }, 0);
      expect(await store.listLiveCalls()).toEqual([callB, callA]);
      // A call is live while any one of its segments is.
      const second = await store.put(segment(4, callB), 0);
      await store.put({ ...second, state: 'ended' }, 1);
      expect(await store.listLiveCalls()).toEqual([callB, callA]);
      const first = await store.getByReservation(makeSid('WR', 1));
      if (first === null) throw new Error('segment 1 was not stored');
      await store.put({ ...first, state: 'ended' }, first.version);
      expect(await store.listLiveCalls()).toEqual([callA]);
      await store.put({ ...ended, state: 'ended' }, 1);
      expect(await store.listLiveCalls()).toEqual([callA]);
    });

    it('lists live calls oldest first by their earliest segment start, whatever the storing order', async () => {
      const store = await makeStore();
      const [early, late] = [makeSid('CA', 7), makeSid('CA', 4)];
      await store.put({ ...segment(1, late), startedAt: 2_000 }, 0);
      await store.put({ ...segment(2, early), startedAt: 1_000 }, 0);
      expect(await store.listLiveCalls()).toEqual([early, late]);
    });

    it('lets exactly one of two concurrent writes from the same version win', async () => {
      const store = await makeStore();
      const first = await store.put(segment(1), 0);
      const results = await Promise.allSettled([
        store.put({ ...first, state: 'paused' }, 1),
        store.put({ ...first, state: 'ended' }, 1),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((await store.get('SG1'))?.version).toBe(2);
    });
  });
}
