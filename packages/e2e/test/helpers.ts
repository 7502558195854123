/**
 * Shared assertions of the e2e suites: a scenario result passed every check, with the failing
 * ones spelled out when it did not.
 */
import { expect } from 'vitest';
import type { Check, ScenarioResult } from '../src/index.js';

/** Every check of `result` passed (the message lists those that did not). */
export function expectAllChecksPassed(result: ScenarioResult): void {
  const failed = result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  expect(failed, result.timeline.join('\n')).toEqual([]);
  expect(result.ok).toBe(true);
}

/** The check called `name` (fails the test when there is none). */
export function checkNamed(result: ScenarioResult, name: string): Check {
  const found = result.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no check named ${name}`);
  return found;
}

/** Budget of one scenario run on a loaded 2-core machine. */
export const SCENARIO_TIMEOUT_MS = 60_000;

/**
 * What `rest` may cost for `runs` stream runs: exactly one CreateStream each and no call or
 * participant update. Every run's stop is an UpdateStream, except that the last one may not be
 * needed: when the customer hangs up, the call status or conference callback can end the last
 * segment before its reservation does, and Twilio stops a call's streams itself. Besides those,
 * only reads (`FetchCall` from those callbacks, `ListConference` for the segment's conference) and
 * the operations in `also` (e.g. the plugin's `ValidateToken`) may appear.
 */
export function expectRestCost(
  result: ScenarioResult,
  runs: number,
  also: readonly string[] = [],
): void {
  const ops = result.twilioRequests.byOperation;
  expect(ops.CreateStream).toBe(runs);
  expect(ops.UpdateStream ?? 0).toBeLessThanOrEqual(runs);
  expect(ops.UpdateStream ?? 0).toBeGreaterThanOrEqual(runs - 1);
  const allowed = new Set(['CreateStream', 'UpdateStream', 'FetchCall', 'ListConference', ...also]);
  expect(Object.keys(ops).filter((op) => !allowed.has(op))).toEqual([]);
}
