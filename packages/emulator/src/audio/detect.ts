import { SAMPLE_RATE } from './voices.js';

/**
 * Detection helpers for tests across the repository: which of the emulator's tones does a piece
 * of decoded audio carry?
 */

/**
 * The amplitude of `frequencyHz` in `samples`, as a fraction of full scale: a pure tone of gain g
 * gives about g, silence gives 0. A Goertzel filter over a Hann-windowed buffer: the window keeps
 * a strong tone from leaking into a neighbour's bin when the buffer is not a whole number of
 * cycles. Needs at least a few ms of audio: at 8 kHz, 20 ms (160 samples) separates tones 100 Hz
 * apart or more.
 */
export function toneLevel(
  samples: Int16Array,
  frequencyHz: number,
  sampleRate: number = SAMPLE_RATE,
): number {
  return toneLevels(samples, [frequencyHz], sampleRate)[0] ?? 0;
}

/** The Hann-windowed samples and the window's sum, computed once for every candidate. */
function windowed(samples: Int16Array): { values: Float64Array; windowSum: number } {
  const n = samples.length;
  const values = new Float64Array(n);
  let windowSum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    windowSum += w;
    values[i] = (samples[i] ?? 0) * w;
  }
  return { values, windowSum };
}

/** Goertzel amplitude of one frequency in already-windowed samples, as a fraction of full scale. */
function goertzel(
  values: Float64Array,
  windowSum: number,
  frequencyHz: number,
  sampleRate: number,
): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (const value of values) {
    const s = value + coefficient * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  // |X(f)| of a windowed sinusoid of amplitude A is A·Σw/2: dividing by that gives A back.
  return (2 * Math.sqrt(Math.max(power, 0))) / windowSum / 32768;
}

/** Thresholds of `detectTones`. */
export interface DetectOptions {
  /**
   * Absolute floor, as a fraction of full scale (default 0.02, about -34 dBFS; the emulator's
   * tones have 0.15). Below it a tone is absent, which makes silence and µ-law noise detect as
   * nothing.
   */
  readonly minLevel?: number;
  /**
   * Relative floor, as a fraction of the strongest candidate's level (default 0.2, i.e. -14 dB).
   * Harmonics and intermodulation products that µ-law creates in a mix stay about 35 dB below
   * the tones, so they never pass it.
   */
  readonly relativeLevel?: number;
}

/** The level of each candidate tone in `samples`, in the candidates' order. */
export function toneLevels(
  samples: Int16Array,
  candidatesHz: readonly number[],
  sampleRate: number = SAMPLE_RATE,
): number[] {
  if (samples.length < 2) return candidatesHz.map(() => 0);
  const { values, windowSum } = windowed(samples);
  return candidatesHz.map((frequencyHz) => goertzel(values, windowSum, frequencyHz, sampleRate));
}

/**
 * Which of `candidatesHz` are present in `samples`, in the candidates' order. A candidate is
 * present when its level (see `toneLevel`) reaches both `minLevel` and `relativeLevel` × the
 * strongest candidate's level. Silence gives `[]`.
 */
export function detectTones(
  samples: Int16Array,
  candidatesHz: readonly number[],
  sampleRate: number = SAMPLE_RATE,
  options: DetectOptions = {},
): number[] {
  const minLevel = options.minLevel ?? 0.02;
  const relativeLevel = options.relativeLevel ?? 0.2;
  const levels = toneLevels(samples, candidatesHz, sampleRate);
  const threshold = Math.max(minLevel, relativeLevel * Math.max(0, ...levels));
  return candidatesHz.filter((_, i) => (levels[i] ?? 0) >= threshold);
}

/** The tones found in one window of a longer buffer. */
export interface WindowTones {
  /** Start of the window, in ms from the start of the buffer. */
  readonly startMs: number;
  readonly tones: number[];
}

/**
 * Splits `samples` into consecutive windows of `windowMs` (default 100 ms; a trailing partial
 * window is dropped) and detects the candidates in each: shows how the audio changes over time,
 * e.g. `[{startMs: 0, tones: [600]}, {startMs: 100, tones: [600, 3150]}]`.
 */
export function detectTonesByWindow(
  samples: Int16Array,
  candidatesHz: readonly number[],
  options: DetectOptions & { readonly windowMs?: number; readonly sampleRate?: number } = {},
): WindowTones[] {
  const sampleRate = options.sampleRate ?? SAMPLE_RATE;
  const windowMs = options.windowMs ?? 100;
  const windowSamples = Math.round((windowMs * sampleRate) / 1000);
  if (windowSamples < 2) throw new RangeError(`windowMs ${windowMs} is too short`);
  const windows: WindowTones[] = [];
  for (let start = 0; start + windowSamples <= samples.length; start += windowSamples) {
    windows.push({
      startMs: (start * 1000) / sampleRate,
      tones: detectTones(
        samples.subarray(start, start + windowSamples),
        candidatesHz,
        sampleRate,
        options,
      ),
    });
  }
  return windows;
}

/**
 * Collapses per-window detections into runs of identical tone sets, e.g.
 * `[{startMs: 0, tones: [600]}, {startMs: 400, tones: [600, 900]}]`: the order in which sounds
 * came and went, robust to how long each lasted.
 */
export function toneRuns(windows: readonly WindowTones[]): WindowTones[] {
  const runs: WindowTones[] = [];
  for (const window of windows) {
    const last = runs.at(-1);
    if (last?.tones.join(',') !== window.tones.join(',')) runs.push(window);
  }
  return runs;
}
