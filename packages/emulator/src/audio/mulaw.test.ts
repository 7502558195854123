import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';
import { decodeMulaw, decodeMulawBase64, encodeMulaw, MULAW_SILENCE } from './mulaw.js';

describe('µ-law', () => {
  it('encodes every 16-bit sample exactly as alawmulaw does', () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    expect(encodeMulaw(all)).toEqual(alawmulaw.mulaw.encode(all));
  });

  it('encodes linear 0 as 0xFF and decodes it back to 0', () => {
    expect(encodeMulaw(new Int16Array(3))).toEqual(new Uint8Array([0xff, 0xff, 0xff]));
    expect(MULAW_SILENCE).toBe(0xff);
    expect(decodeMulaw(new Uint8Array([MULAW_SILENCE]))).toEqual(new Int16Array([0]));
  });

  it('round-trips within µ-law quantisation error', () => {
    const samples = new Int16Array([1000, -1000, 20000, -20000]);
    const decoded = decodeMulawBase64(Buffer.from(encodeMulaw(samples)).toString('base64'));
    for (const [i, sample] of samples.entries()) {
      expect(Math.abs((decoded[i] ?? 0) - sample)).toBeLessThan(Math.abs(sample) * 0.04);
    }
  });

  it('writes into a given buffer and refuses one that is too small', () => {
    const out = new Uint8Array(4);
    expect(encodeMulaw(new Int16Array(2), out)).toBe(out);
    expect(() => encodeMulaw(new Int16Array(5), out)).toThrow(RangeError);
  });
});
