/**
 * `Retry-After` (RFC 9110 §10.2.3): either a number of seconds or an HTTP date. Twilio sends it
 * with 429 / 20429 answers (twilio-facts §5); proxies in front of Twilio may send it with 503.
 * Returns milliseconds to wait (never negative), or null when absent or unreadable.
 */
export function parseRetryAfterMs(value: unknown, nowMs: number): number | null {
  const text = Array.isArray(value) ? (value[0] as unknown) : value;
  if (typeof text !== 'string' && typeof text !== 'number') return null;
  const trimmed = String(text).trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only dates in the IMF-fixdate style HTTP uses, not every string Date.parse accepts.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
