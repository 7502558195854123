import type { RetryPolicy } from './config.js';
import type { Clock, Logger } from './ports.js';
import { classifyVoiceError, isVoiceApiError } from './ports.js';

/** What {@link withRetry} needs: the clock to wait on and a source of jitter in [0, 1). */
export interface RetryDeps {
  clock: Clock;
  random: () => number;
  logger: Logger;
}

/**
 * The delay before retry number `attempt` (1 = first retry): "full jitter" over an exponential
 * ceiling, `random · min(maxDelayMs, baseDelayMs · 2^(attempt-1))`, and never less than Twilio's
 * `Retry-After` when it sent one (twilio-facts §5, error 20429).
 */
export function backoffDelayMs(
  policy: Readonly<RetryPolicy>,
  attempt: number,
  random: number,
  retryAfterMs: number | null,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(Math.floor(random * ceiling), retryAfterMs ?? 0);
}

/**
 * Runs `operation`, retrying it while it fails with a retryable Twilio error (429, 5xx, no answer)
 * up to `policy.maxAttempts` attempts in all, waiting on the injected clock between attempts.
 * Rejects with the last error; any other error is rejected at once.
 */
export async function withRetry<T>(
  deps: RetryDeps,
  policy: Readonly<RetryPolicy>,
  label: string,
  operation: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (classifyVoiceError(error) !== 'retryable' || attempt >= policy.maxAttempts) throw error;
      const retryAfter = isVoiceApiError(error) ? error.retryAfterMs : null;
      const delayMs = backoffDelayMs(policy, attempt, deps.random(), retryAfter);
      deps.logger.warn(
        {
          operation: label,
          attempt,
          delayMs,
          status: isVoiceApiError(error) ? error.status : null,
          twilioCode: isVoiceApiError(error) ? error.code : null,
        },
        `Twilio ${label} failed with a retryable error; retrying in ${delayMs} ms`,
      );
      await deps.clock.sleep(delayMs);
    }
  }
}
