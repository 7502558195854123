/**
 * receiver-sidecar: what rewriting every open recording's sidecar costs. While recording, the
 * receiver rewrites the JSON sidecar (temp file + write + rename) at most every
 * `sidecarIntervalMs` (default 5000); `sidecarIntervalMs: 0` rewrites it on every flush that
 * changed it, which under real pacing is every flush (the frame counts always change): the
 * receiver's behaviour before that option existed. The same paced load runs with both; the
 * baseline is the every-flush setting, measured in the same run.
 */
import { round as roundTo, type BenchResult, type Benchmark, type Row } from './lib/report.js';
import { isStarved, realtime, sum, type Run } from './receiver-realtime.js';

const STREAMS = 200;
const SECONDS = 10;
/** Every flush (the old behaviour) first: it is the baseline. */
const INTERVALS = [0, 5000] as const;
/** Each setting runs this many times, in rotating order; the least disturbed run counts. */
const ROUNDS = 2;

export const receiverSidecar: Benchmark = {
  name: 'receiver-sidecar',
  description: `${STREAMS} paced streams for ${SECONDS} s into the receiver with sidecarIntervalMs ${INTERVALS.join(', ')} (baseline 0: a rewrite on every flush)`,
  async run(): Promise<BenchResult> {
    const all: { readonly sidecarIntervalMs: number; readonly run: Run }[] = [];
    for (let pass = 0; pass < ROUNDS; pass++) {
      for (let i = 0; i < INTERVALS.length; i++) {
        const sidecarIntervalMs = INTERVALS[(i + pass) % INTERVALS.length] ?? 0;
        all.push({
          sidecarIntervalMs,
          run: await realtime('receiver', STREAMS, { sidecarIntervalMs }, SECONDS),
        });
      }
    }
    const cpuPerFrame = (r: (typeof all)[number]): number => r.run.m.cpuUs / r.run.m.frames;
    // As in receiver-flush: the least disturbed round is the one whose event loop waited least
    // (a starved process understates its CPU per frame).
    const runs = INTERVALS.map((sidecarIntervalMs) => {
      const mine = all.filter((r) => r.sidecarIntervalMs === sidecarIntervalMs);
      return mine.reduce((best, r) => (r.run.m.eldP99Ms < best.run.m.eldP99Ms ? r : best));
    });
    const base = runs.find((r) => r.sidecarIntervalMs === 0);
    if (base === undefined) throw new Error('the baseline run is missing');
    const rows: Row[] = runs.map((r) => ({
      sidecarIntervalMs: r.sidecarIntervalMs,
      streams: STREAMS,
      'cpu %': roundTo((r.run.m.cpuUs / 1000 / r.run.m.wallMs) * 100, 1),
      'cpu µs/frame': roundTo(cpuPerFrame(r), 2),
      'vs every flush': roundTo(cpuPerFrame(r) / cpuPerFrame(base), 2),
      'eld p99 ms': roundTo(r.run.m.eldP99Ms, 2),
      starved: isStarved(r.run.m),
      anomalies: sum(
        r.run.outcomes,
        (o) => o.gaps + o.late + o.duplicates + o.overlaps + o.overflows,
      ),
    }));
    const summary: Record<string, number> = {};
    for (const r of runs) {
      summary[`ratio_cpu_sidecar_${r.sidecarIntervalMs}`] = roundTo(
        cpuPerFrame(r) / cpuPerFrame(base),
        2,
      );
    }
    return {
      rows,
      summary,
      notes: [
        `ratio = CPU per frame with this sidecarIntervalMs / with 0 (a sidecar rewrite on every flush; same load, same run; of ${ROUNDS} rotating rounds, the one with the lowest event-loop delay p99).`,
      ],
    };
  },
};
