import { describe, expect, it } from 'vitest';
import { checkStreamUrl, isLocalHostname } from './url.js';

describe('checkStreamUrl', () => {
  it('accepts wss:// anywhere and ws:// to local addresses', () => {
    for (const url of [
      'wss://example.com/media',
      'ws://127.0.0.1:8080/media',
      'ws://localhost/x',
      'ws://[::1]:9000/x',
      'ws://10.1.2.3/x',
      'ws://192.168.0.7/x',
      'ws://172.20.0.2/x',
    ]) {
      expect(checkStreamUrl(url), url).toMatchObject({ ok: true });
    }
  });

  it('refuses other schemes and public ws:// with 31922 (schemeNotSupported)', () => {
    for (const url of [
      'ws://example.com/media',
      'ws://8.8.8.8/x',
      'ws://172.32.0.1/x',
      'https://example.com/x',
      'ftp://h/x',
    ]) {
      expect(checkStreamUrl(url), url).toMatchObject({ ok: false, kind: 'schemeNotSupported' });
    }
  });

  it('refuses what does not parse with 31923 (malformedUrl)', () => {
    for (const url of ['', 'not a url', 'wss://', '/relative/path']) {
      expect(checkStreamUrl(url), url).toMatchObject({ ok: false, kind: 'malformedUrl' });
    }
  });
});

describe('isLocalHostname', () => {
  it('knows loopback, localhost, private ranges and IPv6 unique-local addresses', () => {
    expect(isLocalHostname('127.8.9.10')).toBe(true);
    expect(isLocalHostname('app.localhost')).toBe(true);
    expect(isLocalHostname('[fd00::1]')).toBe(true);
    expect(isLocalHostname('[2001:db8::1]')).toBe(false);
    expect(isLocalHostname('192.169.0.1')).toBe(false);
    expect(isLocalHostname('localhost.example.com')).toBe(false);
  });
});
