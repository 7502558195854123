/**
 * media-codec: the per-frame CPU work of the media path, one operation at a time, each against a
 * baseline measured in the same process: µ-law encode (alawmulaw vs the emulator's lookup table),
 * µ-law decode (alawmulaw vs a 256-entry table), and the receiver's edge validation of a `media`
 * message (`parseMessage`, zod) vs a bare `JSON.parse` (+ base64 decode).
 */
import { performance } from 'node:perf_hooks';
import alawmulaw from 'alawmulaw';
import { encodeMulaw, partyVoice, renderPcm } from '@flex-streams/emulator';
import { parseMessage } from '@flex-streams/receiver';
import { syntheticStream } from './lib/frames.js';
import { quantile, round, type BenchResult, type Benchmark, type Row } from './lib/report.js';

/** Rounds per case; cases are interleaved round by round so load changes hit them all alike. */
const ROUNDS = 7;
/** Wall time of one round of one case. */
const ROUND_MS = 120;

interface Case {
  readonly group: string;
  readonly name: string;
  /** The case its ratio is against (its own name for a baseline). */
  readonly baseline: string;
  readonly op: () => unknown;
}

/** Runs `op` for about `ms` and returns nanoseconds per call. */
function timeRound(op: () => unknown, ms: number): number {
  let sink: unknown = null;
  let calls = 0;
  let batch = 64;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink = op();
    calls += batch;
    elapsed = performance.now() - started;
    if (elapsed < ms / 10) batch *= 2;
  }
  if (sink === undefined) throw new Error('the operation returned nothing');
  return (elapsed * 1e6) / calls;
}

function cases(): Case[] {
  const pcm = renderPcm([partyVoice(0), partyVoice(3)], 0, new Int16Array(160));
  const out = new Uint8Array(160);
  const bytes = alawmulaw.mulaw.encode(pcm);
  const decodeTable = new Int16Array(256);
  for (let b = 0; b < 256; b++) decodeTable[b] = alawmulaw.mulaw.decodeSample(b);
  const decoded = new Int16Array(160);
  const decodeWithTable = (input: Uint8Array): Int16Array => {
    for (let i = 0; i < input.length; i++) decoded[i] = decodeTable[input[i] ?? 0xff] ?? 0;
    return decoded;
  };
  for (let i = 0; i < pcm.length; i++) {
    if (decodeWithTable(bytes)[i] !== alawmulaw.mulaw.decode(bytes)[i]) {
      throw new Error('the decode table disagrees with alawmulaw');
    }
  }
  const [message] = syntheticStream(0).frame(1234);
  return [
    {
      group: 'encode 160 samples',
      name: 'alawmulaw.mulaw.encode',
      baseline: 'alawmulaw.mulaw.encode',
      op: () => alawmulaw.mulaw.encode(pcm),
    },
    {
      group: 'encode 160 samples',
      name: 'emulator encodeMulaw (64 Ki table)',
      baseline: 'alawmulaw.mulaw.encode',
      op: () => encodeMulaw(pcm, out),
    },
    {
      group: 'decode 160 bytes',
      name: 'alawmulaw.mulaw.decode',
      baseline: 'alawmulaw.mulaw.decode',
      op: () => alawmulaw.mulaw.decode(bytes),
    },
    {
      group: 'decode 160 bytes',
      name: '256-entry table',
      baseline: 'alawmulaw.mulaw.decode',
      op: () => decodeWithTable(bytes),
    },
    {
      group: 'media message',
      name: 'JSON.parse',
      baseline: 'JSON.parse',
      op: () => JSON.parse(message) as unknown,
    },
    {
      group: 'media message',
      name: 'JSON.parse + base64 decode',
      baseline: 'JSON.parse',
      op: () => {
        const m = JSON.parse(message) as { media: { payload: string } };
        return Buffer.from(m.media.payload, 'base64');
      },
    },
    {
      group: 'media message',
      name: 'receiver parseMessage (zod)',
      baseline: 'JSON.parse',
      op: () => parseMessage(message),
    },
  ];
}

export const mediaCodec: Benchmark = {
  name: 'media-codec',
  description: 'per-frame CPU of µ-law encode/decode and of media-message validation, ns per op',
  run(): Promise<BenchResult> {
    const all = cases();
    const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
    for (const c of all) timeRound(c.op, ROUND_MS / 2);
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of all) samples.get(c.name)?.push(timeRound(c.op, ROUND_MS));
    }
    const median = (name: string): number => quantile(samples.get(name) ?? [], 0.5);
    const rows: Row[] = all.map((c) => ({
      group: c.group,
      case: c.name,
      'ns/op (median)': round(median(c.name), 0),
      'vs baseline': round(median(c.name) / median(c.baseline), 2),
    }));
    const ratio = (name: string, base: string): number => round(median(name) / median(base), 2);
    return Promise.resolve({
      rows,
      summary: {
        encode_table_vs_alawmulaw: ratio(
          'emulator encodeMulaw (64 Ki table)',
          'alawmulaw.mulaw.encode',
        ),
        decode_table_vs_alawmulaw: ratio('256-entry table', 'alawmulaw.mulaw.decode'),
        parse_message_vs_json_parse: ratio('receiver parseMessage (zod)', 'JSON.parse'),
        parse_message_ns: round(median('receiver parseMessage (zod)'), 0),
      },
      notes: [
        `median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per case; ratio < 1 is faster than its baseline.`,
      ],
    });
  },
};
