/**
 * The WAV container the receiver writes: 8 kHz G.711 µ-law (WAVE_FORMAT_MULAW, format tag 7),
 * 8 bits per sample, mono or stereo. Non-PCM formats carry an 18-byte `fmt ` chunk and a `fact`
 * chunk (Microsoft "Multimedia Programming Interface and Data Specifications 1.0", the WAVE form;
 * sox and ffmpeg read this layout). The header has a fixed size so it can be rewritten in place
 * every time data is flushed, which is what keeps a file playable after a crash.
 */

/** Bytes before the first audio byte. */
export const WAV_HEADER_BYTES = 58;
/** G.711 µ-law, as registered in mmreg.h. */
export const WAVE_FORMAT_MULAW = 7;
/** Media Streams audio is always 8 kHz (twilio-facts §1, `mediaFormat`). */
export const SAMPLE_RATE = 8000;
/** µ-law of a zero sample: what gaps are filled with. */
export const MULAW_SILENCE = 0xff;

/** The header for `dataBytes` bytes of interleaved µ-law audio in `channels` channels. */
export function wavHeader(channels: 1 | 2, dataBytes: number): Buffer {
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  const padded = dataBytes + (dataBytes % 2);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(WAV_HEADER_BYTES - 8 + padded, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(18, 16);
  header.writeUInt16LE(WAVE_FORMAT_MULAW, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * channels, 28);
  header.writeUInt16LE(channels, 32);
  header.writeUInt16LE(8, 34);
  header.writeUInt16LE(0, 36);
  header.write('fact', 38, 'ascii');
  header.writeUInt32LE(4, 42);
  header.writeUInt32LE(Math.floor(dataBytes / channels), 46);
  header.write('data', 50, 'ascii');
  header.writeUInt32LE(dataBytes, 54);
  return header;
}

/** What {@link readWavHeader} finds in a header the receiver wrote. */
export interface WavHeaderInfo {
  readonly channels: 1 | 2;
  /** The data size the header claims. */
  readonly dataBytes: number;
  /** The sample-frame count of the `fact` chunk. */
  readonly sampleFrames: number;
  /** The RIFF size the header claims. */
  readonly riffBytes: number;
}

/** Reads a header in the receiver's own layout, or returns null for any other file. */
export function readWavHeader(header: Uint8Array): WavHeaderInfo | null {
  if (header.length < WAV_HEADER_BYTES) return null;
  const b = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  const tag = (at: number, text: string): boolean => b.toString('ascii', at, at + 4) === text;
  if (
    !tag(0, 'RIFF') ||
    !tag(8, 'WAVE') ||
    !tag(12, 'fmt ') ||
    !tag(38, 'fact') ||
    !tag(50, 'data')
  )
    return null;
  if (b.readUInt16LE(20) !== WAVE_FORMAT_MULAW || b.readUInt32LE(24) !== SAMPLE_RATE) return null;
  const channels = b.readUInt16LE(22);
  if (channels !== 1 && channels !== 2) return null;
  return {
    channels,
    dataBytes: b.readUInt32LE(54),
    sampleFrames: b.readUInt32LE(46),
    riffBytes: b.readUInt32LE(4),
  };
}

/** Milliseconds of audio in `dataBytes` bytes of `channels`-channel µ-law. */
export function durationMsOf(dataBytes: number, channels: 1 | 2): number {
  return (Math.floor(dataBytes / channels) * 1000) / SAMPLE_RATE;
}
