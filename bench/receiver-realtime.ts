/**
 * receiver-realtime: M streams paced in real time (20 ms frames, both tracks) by the emulator's
 * Media Streams client into the real receiver in its own process, for `SECONDS`. Figures of the
 * receiver process: CPU %, event-loop delay p99, and every anomaly its sidecars report (gaps,
 * late, duplicate, overlapping frames, overflows: none on a healthy machine). Baseline, same
 * run and same sender: the bare `ws` + `JSON.parse` server.
 */
import { openPacedStreams } from './lib/emulator-client.js';
import type { Measurement, ServerKind, StreamOutcome } from './lib/ipc.js';
import { round, type BenchResult, type Benchmark, type Row } from './lib/report.js';
import { startMeasuredServer, type ReceiverSettings } from './lib/server.js';

const STREAM_COUNTS = [50, 200] as const;
/** Measured seconds of real-time streaming per configuration. */
const SECONDS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Figures of one paced run: the server's window and every stream's final outcome. */
export interface Run {
  readonly m: Measurement;
  readonly outcomes: readonly StreamOutcome[];
}

/**
 * The receiver's reorder window (its default): an event-loop delay p99 beyond it means the process
 * was waiting for a core rather than working, and its CPU figures understate the cost.
 */
const REORDER_WINDOW_MS = 200;

/** Whether a run's server fell behind for want of CPU (see `REORDER_WINDOW_MS`). */
export const isStarved = (m: Measurement): boolean => m.eldP99Ms > REORDER_WINDOW_MS;

/** Sums `pick` over every stream's outcome. */
export const sum = (
  outcomes: readonly StreamOutcome[],
  pick: (o: StreamOutcome) => number,
): number => outcomes.reduce((total, o) => total + pick(o), 0);

/** Runs `streams` paced streams into a fresh `kind` server for `SECONDS` (exported for receiver-flush). */
export async function realtime(
  kind: ServerKind,
  streams: number,
  settings: ReceiverSettings = {},
  seconds = SECONDS,
): Promise<Run> {
  const server = await startMeasuredServer(kind, settings);
  try {
    const paced = await openPacedStreams(server.url, streams);
    let m: Measurement;
    try {
      await sleep(500);
      await server.mark();
      await sleep(seconds * 1000);
      m = await server.measure();
    } finally {
      await paced.close();
    }
    const outcomes = await server.waitForStopped(streams, 60_000);
    if (paced.errors.length > 0) throw new Error(`stream errors: ${paced.errors.join('; ')}`);
    // Every frame the client sent must be in a recording (or, for the baseline, counted).
    const sent = paced.framesSent();
    const received = sum(outcomes, (o) => o.frames);
    if (received !== sent) throw new Error(`${kind} got ${received} of ${sent} frames sent`);
    return { m, outcomes };
  } finally {
    await server.close();
  }
}

function toRow(server: string, streams: number, r: Run): Row {
  return {
    server,
    streams,
    'frames/s': Math.round((r.m.frames / r.m.wallMs) * 1000),
    'cpu %': round((r.m.cpuUs / 1000 / r.m.wallMs) * 100, 1),
    'cpu µs/frame': round(r.m.cpuUs / r.m.frames, 2),
    'eld p50 ms': round(r.m.eldP50Ms, 2),
    'eld p99 ms': round(r.m.eldP99Ms, 2),
    'eld max ms': round(r.m.eldMaxMs, 2),
    gaps: sum(r.outcomes, (o) => o.gaps),
    late: sum(r.outcomes, (o) => o.late),
    duplicates: sum(r.outcomes, (o) => o.duplicates),
    overlaps: sum(r.outcomes, (o) => o.overlaps),
    overflows: sum(r.outcomes, (o) => o.overflows),
    'not stop': r.outcomes.filter((o) => o.endReason !== 'stop').length,
    starved: isStarved(r.m),
  };
}

export const receiverRealtime: Benchmark = {
  name: 'receiver-realtime',
  description: `streams paced in real time by the emulator client for ${SECONDS} s into the receiver vs a bare ws + JSON.parse server`,
  async run(): Promise<BenchResult> {
    const rows: Row[] = [];
    const summary: Record<string, number> = {};
    for (const n of STREAM_COUNTS) {
      const base = await realtime('bare', n);
      const receiver = await realtime('receiver', n);
      rows.push(toRow('baseline (ws + JSON.parse)', n, base), toRow('receiver', n, receiver));
      summary[`receiver_cpu_pct_${n}`] = round(
        (receiver.m.cpuUs / 1000 / receiver.m.wallMs) * 100,
        1,
      );
      summary[`ratio_cpu_${n}`] = round(
        receiver.m.cpuUs / receiver.m.frames / (base.m.cpuUs / base.m.frames),
        2,
      );
      // Under real pacing, not flooding: what one fully busy core would sustain at this load.
      summary[`streams_per_core_${n}`] = Math.floor(
        n / (receiver.m.cpuUs / 1000 / receiver.m.wallMs),
      );
      summary[`receiver_eld_p99_ms_${n}`] = round(receiver.m.eldP99Ms, 2);
      summary[`receiver_anomalies_${n}`] = sum(
        receiver.outcomes,
        (o) => o.gaps + o.late + o.duplicates + o.overlaps + o.overflows,
      );
    }
    return {
      rows,
      summary,
      notes: [
        'ratio = receiver CPU per frame / baseline CPU per frame under the same paced load.',
        'eld = event-loop delay of the server process (monitorEventLoopDelay, less its 2 ms sampling interval).',
        'anomalies are summed from every final sidecar; a healthy machine shows 0.',
        `starved = eld p99 over ${REORDER_WINDOW_MS} ms: the process waited for a core (a busy machine), its CPU figures understate the cost.`,
      ],
    };
  },
};
