import { describe, expect, it } from 'vitest';
import {
  ALL_TONES_HZ,
  SOUNDS,
  VOICE_FREQUENCIES_HZ,
  partyVoice,
  toneName,
  TONE_GAIN,
} from './voices.js';

describe('partyVoice', () => {
  it('gives at least 12 distinct voices, distinct from every sound', () => {
    const voices = Array.from({ length: VOICE_FREQUENCIES_HZ.length }, (_, n) => partyVoice(n));
    expect(voices.length).toBeGreaterThanOrEqual(12);
    const frequencies = voices.map((voice) => voice.frequencyHz);
    expect(new Set(frequencies).size).toBe(frequencies.length);
    for (const sound of Object.values(SOUNDS)) expect(frequencies).not.toContain(sound.frequencyHz);
    expect(new Set(ALL_TONES_HZ).size).toBe(ALL_TONES_HZ.length);
  });

  it('keeps every tone in the telephone band, 150 Hz apart, whole cycles per 20 ms frame', () => {
    const sorted = [...ALL_TONES_HZ].sort((a, b) => a - b);
    for (const [i, frequency] of sorted.entries()) {
      expect(frequency).toBeGreaterThanOrEqual(300);
      expect(frequency).toBeLessThanOrEqual(3400);
      expect(frequency % 50).toBe(0);
      if (i > 0) expect(frequency - (sorted[i - 1] ?? 0)).toBeGreaterThanOrEqual(150);
    }
  });

  it('keeps six simultaneous sounds below full scale', () => {
    expect(6 * TONE_GAIN).toBeLessThan(1);
    expect(partyVoice(0).gain).toBe(TONE_GAIN);
  });

  it('wraps around after the table and refuses a bad index', () => {
    expect(partyVoice(VOICE_FREQUENCIES_HZ.length)).toEqual(partyVoice(0));
    expect(() => partyVoice(-1)).toThrow(RangeError);
    expect(() => partyVoice(1.5)).toThrow(RangeError);
  });

  it('names tones for test messages', () => {
    expect(toneName(partyVoice(2).frequencyHz)).toBe('party 2');
    expect(toneName(SOUNDS.holdMusic.frequencyHz)).toBe('holdMusic');
    expect(toneName(1234)).toBe('1234 Hz');
  });
});
