/**
 * The production implementations of the small ports, shared by every runtime (the service and
 * Twilio Functions) so neither adapter writes them again.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from './ports.js';

/** The real clock: `Date.now()` and `setTimeout`. */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    sleep: (ms) =>
      new Promise((resolve) => {
        setTimeout(resolve, Math.max(0, ms));
      }),
  };
}

/** Segment ids shaped like Twilio SIDs: `SG` + 32 hex digits, random. */
export function createSegmentIdGenerator(): IdGenerator {
  return () => `SG${randomUUID().replace(/-/g, '')}`;
}
