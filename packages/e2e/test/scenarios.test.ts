/**
 * Every scenario of issue 6 with the default deployment (rest strategy, customer leg, TaskRouter
 * driver: the workspace's event callbacks drive the controller). Each asserts that every check
 * passed, plus a property of that scenario the controller alone is responsible for.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type ScenarioResult } from '../src/index.js';
import {
  checkNamed,
  expectAllChecksPassed,
  expectRestCost,
  SCENARIO_TIMEOUT_MS,
} from './helpers.js';

const at = (iso: string | null | undefined): number => Date.parse(iso ?? '');

/** Segments of the result by agent name. */
function byAgent(result: ScenarioResult): Record<string, ScenarioResult['segments'][number]> {
  return Object.fromEntries(result.segments.map((s) => [s.agent, s]));
}

describe('scenarios (rest, customer leg, TaskRouter driver)', () => {
  it(
    'cold-transfer: A stops when A leaves, B starts only when B accepts',
    async () => {
      const result = await runScenario('cold-transfer');
      expectAllChecksPassed(result);
      const { A, B } = byAgent(result);
      // The customer waited on hold between the two: A's segment ended before B's began.
      expect(at(A?.endedAt)).toBeLessThan(at(B?.startedAt));
      expectRestCost(result, 2);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'multi-hop: four segments, four recordings, one stream at a time except during warm hops',
    async () => {
      const result = await runScenario('multi-hop');
      expectAllChecksPassed(result);
      expect(result.segments.map((s) => s.agent)).toEqual(['A', 'B', 'C', 'D']);
      expect(result.recordings).toHaveLength(4);
      const { B, C } = byAgent(result);
      // B → C was cold: B's stream ended before C's started.
      expect(at(B?.endedAt)).toBeLessThan(at(C?.startedAt));
      expect(result.twilioRequests.byOperation.CreateStream).toBe(4);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'customer-hangup-during-transfer: A is recorded; B, never accepted, gets no segment or stream',
    async () => {
      const result = await runScenario('customer-hangup-during-transfer');
      expectAllChecksPassed(result);
      expect(result.segments.map((s) => s.agent)).toEqual(['A']);
      expect(result.recordings).toHaveLength(1);
      expect(result.twilioRequests.byOperation.CreateStream).toBe(1);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "first-agent-leaves-before-accept: A's stream stops at A's hang-up, B's starts at B's accept",
    async () => {
      const result = await runScenario('first-agent-leaves-before-accept');
      expectAllChecksPassed(result);
      const { A, B } = byAgent(result);
      expect(at(A?.endedAt)).toBeLessThan(at(B?.startedAt));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'transfer-to-queue: the worker the queue offers the task to is recorded',
    async () => {
      const result = await runScenario('transfer-to-queue');
      expectAllChecksPassed(result);
      expect(result.segments.map((s) => s.agent)).toEqual(['A', 'B']);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'pause-resume: two recordings for A with nothing recorded during the pause',
    async () => {
      const result = await runScenario('pause-resume');
      expectAllChecksPassed(result);
      const [first, second] = result.recordings;
      expect(result.segments[0]?.recordings).toHaveLength(2);
      expect(first?.streamName).toMatch(/-0$/);
      expect(second?.streamName).toMatch(/-1$/);
      // One stop at the pause and one start at the resume (plus the plugin's token checks).
      expectRestCost(result, 2, ['ValidateToken']);
      // The scenario pauses for one second: nothing is recorded for about that long.
      const gap = at(second?.startedAt) - at(first?.endedAt);
      expect(gap).toBeGreaterThan(800);
      expect(gap).toBeLessThan(3_000);
      const windows = result.checks.find((c) => c.name === 'recording-window-matches-segment');
      expect(windows?.ok).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "hold-during-transfer: B's stream starts while the customer is held, without disturbing them",
    async () => {
      const result = await runScenario('hold-during-transfer');
      expectAllChecksPassed(result);
      // Flex held the customer for the transfer and B took them off hold: nothing else.
      expect(result.customerHoldChanges).toBe(2);
      expect(result.customerDisruptions).toBe(0);
      // A and B consulted while the customer was held: recorded windows of that hold were checked.
      expect(checkNamed(result, 'held-customer-private').detail).toMatch(
        /; [1-9]\d* recorded window/,
      );
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "restart-mid-call: the restarted controller stops A's stream at A's leave",
    async () => {
      const result = await runScenario('restart-mid-call');
      expectAllChecksPassed(result);
      expect(result.timeline.some((l) => l.includes('controller service restarts'))).toBe(true);
      // A's stop was made by the controller that never saw A's start.
      expectRestCost(result, 2);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
