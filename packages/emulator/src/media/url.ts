import { isIP } from 'node:net';
import type { StreamErrorKind } from './errors.js';

/** The outcome of checking a stream URL: usable, or the error the stream fails with. */
export type StreamUrlCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly kind: StreamErrorKind; readonly message: string };

/**
 * Whether `hostname` (as `URL.hostname` gives it) is a local address: loopback, `localhost`
 * (and `*.localhost`), an RFC 1918 private IPv4 address, or an IPv6 unique-local address.
 */
export function isLocalHostname(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const lower = host.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return true;
  if (isIP(host) === 4) {
    const [a = -1, b = -1] = host.split('.').map(Number);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (isIP(host) === 6) {
    return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd');
  }
  return false;
}

/**
 * Checks a Media Stream URL the way Twilio does before connecting (twilio-facts §1): only `wss`
 * is supported (31922) and the URL must parse (31923). The emulator also accepts `ws://` to a
 * local address (see `isLocalHostname`), so tests and the local demo need no TLS certificate.
 */
export function checkStreamUrl(raw: string): StreamUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, kind: 'malformedUrl', message: `malformed stream URL: ${raw}` };
  }
  if (url.hostname === '') {
    return { ok: false, kind: 'malformedUrl', message: `stream URL has no host: ${raw}` };
  }
  if (url.protocol === 'wss:') return { ok: true, url };
  if (url.protocol === 'ws:' && isLocalHostname(url.hostname)) return { ok: true, url };
  const why =
    url.protocol === 'ws:'
      ? 'ws:// is accepted only for local addresses; use wss://'
      : `scheme ${url.protocol} is not supported; use wss://`;
  return { ok: false, kind: 'schemeNotSupported', message: `${why} (${raw})` };
}
