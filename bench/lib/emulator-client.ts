/**
 * Drives the emulator's real Media Streams client (`packages/emulator/src/media/client.ts`, not
 * exported by the package, hence the source import) with a fixed call-audio source: each call's
 * inbound track is its party's voice, its outbound track the hold music plus another voice, the
 * same as a conference call being recorded.
 */
import { performance } from 'node:perf_hooks';
import { SOUNDS, partyVoice } from '@flex-streams/emulator';
import { pino } from 'pino';
import { createMediaStreamsClient } from '../../packages/emulator/src/media/client.js';
import type { MediaStreamsClient } from '../../packages/emulator/src/media/ports.js';
import { sid } from './frames.js';
import { waitFor } from './server.js';

/** Streams whose upgrades are started together. */
const CONNECT_BATCH = 50;
/** Upgrade timeout per stream (the client's default is 10 s, Twilio's own limit). */
const CONNECT_TIMEOUT_MS = 30_000;

/** The emulator's client with `count` streams open and streaming to `url`. */
export interface PacedStreams {
  readonly client: MediaStreamsClient;
  readonly streamSids: readonly string[];
  /** Failures the client reported (Twilio 319xx codes), if any. */
  readonly errors: readonly string[];
  /** Frames sent so far, all streams and tracks. */
  framesSent(): number;
  /** Sends `stop` on every stream and waits for the sockets to close. */
  close(): Promise<void>;
}

/** Opens `count` paced two-track streams to `url` and waits until every one is streaming. */
export async function openPacedStreams(url: string, count: number): Promise<PacedStreams> {
  let started = 0;
  const errors: string[] = [];
  const voices = new Map<string, number>();
  const client = createMediaStreamsClient({
    audio: {
      inbound: (callSid) => [
        { source: `call:${callSid}`, ...partyVoice(voices.get(callSid) ?? 0) },
      ],
      outbound: (callSid) => [
        { source: 'hold-music', ...SOUNDS.holdMusic },
        { source: 'agent', ...partyVoice((voices.get(callSid) ?? 0) + 1) },
      ],
    },
    clock: { now: () => performance.now() },
    listener: {
      onStarted: () => {
        started++;
      },
      onError: (streamSid, code, message) => {
        errors.push(`${streamSid}: ${code} ${message}`);
      },
    },
    authToken: 'bench-auth-token',
    logger: pino({ level: 'silent' }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  const streamSids: string[] = [];
  try {
    // Connections open in batches: a few hundred simultaneous upgrades into a server starved of
    // CPU on a shared machine can outlast any sane connect timeout, and that is not what the
    // benchmarks measure.
    for (let first = 0; first < count; first += CONNECT_BATCH) {
      const batch = Math.min(CONNECT_BATCH, count - first);
      for (let i = first; i < first + batch; i++) {
        const callSid = sid('CA');
        const streamSid = sid('MZ');
        voices.set(callSid, i % 16);
        streamSids.push(streamSid);
        client.open({
          streamSid,
          accountSid: sid('AC'),
          callSid,
          url,
          name: null,
          tracks: ['inbound', 'outbound'],
          customParameters: { streamName: `bench-${i}` },
        });
      }
      await waitFor(
        () => started + errors.length >= first + batch,
        `${first + batch} streams to start`,
        CONNECT_TIMEOUT_MS + 5_000,
      );
      if (errors.length > 0) throw new Error(`streams failed to start: ${errors.join('; ')}`);
    }
  } catch (error) {
    // Streams that did start must not go on pacing into the next benchmark.
    await client.close();
    throw error;
  }
  return {
    client,
    streamSids,
    errors,
    framesSent: () =>
      streamSids.reduce((sum, s) => {
        const stats = client.stats(s);
        return sum + (stats ? stats.framesByTrack.inbound + stats.framesByTrack.outbound : 0);
      }, 0),
    close: () => client.close(),
  };
}
