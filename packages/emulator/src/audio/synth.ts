import { encodeMulaw, MULAW_SILENCE } from './mulaw.js';
import { SAMPLE_RATE, type Tone } from './voices.js';

/**
 * Synthesis of the emulator's audio: a sum of pure tones, with each tone's phase derived from the
 * absolute sample index, so consecutive frames join without a click and a frame rendered late is
 * the same as one rendered on time.
 */

const TWO_PI = 2 * Math.PI;

/** Whether a tone is renderable: finite frequency and a positive, finite gain. */
export function isAudible(tone: Tone): boolean {
  return Number.isFinite(tone.frequencyHz) && Number.isFinite(tone.gain) && tone.gain > 0;
}

/**
 * Renders `tones` as 16-bit linear PCM into `out`, starting at absolute sample index
 * `startSample` (an integer; sample n is at n / 8000 s). The sum is clamped to 16 bits; no tones
 * give silence (all zeros). Returns `out`.
 */
export function renderPcm(
  tones: readonly Tone[],
  startSample: number,
  out: Int16Array,
  sampleRate = SAMPLE_RATE,
): Int16Array {
  out.fill(0);
  const audible = tones.filter(isAudible);
  if (audible.length === 0) return out;
  for (let i = 0; i < out.length; i++) {
    const n = startSample + i;
    let value = 0;
    for (const tone of audible) {
      // (f·n mod rate) / rate is the phase in cycles; reducing before multiplying by 2π keeps the
      // argument small, so precision does not decay as the sample index grows.
      value += tone.gain * Math.sin((TWO_PI * ((tone.frequencyHz * n) % sampleRate)) / sampleRate);
    }
    const scaled = Math.round(value * 32767);
    out[i] = scaled > 32767 ? 32767 : scaled < -32768 ? -32768 : scaled;
  }
  return out;
}

/**
 * Renders `tones` over `durationMs` starting at absolute sample `startSample` and returns the
 * µ-law bytes: handy to make test audio that looks exactly like the emulator's.
 */
export function synthesizeMulaw(
  tones: readonly Tone[],
  durationMs: number,
  startSample = 0,
): Uint8Array {
  const pcm = new Int16Array(Math.round((durationMs * SAMPLE_RATE) / 1000));
  return encodeMulaw(renderPcm(tones, startSample, pcm));
}

/** Renders fixed-size µ-law frames as base64 payloads, reusing its buffers. */
export interface FrameRenderer {
  /** Samples (= µ-law bytes) per frame. */
  readonly samplesPerFrame: number;
  /** The base64 payload of the frame starting at absolute sample `startSample`. */
  render(tones: readonly Tone[], startSample: number): string;
}

/** Most distinct cached frames; the cache is emptied when full (mixes change rarely). */
const CACHE_LIMIT = 512;

/**
 * A renderer of `samplesPerFrame`-sample frames (160 for Twilio's 20 ms). Silence is rendered as
 * µ-law 0xFF bytes. A frame made only of tones that complete whole cycles within one frame (every
 * tone of the emulator's table does at 20 ms) is identical at every start sample, so it is cached
 * by its tones: the hot media path then costs one map lookup per frame.
 */
export function createFrameRenderer(
  samplesPerFrame: number,
  sampleRate = SAMPLE_RATE,
): FrameRenderer {
  if (!Number.isInteger(samplesPerFrame) || samplesPerFrame <= 0) {
    throw new RangeError(`samplesPerFrame must be a positive integer, got ${samplesPerFrame}`);
  }
  const pcm = new Int16Array(samplesPerFrame);
  const bytes = Buffer.alloc(samplesPerFrame);
  const silence = Buffer.alloc(samplesPerFrame, MULAW_SILENCE).toString('base64');
  const cache = new Map<string, string>();

  const encode = (tones: readonly Tone[], startSample: number): string => {
    renderPcm(tones, startSample, pcm, sampleRate);
    encodeMulaw(pcm, bytes);
    return bytes.toString('base64');
  };

  return {
    samplesPerFrame,
    render(tones, startSample) {
      if (!tones.some(isAudible)) return silence;
      let key = '';
      for (const tone of tones) {
        if (((tone.frequencyHz * samplesPerFrame) / sampleRate) % 1 !== 0) {
          return encode(tones, startSample);
        }
        key += `${tone.frequencyHz}:${tone.gain};`;
      }
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
      const payload = encode(tones, startSample);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(key, payload);
      return payload;
    },
  };
}
