/**
 * controller-strategies: what each strategy costs per warm transfer A→B on the emulator, `rest`
 * (the baseline) against `twiml`, rounds interleaved so load changes hit both alike. Each round is
 * the e2e `warm-transfer` scenario (emulator, controller, receiver in this process, through the
 * official SDK): Twilio requests per stream run, customer-leg disruptions (leave and re-join),
 * and how far each stream edge lands from its segment's start or end (issue 5 holds it to 200 ms).
 */
import { runScenario, type ScenarioResult } from '@flex-streams/e2e';
import { quantile, round, type BenchResult, type Benchmark, type Row } from './lib/report.js';

/** Rounds per strategy: each is one warm transfer of a few seconds of audio. */
const ROUNDS = 4;
const STRATEGIES = ['rest', 'twiml'] as const;
type Strategy = (typeof STRATEGIES)[number];

interface Totals {
  runs: number;
  requests: number;
  writes: number;
  disruptions: number;
  edges: number[];
  failedChecks: number;
}

/** Requests that change something on Twilio (every one but the reads). */
function writes(result: ScenarioResult): number {
  const reads = new Set(['FetchCall', 'FetchParticipant', 'ListParticipant', 'ListConference']);
  return Object.entries(result.twilioRequests.byOperation)
    .filter(([op]) => !reads.has(op))
    .reduce((sum, [, n]) => sum + n, 0);
}

export const controllerStrategies: Benchmark = {
  name: 'controller-strategies',
  description: 'Twilio requests, customer disruptions and stream-edge lateness per strategy',
  async run(): Promise<BenchResult> {
    const totals = new Map<Strategy, Totals>(
      STRATEGIES.map((s) => [
        s,
        { runs: 0, requests: 0, writes: 0, disruptions: 0, edges: [], failedChecks: 0 },
      ]),
    );
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      for (const strategy of STRATEGIES) {
        const result = await runScenario('warm-transfer', { strategy });
        const t = totals.get(strategy);
        if (t === undefined) continue;
        t.runs += result.segments.length;
        t.requests += result.twilioRequests.total;
        t.writes += writes(result);
        t.disruptions += result.customerDisruptions;
        t.edges.push(...result.streamEdges.map((e) => Math.abs(e.deltaMs ?? Number.NaN)));
        t.failedChecks += result.checks.filter((c) => !c.ok).length;
        process.stderr.write(`  round ${round_ + 1}/${ROUNDS} ${strategy}: ok=${result.ok}\n`);
      }
    }
    const rows: Row[] = STRATEGIES.flatMap((strategy) => {
      const t = totals.get(strategy);
      if (t === undefined) return [];
      return {
        strategy,
        baseline: strategy === 'rest',
        segments: t.runs,
        requestsPerSegment: round(t.requests / t.runs, 2),
        writesPerSegment: round(t.writes / t.runs, 2),
        disruptionsPerSegment: round(t.disruptions / t.runs, 2),
        edgeP50Ms: quantile(t.edges, 0.5),
        edgeP95Ms: quantile(t.edges, 0.95),
        edgeMaxMs: Math.max(...t.edges),
        failedChecks: t.failedChecks,
      };
    });
    const [rest, twiml] = rows;
    const ratio = (key: string): number =>
      round(Number(twiml?.[key] ?? Number.NaN) / Number(rest?.[key] ?? Number.NaN), 2);
    return {
      rows,
      summary: {
        twimlRequestsVsRest: ratio('requestsPerSegment'),
        twimlEdgeP50VsRest: ratio('edgeP50Ms'),
        twimlEdgeP95VsRest: ratio('edgeP95Ms'),
        twimlDisruptionsPerSegment: Number(twiml?.disruptionsPerSegment ?? Number.NaN),
        worstEdgeMs: Math.max(Number(rest?.edgeMaxMs ?? 0), Number(twiml?.edgeMaxMs ?? 0)),
      },
      notes: [
        'Edges: |emulator fork time − controller segment time| for every stream start and stop.',
        'rest never touches the customer leg; twiml re-dials the customer on each start and stop.',
      ],
    };
  },
};
