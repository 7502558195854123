/**
 * The emulator's voices: every party and every machine-made sound (hold music, wait music, the
 * conference beep, `<Say>`, `<Play>`) is a pure tone of its own frequency, so a test can tell from
 * decoded audio alone who is heard where (style guide §11).
 *
 * How the table was chosen (see `docs/media.md`):
 * - Every frequency is a multiple of 150 Hz between 300 and 3300 Hz (the telephone band). Being a
 *   multiple of 50 Hz, each tone completes a whole number of cycles in one 20 ms frame, so every
 *   window made of whole frames sees each tone exactly on a DFT bin: tones do not leak into each
 *   other's bins, and detection works from a single 20 ms frame.
 * - Adjacent tones are at least 150 Hz apart, i.e. three bins of a 20 ms window: a Hann-windowed
 *   Goertzel (see `detect.ts`) separates them even for windows that are not whole frames.
 * - Every gain is 0.15 of full scale, so six simultaneous sounds sum to at most 0.9: no clipping.
 *   µ-law quantisation of such a mix creates harmonics and intermodulation products; measured over
 *   thousands of random mixes of up to six tones of this table, the strongest spurious product at
 *   another table frequency stays about 35 dB below a real tone, far under the detection threshold.
 */

/** A tone: frequency in Hz and linear amplitude as a fraction of full scale (0..1). */
export interface Tone {
  readonly frequencyHz: number;
  readonly gain: number;
}

/** The sample rate of every Media Streams payload: µ-law, 8000 Hz, mono (twilio-facts §1). */
export const SAMPLE_RATE = 8000;

/** The gain of every voice and sound: six at once sum to 0.9 of full scale. */
export const TONE_GAIN = 0.15;

/**
 * Party voices in the order calls are created. The first nine are 300 Hz apart so the parties of
 * a typical transfer scenario (customer, agents A, B, C…) are the easiest to tell apart.
 */
export const VOICE_FREQUENCIES_HZ: readonly number[] = Object.freeze([
  600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 750, 1050, 1350, 1650, 1950, 2250, 2550, 3000,
]);

/**
 * The n-th voice of the table (n = 0, 1, 2…). The table holds 16 distinct voices; `partyVoice(16)`
 * is `partyVoice(0)` again, because the telephone band has room for only so many tones that stay
 * unambiguous in a mix. The emulator hands these out to calls and workers through one allocator
 * (`CallModel.allocateVoice`), which logs every reuse once all 16 are taken.
 */
export function partyVoice(n: number): Tone {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`partyVoice(n) needs a non-negative integer, got ${String(n)}`);
  }
  const frequencyHz = VOICE_FREQUENCIES_HZ[n % VOICE_FREQUENCIES_HZ.length];
  // The modulo keeps the index inside the table; the check only satisfies noUncheckedIndexedAccess.
  if (frequencyHz === undefined) throw new RangeError(`no voice for party ${n}`);
  return { frequencyHz, gain: TONE_GAIN };
}

/** Names of the machine-made sounds. */
export type SoundName = 'holdMusic' | 'waitMusic' | 'beep' | 'say' | 'play';

/**
 * Machine-made sounds, each a tone distinct from every party voice:
 * - `holdMusic`: what a held conference participant hears (Twilio's default hold music).
 * - `waitMusic`: what a participant hears while a conference waits to start (`waitUrl`).
 * - `beep`: the conference join/leave beep.
 * - `say`: speech of `<Say>`; `play`: audio of `<Play>`.
 */
export const SOUNDS: Readonly<Record<SoundName, Tone>> = Object.freeze({
  holdMusic: Object.freeze({ frequencyHz: 3150, gain: TONE_GAIN }),
  waitMusic: Object.freeze({ frequencyHz: 3300, gain: TONE_GAIN }),
  beep: Object.freeze({ frequencyHz: 2850, gain: TONE_GAIN }),
  say: Object.freeze({ frequencyHz: 450, gain: TONE_GAIN }),
  play: Object.freeze({ frequencyHz: 300, gain: TONE_GAIN }),
});

/**
 * How long one conference beep lasts. Twilio does not document the beep's length; 400 ms is an
 * emulator convention, long enough to detect in any 100 ms window it covers.
 */
export const BEEP_MS = 400;

/**
 * How long `<Say>` speaks per character of its text (about 16 characters per second, a typical
 * text-to-speech rate). An emulator convention: real speech length depends on voice and language.
 */
export const SAY_MS_PER_CHAR = 60;

/** How long one loop of `<Play>` lasts: the emulator has no audio files, so every file is 2 s. */
export const PLAY_MS = 2000;

/** Every tone the emulator can produce: the party voices, then the sounds. Handy as candidates. */
export const ALL_TONES_HZ: readonly number[] = Object.freeze([
  ...VOICE_FREQUENCIES_HZ,
  ...Object.values(SOUNDS).map((tone) => tone.frequencyHz),
]);

/**
 * A readable name for a tone of the table: `party 0`, `party 1`…, or a sound name
 * (`holdMusic`…), or `<f> Hz` for a frequency the table does not know. For test messages.
 */
export function toneName(frequencyHz: number): string {
  const party = VOICE_FREQUENCIES_HZ.indexOf(frequencyHz);
  if (party >= 0) return `party ${party}`;
  for (const [name, tone] of Object.entries(SOUNDS)) {
    if (tone.frequencyHz === frequencyHz) return name;
  }
  return `${frequencyHz} Hz`;
}
