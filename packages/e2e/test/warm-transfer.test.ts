/**
 * The seed's five steps (twilio-facts appendix) end to end: customer → A, A warm-transfers to B,
 * A leaves, B finishes; one recording per segment with the right voices, through the TaskRouter
 * driver with the rest strategy on the customer leg.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';
import { expectAllChecksPassed, expectRestCost, SCENARIO_TIMEOUT_MS } from './helpers.js';

describe('warm-transfer (rest, customer leg, TaskRouter driver)', () => {
  it(
    'records A then B, each with the customer inbound and their own voice outbound',
    async () => {
      const result = await runScenario('warm-transfer');
      expectAllChecksPassed(result);
      expect(result.segments.map((s) => s.agent)).toEqual(['A', 'B']);
      expect(result.segments.every((s) => s.recordings.length === 1)).toBe(true);
      // rest: one create and one stop per segment, the customer's leg never touched.
      expectRestCost(result, 2);
      expect(result.customerDisruptions).toBe(0);
      // A's stream stopped at A's leave: A's segment ended before B's.
      const [a, b] = result.segments;
      expect(Date.parse(a?.endedAt ?? '')).toBeLessThan(Date.parse(b?.endedAt ?? ''));
    },
    SCENARIO_TIMEOUT_MS,
  );
});
