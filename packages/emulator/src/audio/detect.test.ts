import { describe, expect, it } from 'vitest';
import { detectTones, detectTonesByWindow, toneLevel, toneRuns } from './detect.js';
import { decodeMulaw, encodeMulaw } from './mulaw.js';
import { renderPcm, synthesizeMulaw } from './synth.js';
import { ALL_TONES_HZ, partyVoice, SOUNDS, type Tone } from './voices.js';

const heard = (tones: readonly Tone[], ms: number, startSample = 0): Int16Array =>
  decodeMulaw(synthesizeMulaw(tones, ms, startSample));

/** A deterministic pseudo-random generator, so a failing mix can be reproduced. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

describe('toneLevel', () => {
  it('measures a tone at about its gain and an absent tone near zero', () => {
    const samples = heard([partyVoice(0)], 100);
    expect(toneLevel(samples, partyVoice(0).frequencyHz)).toBeCloseTo(0.15, 2);
    expect(toneLevel(samples, partyVoice(1).frequencyHz)).toBeLessThan(0.005);
  });

  it('gives 0 for silence and for a buffer too short to measure', () => {
    expect(toneLevel(new Int16Array(800), 600)).toBe(0);
    expect(toneLevel(new Int16Array(1), 600)).toBe(0);
  });
});

describe('detectTones', () => {
  it('finds no tone in digital silence', () => {
    expect(detectTones(heard([], 100), ALL_TONES_HZ)).toEqual([]);
  });

  it('decodes random mixes of up to six tones to exactly those tones, from 20 ms and 100 ms', () => {
    const random = lcg(42);
    for (let trial = 0; trial < 300; trial++) {
      const count = 1 + Math.floor(random() * 6);
      const pool = [...ALL_TONES_HZ];
      const chosen: number[] = [];
      while (chosen.length < count) {
        chosen.push(...pool.splice(Math.floor(random() * pool.length), 1));
      }
      const tones = chosen.map((frequencyHz) => ({ frequencyHz, gain: 0.15 }));
      const start = Math.floor(random() * 100_000) * 160;
      const expected = ALL_TONES_HZ.filter((f) => chosen.includes(f));
      for (const ms of [20, 100]) {
        expect(
          detectTones(heard(tones, ms, start), ALL_TONES_HZ),
          `${chosen.join(',')} ${ms}ms`,
        ).toEqual(expected);
      }
    }
  });

  it('separates neighbours in a window that is not a whole number of frames', () => {
    const samples = heard([partyVoice(8), SOUNDS.holdMusic], 37, 13);
    expect(detectTones(samples, ALL_TONES_HZ)).toEqual([
      partyVoice(8).frequencyHz,
      SOUNDS.holdMusic.frequencyHz,
    ]);
  });

  it('honours the thresholds: a quiet tone is below the relative floor by default', () => {
    const quiet = { frequencyHz: 900, gain: 0.01 };
    const samples = decodeMulaw(
      encodeMulaw(renderPcm([partyVoice(0), quiet], 0, new Int16Array(800))),
    );
    expect(detectTones(samples, [600, 900])).toEqual([600]);
    expect(
      detectTones(samples, [600, 900], 8000, { minLevel: 0.005, relativeLevel: 0.05 }),
    ).toEqual([600, 900]);
  });
});

describe('detectTonesByWindow and toneRuns', () => {
  it('show when sounds come and go', () => {
    const customer = partyVoice(0);
    const agent = partyVoice(1);
    const samples = new Int16Array([
      ...heard([customer], 200),
      ...heard([customer, agent], 300, 1600),
      ...heard([], 100, 4000),
    ]);
    const windows = detectTonesByWindow(samples, ALL_TONES_HZ, { windowMs: 100 });
    expect(windows.map((w) => w.startMs)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(toneRuns(windows)).toEqual([
      { startMs: 0, tones: [customer.frequencyHz] },
      { startMs: 200, tones: [customer.frequencyHz, agent.frequencyHz] },
      { startMs: 500, tones: [] },
    ]);
  });

  it('refuses a window too short to measure', () => {
    expect(() => detectTonesByWindow(new Int16Array(10), [600], { windowMs: 0 })).toThrow(
      RangeError,
    );
  });
});
