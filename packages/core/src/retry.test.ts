import { describe, expect, it } from 'vitest';
import { backoffDelayMs, withRetry } from './retry.js';
import { VoiceApiError, classifyVoiceError, type Logger } from './ports.js';
import { createFakeClock } from './testing/index.js';

const warnings: string[] = [];
const record = (_fields: Record<string, unknown>, message: string): void => {
  warnings.push(message);
};
const quiet: Logger = { debug: record, info: record, warn: record, error: record };
const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250 };

describe('backoff', () => {
  it('grows exponentially under a cap, with full jitter, and honours Retry-After', () => {
    expect(backoffDelayMs(policy, 1, 0.999, null)).toBe(99);
    expect(backoffDelayMs(policy, 2, 0.5, null)).toBe(100);
    expect(backoffDelayMs(policy, 5, 1, null)).toBe(250);
    expect(backoffDelayMs(policy, 1, 0, 2000)).toBe(2000);
  });

  it('classifies Twilio failures', () => {
    const e = (status: number, code: number | null) =>
      new VoiceApiError({ status, code, message: 'x' });
    expect(classifyVoiceError(e(429, 20429))).toBe('retryable');
    expect(classifyVoiceError(e(503, null))).toBe('retryable');
    expect(classifyVoiceError(e(0, null))).toBe('retryable');
    expect(classifyVoiceError(e(404, 20404))).toBe('call-gone');
    expect(classifyVoiceError(e(400, 21220))).toBe('call-gone');
    expect(classifyVoiceError(e(400, 31923))).toBe('other');
    expect(classifyVoiceError(new Error('bug'))).toBe('other');
  });
});

describe('withRetry', () => {
  it('waits on the clock between attempts and rejects with the last error when exhausted', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const attempt = withRetry({ clock, random: () => 1, logger: quiet }, policy, 'op', () => {
      calls += 1;
      return Promise.reject(
        new VoiceApiError({ status: 503, code: null, message: `try ${calls}` }),
      );
    });
    await expect(clock.drive(attempt)).rejects.toThrow('try 3');
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([100, 200]);
    expect(warnings.at(-1)).toBe('Twilio op failed with a retryable error; retrying in 200 ms');
  });

  it('does not retry errors that retrying cannot fix', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const attempt = withRetry({ clock, random: () => 1, logger: quiet }, policy, 'op', () => {
      calls += 1;
      return Promise.reject(new VoiceApiError({ status: 404, code: 20404, message: 'gone' }));
    });
    await expect(clock.drive(attempt)).rejects.toThrow('gone');
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });
});
