import alawmulaw from 'alawmulaw';

/**
 * G.711 µ-law, the only encoding Media Streams carries (`audio/x-mulaw`, twilio-facts §1). The
 * codec is alawmulaw's; encoding goes through a 64 Ki-entry table built once from it, because the
 * media path encodes every sample of every frame of every stream.
 */

/** The µ-law byte of digital silence (linear 0). */
export const MULAW_SILENCE = 0xff;

const { mulaw } = alawmulaw;

const ENCODE_TABLE = ((): Uint8Array => {
  const table = new Uint8Array(65536);
  for (let sample = -32768; sample <= 32767; sample++) {
    // encodeSample returns the byte as a (possibly negative) JS number; the Uint8Array keeps its low 8 bits.
    table[sample & 0xffff] = mulaw.encodeSample(sample);
  }
  return table;
})();

/**
 * Encodes 16-bit linear PCM as µ-law into `out` (allocated when omitted) and returns it. `out`
 * must be at least as long as `samples`.
 */
export function encodeMulaw(samples: Int16Array, out = new Uint8Array(samples.length)): Uint8Array {
  if (out.length < samples.length) {
    throw new RangeError(`output holds ${out.length} bytes, ${samples.length} are needed`);
  }
  for (let i = 0; i < samples.length; i++) {
    out[i] = ENCODE_TABLE[(samples[i] ?? 0) & 0xffff] ?? MULAW_SILENCE;
  }
  return out;
}

/** Decodes µ-law bytes (for example a decoded `media.payload`) to 16-bit linear PCM. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  return mulaw.decode(bytes);
}

/** Decodes a base64 `media.payload` of a Media Streams message to 16-bit linear PCM. */
export function decodeMulawBase64(payload: string): Int16Array {
  return decodeMulaw(Buffer.from(payload, 'base64'));
}
