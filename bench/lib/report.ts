/**
 * What every benchmark reports and how it is printed: a table for people and one JSON line
 * (prefixed `BENCH `) that `docs/benchmarks.md` quotes, both carrying the machine it ran on.
 */
import { cpus } from 'node:os';
import { availableParallelism, loadavg } from 'node:os';

/** One row of a benchmark's table: column name → value (numbers are printed rounded). */
export type Row = Readonly<Record<string, string | number | boolean | null>>;

/** What a benchmark returns. */
export interface BenchResult {
  /** Rows of the table, in print order. Baseline rows come first and say so. */
  readonly rows: readonly Row[];
  /** Figures derived from the rows (ratios, headroom), quoted by the docs. */
  readonly summary: Row;
  /** One or two sentences on what the figures mean; printed under the table. */
  readonly notes: readonly string[];
}

/** A benchmark the runner can run by name. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(): Promise<BenchResult>;
}

/** The machine a run happened on, as `docs/benchmarks.md` must state it. */
export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  /** 1-minute load average when the benchmark started: how shared the machine was. */
  readonly loadAvg1: number;
}

/** Reads nproc, the CPU model (as /proc/cpuinfo names it), the Node version and the load. */
export function machineInfo(): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    loadAvg1: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

function cell(value: string | number | boolean | null): string {
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

/** Renders rows as an aligned text table (columns from the union of the rows' keys). */
export function formatTable(rows: readonly Row[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const text = rows.map((row) => columns.map((c) => cell(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]): string =>
    values.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/** Prints a benchmark's table, summary and notes, then its JSON line, to stdout. */
export function printResult(
  bench: Benchmark,
  result: BenchResult,
  machine: MachineInfo,
  date: Date,
): void {
  const out: string[] = [
    '',
    `== ${bench.name}: ${bench.description}`,
    formatTable(result.rows),
    '',
    formatTable([result.summary]),
    ...result.notes.map((n) => `  ${n}`),
    `BENCH ${JSON.stringify({ bench: bench.name, date: date.toISOString(), machine, summary: result.summary, rows: result.rows })}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The value at quantile `q` (0..1) of `values` (nearest rank); NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Rounds to `digits` decimals so JSON lines stay readable. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
