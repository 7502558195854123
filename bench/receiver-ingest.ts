/**
 * receiver-ingest: N concurrent streams (both tracks) pushed as fast as the sockets take them into
 * the real receiver, which writes WAV + sidecar files to a temp dir. Baseline, same run: a bare
 * `ws` server that only `JSON.parse`s each message. Both run in a child process so their CPU time
 * is theirs alone; the sender (this process) is the same for both.
 */
import { WebSocket } from 'ws';
import { syntheticStream } from './lib/frames.js';
import type { ServerKind } from './lib/ipc.js';
import { round, type BenchResult, type Benchmark, type Row } from './lib/report.js';
import { startMeasuredServer, type MeasuredServer } from './lib/server.js';

/** Concurrent streams per configuration. */
const STREAM_COUNTS = [1, 25, 100] as const;
/** Media messages per configuration (split across its streams): enough for ~1 s of receiver work. */
const FRAMES_PER_CONFIG = 40_000;
/** Messages sent per socket before waiting for the socket to have written them. */
const BATCH = 64;
/** Frames per second of one track of one stream in real time (20 ms frames). */
const REALTIME_FRAMES_PER_TRACK = 50;

async function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('error', reject);
  });
  return ws;
}

/** Sends `messages` in batches, each time waiting until the socket has written the batch. */
async function pushAll(ws: WebSocket, messages: () => Iterable<string>): Promise<void> {
  let batch: string[] = [];
  const flush = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const last = batch.pop();
      for (const m of batch) ws.send(m);
      batch = [];
      if (last === undefined) {
        resolve();
        return;
      }
      ws.send(last, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  for (const message of messages()) {
    batch.push(message);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
}

interface IngestFigures {
  readonly frames: number;
  readonly wallMs: number;
  readonly cpuUs: number;
  readonly anomalies: number;
  readonly overflows: number;
}

async function ingest(server: MeasuredServer, streams: number): Promise<IngestFigures> {
  const framesPerStream = Math.ceil(FRAMES_PER_CONFIG / streams / 2);
  const plan = Array.from({ length: streams }, (_, i) => syntheticStream(i));
  const sockets = await Promise.all(plan.map(() => connect(server.url)));
  await server.mark();
  await Promise.all(
    plan.map((stream, i) => {
      const ws = sockets[i];
      if (ws === undefined) throw new Error('socket missing');
      return pushAll(ws, function* () {
        yield* stream.opening();
        for (let k = 0; k < framesPerStream; k++) yield* stream.frame(k);
        yield stream.stop();
      });
    }),
  );
  // The window ends when every recording is complete on disk (the baseline: every stop parsed).
  const outcomes = await server.waitForStopped(streams, 120_000);
  const m = await server.measure();
  for (const ws of sockets) ws.close(1000);
  const expected = streams * framesPerStream * 2;
  const received = outcomes.reduce((sum, o) => sum + o.frames, 0);
  if (received !== expected) {
    throw new Error(`${server.kind} got ${received} of ${expected} frames with ${streams} streams`);
  }
  return {
    frames: m.frames,
    wallMs: m.wallMs,
    cpuUs: m.cpuUs,
    anomalies: outcomes.reduce((sum, o) => sum + o.gaps + o.late + o.duplicates + o.overlaps, 0),
    overflows: outcomes.reduce((sum, o) => sum + o.overflows, 0),
  };
}

async function measureKind(kind: ServerKind): Promise<Map<number, IngestFigures>> {
  const server = await startMeasuredServer(kind);
  try {
    // One short warm-up so JIT and file-system caches do not count against the first size.
    await ingest(server, 4);
    const byCount = new Map<number, IngestFigures>();
    for (const n of STREAM_COUNTS) byCount.set(n, await ingest(server, n));
    return byCount;
  } finally {
    await server.close();
  }
}

function toRow(kind: string, streams: number, f: IngestFigures): Row {
  return {
    server: kind,
    streams,
    frames: f.frames,
    'frames/s': Math.round((f.frames / f.wallMs) * 1000),
    'cpu µs/frame': round(f.cpuUs / f.frames, 2),
    'cpu %': Math.round((f.cpuUs / 1000 / f.wallMs) * 100),
    anomalies: f.anomalies,
    overflows: f.overflows,
  };
}

export const receiverIngest: Benchmark = {
  name: 'receiver-ingest',
  description: `unpaced streams (both tracks, ${FRAMES_PER_CONFIG} frames per size) into the receiver vs a bare ws + JSON.parse server`,
  async run(): Promise<BenchResult> {
    const baseline = await measureKind('bare');
    const receiver = await measureKind('receiver');
    const rows: Row[] = [];
    const summary: Record<string, number> = {};
    for (const n of STREAM_COUNTS) {
      const b = baseline.get(n);
      const r = receiver.get(n);
      if (b === undefined || r === undefined) continue;
      rows.push(toRow('baseline (ws + JSON.parse)', n, b), toRow('receiver', n, r));
      const ratio = r.cpuUs / r.frames / (b.cpuUs / b.frames);
      summary[`ratio_cpu_per_frame_${n}`] = round(ratio, 2);
      // One core = 1e6 µs of CPU per second; a call's stream needs 50 frames/s on each track.
      summary[`streams_per_core_${n}`] = Math.floor(
        1e6 / ((r.cpuUs / r.frames) * REALTIME_FRAMES_PER_TRACK * 2),
      );
    }
    return {
      rows,
      summary,
      notes: [
        'ratio = receiver CPU per frame / baseline CPU per frame (same sender, same run).',
        'streams_per_core = 1e6 µs / (receiver µs per frame × 100 frames/s of a two-track stream).',
        'frames/s is bounded by the sender (one process) too: compare CPU per frame, not frames/s.',
      ],
    };
  },
};
