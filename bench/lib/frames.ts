/**
 * Realistic Media Streams traffic without the emulator's pacing: Twilio-shaped SIDs and messages
 * (twilio-facts §1) carrying 20 ms µ-law frames rendered by the emulator's own synthesiser, so a
 * frame costs the receiver exactly what one from the emulator would.
 */
import { randomBytes } from 'node:crypto';
import { SOUNDS, partyVoice, synthesizeMulaw } from '@flex-streams/emulator';

/** A Twilio-shaped SID: two letters and 32 hex digits. */
export function sid(prefix: 'AC' | 'CA' | 'MZ'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Base64 payloads of one 20 ms frame per track: the customer's voice in, hold music out. */
export const PAYLOADS = {
  inbound: Buffer.from(synthesizeMulaw([partyVoice(0)], 20)).toString('base64'),
  outbound: Buffer.from(synthesizeMulaw([SOUNDS.holdMusic, partyVoice(1)], 20)).toString('base64'),
} as const;

/** The messages of one stream carrying both tracks, built on demand. */
export interface SyntheticStream {
  readonly streamSid: string;
  /** `connected` then `start` (tracks inbound + outbound). */
  opening(): readonly string[];
  /** The two `media` messages (inbound, outbound) of frame `k`. */
  frame(k: number): readonly [string, string];
  stop(): string;
}

/** A stream's messages in Twilio's exact shape (numbers as strings, as Twilio sends them). */
export function syntheticStream(index: number): SyntheticStream {
  const accountSid = sid('AC');
  const callSid = sid('CA');
  const streamSid = sid('MZ');
  let sequence = 1;
  const media = (track: 'inbound' | 'outbound', k: number): string =>
    `{"event":"media","sequenceNumber":"${++sequence}","streamSid":"${streamSid}","media":{"track":"${track}","chunk":"${k + 1}","timestamp":"${k * 20}","payload":"${PAYLOADS[track]}"}}`;
  return {
    streamSid,
    opening: () => [
      '{"event":"connected","protocol":"Call","version":"1.0.0"}',
      JSON.stringify({
        event: 'start',
        sequenceNumber: '1',
        streamSid,
        start: {
          accountSid,
          streamSid,
          callSid,
          tracks: ['inbound', 'outbound'],
          customParameters: { streamName: `bench-${index}` },
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      }),
    ],
    frame: (k) => [media('inbound', k), media('outbound', k)],
    stop: () =>
      JSON.stringify({
        event: 'stop',
        sequenceNumber: String(++sequence),
        streamSid,
        stop: { accountSid, callSid },
      }),
  };
}
