/**
 * The emulator's audio: voices and sounds as tones, µ-law, synthesis and the detection helpers
 * that tests across the repository use to check audio by content. See `docs/media.md`.
 */
export {
  ALL_TONES_HZ,
  BEEP_MS,
  PLAY_MS,
  SAMPLE_RATE,
  SAY_MS_PER_CHAR,
  SOUNDS,
  TONE_GAIN,
  VOICE_FREQUENCIES_HZ,
  partyVoice,
  toneName,
  type SoundName,
  type Tone,
} from './voices.js';
export { MULAW_SILENCE, decodeMulaw, decodeMulawBase64, encodeMulaw } from './mulaw.js';
export {
  createFrameRenderer,
  isAudible,
  renderPcm,
  synthesizeMulaw,
  type FrameRenderer,
} from './synth.js';
export {
  detectTones,
  detectTonesByWindow,
  toneLevel,
  toneLevels,
  toneRuns,
  type DetectOptions,
  type WindowTones,
} from './detect.js';
