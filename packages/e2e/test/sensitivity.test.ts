/**
 * The checks can fail: the same scenario with the controller misconfigured on purpose must be
 * caught by the check that names the broken behaviour (style §10: a test that cannot fail is a
 * defect).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';
import { checkNamed, SCENARIO_TIMEOUT_MS } from './helpers.js';

describe('checks catch a misbehaving controller', () => {
  it(
    "inbound-only streams: the agents' voices are missing from the recordings",
    async () => {
      const result = await runScenario('warm-transfer', {
        serviceEnv: { FLEX_STREAMS_TRACK: 'inbound_track' },
      });
      expect(result.ok).toBe(false);
      const outbound = checkNamed(result, 'outbound-voices');
      expect(outbound.ok).toBe(false);
      expect(outbound.detail).toContain('never heard');
      // What the controller still did right stays green.
      expect(checkNamed(result, 'inbound-voice').ok).toBe(true);
      expect(checkNamed(result, 'customer-never-dropped').ok).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
