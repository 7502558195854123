/**
 * emulator-media-fanout: the emulator's Media Streams client pacing K two-track streams in real
 * time into a sink (another process) that discards the audio and notes when each frame arrived.
 * Baseline, same run: a plain timer loop over plain `ws` sockets that does the per-frame
 * JSON.stringify + base64 work itself, with no client around it. Figures: CPU of this process
 * per stream-second, and the timing accuracy of frames at the sink: how much later than the
 * stream's earliest-arriving frame each one arrived, relative to its timestamp.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { openPacedStreams } from './lib/emulator-client.js';
import { PAYLOADS, sid } from './lib/frames.js';
import type { Measurement } from './lib/ipc.js';
import { round, type BenchResult, type Benchmark, type Row } from './lib/report.js';
import { startMeasuredServer, type MeasuredServer } from './lib/server.js';

const STREAM_COUNTS = [10, 100] as const;
/** Measured seconds of real-time streaming per configuration. */
const SECONDS = 5;
const FRAME_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Window {
  readonly clientCpuUs: number;
  readonly wallMs: number;
  readonly sink: Measurement;
}

/** Measures this process's CPU and the sink's arrivals over `SECONDS` of streaming. */
async function window(sink: MeasuredServer): Promise<Window> {
  await sink.mark();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  return { clientCpuUs: used.user + used.system, wallMs, sink: await sink.measure() };
}

/** The baseline sender: one timer, aligned on 20 ms boundaries, no client machinery. */
async function baselineWindow(sink: MeasuredServer, streams: number): Promise<Window> {
  const raw = {
    inbound: Buffer.from(PAYLOADS.inbound, 'base64'),
    outbound: Buffer.from(PAYLOADS.outbound, 'base64'),
  };
  const sockets = await Promise.all(
    Array.from(
      { length: streams },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(sink.url, { perMessageDeflate: false });
          ws.once('open', () => {
            resolve(ws);
          });
          ws.once('error', reject);
        }),
    ),
  );
  const streamSids = sockets.map(() => sid('MZ'));
  sockets.forEach((ws, i) => {
    ws.send(JSON.stringify({ event: 'start', streamSid: streamSids[i] }));
  });
  const t0 = performance.now();
  let frame = 0;
  let seq = 1;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    while (t0 + (frame + 1) * FRAME_MS <= performance.now()) {
      for (let i = 0; i < sockets.length; i++) {
        for (const track of ['inbound', 'outbound'] as const) {
          sockets[i]?.send(
            JSON.stringify({
              event: 'media',
              sequenceNumber: String(++seq),
              streamSid: streamSids[i],
              media: {
                track,
                chunk: String(frame + 1),
                timestamp: String(frame * FRAME_MS),
                payload: raw[track].toString('base64'),
              },
            }),
          );
        }
      }
      frame++;
    }
    timer = setTimeout(tick, t0 + (frame + 1) * FRAME_MS - performance.now());
  };
  tick();
  try {
    await sleep(500);
    return await window(sink);
  } finally {
    clearTimeout(timer);
    for (const ws of sockets) ws.close(1000);
  }
}

async function clientWindow(sink: MeasuredServer, streams: number): Promise<Window> {
  const paced = await openPacedStreams(sink.url, streams);
  try {
    await sleep(500);
    const w = await window(sink);
    if (paced.errors.length > 0) throw new Error(`stream errors: ${paced.errors.join('; ')}`);
    return w;
  } finally {
    await paced.close();
  }
}

function toRow(sender: string, streams: number, w: Window): Row {
  const streamSeconds = (streams * w.wallMs) / 1000;
  return {
    sender,
    streams,
    'frames/s': Math.round((w.sink.frames / w.wallMs) * 1000),
    'expected/s': streams * 2 * (1000 / FRAME_MS),
    'cpu µs/stream-s': Math.round(w.clientCpuUs / streamSeconds),
    'cpu %': Math.round((w.clientCpuUs / 1000 / w.wallMs) * 100),
    'late p50 ms': round(w.sink.latenessP50Ms, 2),
    'late p99 ms': round(w.sink.latenessP99Ms, 2),
    'late max ms': round(w.sink.latenessMaxMs, 2),
  };
}

export const emulatorMediaFanout: Benchmark = {
  name: 'emulator-media-fanout',
  description: `the emulator's Media Streams client pacing K streams for ${SECONDS} s into a discarding sink vs a bare timer loop`,
  async run(): Promise<BenchResult> {
    const sink = await startMeasuredServer('sink');
    const rows: Row[] = [];
    const summary: Record<string, number> = {};
    try {
      for (const k of STREAM_COUNTS) {
        const base = await baselineWindow(sink, k);
        const client = await clientWindow(sink, k);
        rows.push(toRow('baseline timer loop', k, base), toRow('emulator client', k, client));
        summary[`ratio_cpu_per_stream_s_${k}`] = round(
          client.clientCpuUs / client.wallMs / (base.clientCpuUs / base.wallMs),
          2,
        );
        summary[`client_late_p99_ms_${k}`] = round(client.sink.latenessP99Ms, 2);
        summary[`baseline_late_p99_ms_${k}`] = round(base.sink.latenessP99Ms, 2);
      }
    } finally {
      await sink.close();
    }
    return {
      rows,
      summary,
      notes: [
        'ratio = client CPU per stream-second / baseline CPU per stream-second (same sink, same run).',
        'late = (arrival − timestamp) − the least (arrival − timestamp) of its stream: pacing plus transport jitter.',
      ],
    };
  },
};
