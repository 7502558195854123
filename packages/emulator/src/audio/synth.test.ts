import { describe, expect, it } from 'vitest';
import { toneLevel } from './detect.js';
import { decodeMulaw, decodeMulawBase64 } from './mulaw.js';
import { createFrameRenderer, renderPcm, synthesizeMulaw } from './synth.js';
import { partyVoice, SOUNDS } from './voices.js';

describe('renderPcm', () => {
  it('is continuous across frames: two frames equal one double frame', () => {
    const tones = [{ frequencyHz: 1234.5, gain: 0.2 }, partyVoice(1)];
    const whole = renderPcm(tones, 1000, new Int16Array(320));
    const first = renderPcm(tones, 1000, new Int16Array(160));
    const second = renderPcm(tones, 1160, new Int16Array(160));
    expect([...first, ...second]).toEqual([...whole]);
  });

  it('derives phase from the absolute sample index', () => {
    const tone = { frequencyHz: 1000, gain: 0.5 };
    const out = renderPcm([tone], 2, new Int16Array(1));
    // sample 2 of a 1000 Hz tone at 8 kHz is at phase 2·1000/8000 = 1/4 cycle: the crest.
    expect(out[0]).toBe(Math.round(0.5 * 32767));
  });

  it('clamps a sum above full scale instead of wrapping around', () => {
    const loud = Array.from({ length: 4 }, () => ({ frequencyHz: 1000, gain: 0.5 }));
    const out = renderPcm(loud, 2, new Int16Array(1));
    expect(out[0]).toBe(32767);
  });

  it('renders nothing as zeros and skips tones that cannot sound', () => {
    const out = renderPcm(
      [
        { frequencyHz: Number.NaN, gain: 0.5 },
        { frequencyHz: 1000, gain: 0 },
      ],
      0,
      new Int16Array(8).fill(7),
    );
    expect([...out]).toEqual(new Array<number>(8).fill(0));
  });
});

describe('createFrameRenderer', () => {
  it('renders silence as µ-law 0xFF bytes', () => {
    const renderer = createFrameRenderer(160);
    const bytes = Buffer.from(renderer.render([], 0), 'base64');
    expect(bytes.length).toBe(160);
    expect(bytes.every((byte) => byte === 0xff)).toBe(true);
  });

  it('renders the same bytes as synthesizeMulaw, cached or not', () => {
    const renderer = createFrameRenderer(160);
    const tones = [partyVoice(0), SOUNDS.beep];
    const expected = Buffer.from(synthesizeMulaw(tones, 20, 480)).toString('base64');
    expect(renderer.render(tones, 480)).toBe(expected);
    expect(renderer.render(tones, 480)).toBe(expected);
    const offGrid = [{ frequencyHz: 1010, gain: 0.2 }];
    for (const start of [0, 160, 320]) {
      expect(renderer.render(offGrid, start)).toBe(
        Buffer.from(synthesizeMulaw(offGrid, 20, start)).toString('base64'),
      );
    }
  });

  it('carries the tone it was asked for', () => {
    const renderer = createFrameRenderer(160);
    const pcm = decodeMulawBase64(renderer.render([SOUNDS.say], 0));
    expect(toneLevel(pcm, SOUNDS.say.frequencyHz)).toBeCloseTo(SOUNDS.say.gain, 2);
    expect(toneLevel(decodeMulaw(synthesizeMulaw([], 20)), SOUNDS.say.frequencyHz)).toBe(0);
  });

  it('refuses a frame size that is not a positive integer', () => {
    expect(() => createFrameRenderer(0)).toThrow(RangeError);
    expect(() => createFrameRenderer(1.5)).toThrow(RangeError);
  });
});
