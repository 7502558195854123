/**
 * The other deployments (issue 6 matrix; the full list and why is in README.md "Matrix"): the
 * worker leg (rest) through the plugin API on every scenario and through the TaskRouter driver on
 * the transfers, the plugin driver on the customer leg, and the twiml strategy (TaskRouter driver)
 * on every scenario.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, SCENARIOS } from '../src/index.js';
import {
  checkNamed,
  expectAllChecksPassed,
  expectRestCost,
  SCENARIO_TIMEOUT_MS,
} from './helpers.js';

describe('worker leg (rest, plugin driver)', () => {
  for (const { name } of SCENARIOS) {
    it(
      `${name}: each agent's own voice inbound, the customer outbound`,
      async () => {
        const result = await runScenario(name, { leg: 'worker' });
        expect(result.driver).toBe('plugin');
        expectAllChecksPassed(result);
        // The stream is forked from the agent's leg: inbound carries the agent, not the customer.
        expect(checkNamed(result, 'inbound-voice').detail).toMatch(/agent A in \d+\/\d+ windows/);
        expect(checkNamed(result, 'inbound-voice').detail).not.toContain('customer in');
        // Start and stop went through the plugin API: its token checks are in the log.
        expect(result.twilioRequests.byOperation.ValidateToken).toBeGreaterThan(0);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});

describe('plugin driver on the customer leg (rest)', () => {
  for (const name of [
    'warm-transfer',
    'transfer-to-queue',
    'first-agent-leaves-before-accept',
    'restart-mid-call',
  ] as const) {
    it(
      `${name}: the plugin's start and stop alone make one stream per segment`,
      async () => {
        const result = await runScenario(name, { driver: 'plugin' });
        expectAllChecksPassed(result);
        // The plugin's token checks and the ownership reads of each start.
        expectRestCost(result, 2, [
          'ValidateToken',
          'FetchTaskReservation',
          'FetchTask',
          'ListParticipant',
        ]);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});

describe('worker leg (rest, TaskRouter driver: the controller finds the agent leg itself)', () => {
  for (const name of ['warm-transfer', 'cold-transfer', 'multi-hop'] as const) {
    it(
      `${name}: each agent's own leg, never a previous agent's`,
      async () => {
        const result = await runScenario(name, { leg: 'worker', driver: 'taskrouter' });
        expectAllChecksPassed(result);
        expect(checkNamed(result, 'inbound-voice').detail).not.toContain('customer in');
        // No plugin call: every stream came from TaskRouter's events.
        expect(result.twilioRequests.byOperation.ValidateToken).toBeUndefined();
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});

describe('twiml strategy (customer leg, TaskRouter driver)', () => {
  for (const { name } of SCENARIOS) {
    it(
      `${name}: streams by <Start>/<Stop> redirects (a REST stop while the customer is alone), the customer kept in the call`,
      async () => {
        const result = await runScenario(name, { strategy: 'twiml' });
        expectAllChecksPassed(result);
        // The strategy's cost is visible: no REST stream, one redirect per start (or stop).
        expect(result.twilioRequests.byOperation.CreateStream).toBeUndefined();
        expect(result.twilioRequests.byOperation.UpdateCall).toBeGreaterThan(0);
        expect(result.customerDisruptions).toBeGreaterThan(0);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});

describe('both drivers at once (rest, customer leg)', () => {
  for (const [name, segments] of [
    ['warm-transfer', 2],
    ['multi-hop', 4],
  ] as const) {
    it(
      `${name}: TaskRouter events and the plugin racing still make one stream per segment`,
      async () => {
        const result = await runScenario(name, { driver: 'both' });
        expectAllChecksPassed(result);
        expect(result.twilioRequests.byOperation.CreateStream).toBe(segments);
        expect(result.recordings).toHaveLength(segments);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});

describe('twiml with the plugin driver, and with both drivers racing (customer leg)', () => {
  for (const [name, driver, segments] of [
    ['warm-transfer', 'plugin', 2],
    ['cold-transfer', 'plugin', 2],
    ['warm-transfer', 'both', 2],
    ['multi-hop', 'both', 4],
  ] as const) {
    it(
      `${name} (${driver}): one redirected stream per segment, the customer kept in the call`,
      async () => {
        const result = await runScenario(name, { strategy: 'twiml', driver });
        expectAllChecksPassed(result);
        expect(result.recordings).toHaveLength(segments);
        expect(result.twilioRequests.byOperation.CreateStream).toBeUndefined();
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
