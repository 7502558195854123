import { randomBytes } from 'node:crypto';

/** A Twilio SID: a two-letter prefix and 32 lowercase hex digits (e.g. `CA…`, `CF…`, `MZ…`). */
export function newSid(
  prefix:
    | 'AC'
    | 'CA'
    | 'CF'
    | 'MZ'
    | 'SK'
    | 'QU'
    | 'WS'
    | 'WA'
    | 'WQ'
    | 'WW'
    | 'WK'
    | 'WT'
    | 'WR'
    | 'TT'
    | 'EV'
    | 'TC',
): string {
  return prefix + randomBytes(16).toString('hex');
}

/** A 32-hex-digit secret (auth token, API key secret). */
export function newSecret(): string {
  return randomBytes(16).toString('hex');
}

/** RFC 2822 date as Twilio writes it in v2010 JSON: `Thu, 30 Jul 2015 20:00:00 +0000`. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}
