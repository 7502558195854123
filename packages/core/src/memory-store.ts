import { createFsError } from './errors.js';
import type { Segment } from './model.js';
import type { SegmentStore } from './ports.js';

/**
 * A {@link SegmentStore} in memory, with the same contract as a persistent one: copies in and out,
 * optimistic versions, lookups by reservation and by call. Loses everything on restart; the
 * server's file-backed store is the default for deployments.
 */
export function createMemorySegmentStore(): SegmentStore {
  const byId = new Map<string, Segment>();
  const idByReservation = new Map<string, string>();
  const idsByCall = new Map<string, string[]>();

  return {
    get(segmentId) {
      const found = byId.get(segmentId);
      return Promise.resolve(found === undefined ? null : structuredClone(found));
    },
    getByReservation(reservationSid) {
      const id = idByReservation.get(reservationSid);
      const found = id === undefined ? undefined : byId.get(id);
      return Promise.resolve(found === undefined ? null : structuredClone(found));
    },
    listByCall(customerCallSid) {
      const ids = idsByCall.get(customerCallSid) ?? [];
      const segments = ids
        .map((id) => byId.get(id))
        .filter((s): s is Segment => s !== undefined)
        .map((s) => structuredClone(s))
        .sort((a, b) => a.index - b.index);
      return Promise.resolve(segments);
    },
    put(segment, expectedVersion) {
      const current = byId.get(segment.id);
      const currentVersion = current?.version ?? 0;
      if (currentVersion !== expectedVersion) {
        return Promise.reject(
          createFsError(
            'FS_ERR_STORE_CONFLICT',
            `segment ${segment.id} is at version ${currentVersion}, not ${expectedVersion}: reload it and apply the change again`,
          ),
        );
      }
      const otherId = idByReservation.get(segment.reservationSid);
      if (current === undefined && otherId !== undefined) {
        return Promise.reject(
          createFsError(
            'FS_ERR_STORE_CONFLICT',
            `reservation ${segment.reservationSid} already has segment ${otherId}`,
          ),
        );
      }
      const stored = structuredClone({ ...segment, version: currentVersion + 1 });
      byId.set(stored.id, stored);
      if (current === undefined) {
        idByReservation.set(stored.reservationSid, stored.id);
        const ids = idsByCall.get(stored.customerCallSid) ?? [];
        ids.push(stored.id);
        idsByCall.set(stored.customerCallSid, ids);
      }
      return Promise.resolve(structuredClone(stored));
    },
    listLiveCalls() {
      // Oldest first by the earliest segment start; ties keep the order first stored.
      const live = [...idsByCall]
        .filter(([, ids]) => ids.some((id) => byId.get(id)?.state !== 'ended'))
        .map(([callSid, ids]) => ({
          callSid,
          since: Math.min(...ids.map((id) => byId.get(id)?.startedAt ?? Infinity)),
        }))
        .sort((a, b) => a.since - b.since)
        .map(({ callSid }) => callSid);
      return Promise.resolve(live);
    },
  };
}
