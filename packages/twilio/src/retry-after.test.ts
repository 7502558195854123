import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from './retry-after.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfterMs', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfterMs('2', NOW)).toBe(2000);
    expect(parseRetryAfterMs(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfterMs(['5'], NOW)).toBe(5000);
  });

  it('reads an IMF-fixdate relative to now, never negative', () => {
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', NOW)).toBe(0);
  });

  it('answers null for absent or unreadable values', () => {
    expect(parseRetryAfterMs(undefined, NOW)).toBeNull();
    expect(parseRetryAfterMs('', NOW)).toBeNull();
    expect(parseRetryAfterMs('-1', NOW)).toBeNull();
    expect(parseRetryAfterMs('1.5', NOW)).toBeNull();
    expect(parseRetryAfterMs('soon', NOW)).toBeNull();
    expect(parseRetryAfterMs('2026-01-01T00:00:10Z', NOW)).toBeNull();
  });
});
