import { describe, expect, it } from 'vitest';
import { listeningUrl } from './receiver.js';

describe('listeningUrl', () => {
  it('names the loopback address when bound to every interface, and keeps any other', () => {
    expect(listeningUrl({ address: '0.0.0.0', port: 4011 }, '/media')).toBe(
      'ws://127.0.0.1:4011/media',
    );
    expect(listeningUrl({ address: '::', port: 4011 }, '/media')).toBe('ws://[::1]:4011/media');
    expect(listeningUrl({ address: '10.0.0.7', port: 80 }, '/m')).toBe('ws://10.0.0.7:80/m');
    expect(listeningUrl({ address: 'fe80::1', port: 9 }, '/m')).toBe('ws://[fe80::1]:9/m');
  });
});
