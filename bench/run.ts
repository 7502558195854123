/**
 * Runs the benchmarks (media path, controller strategies): `npm run bench` runs all of them, `npm run bench -- NAME...`
 * only those named. Each prints a table and one `BENCH {...}` JSON line that docs/benchmarks.md
 * quotes. Exit code 1 if a benchmark failed (the others still run), 2 for an unknown name.
 */
import { controllerStrategies } from './controller-strategies.js';
import { emulatorMediaFanout } from './emulator-media-fanout.js';
import { mediaCodec } from './media-codec.js';
import { receiverFlush } from './receiver-flush.js';
import { receiverIngest } from './receiver-ingest.js';
import { receiverRealtime } from './receiver-realtime.js';
import { receiverSidecar } from './receiver-sidecar.js';
import { machineInfo, printResult, type Benchmark } from './lib/report.js';

const BENCHMARKS: readonly Benchmark[] = [
  mediaCodec,
  receiverIngest,
  emulatorMediaFanout,
  receiverRealtime,
  receiverFlush,
  receiverSidecar,
  controllerStrategies,
];

async function main(names: readonly string[]): Promise<number> {
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
    );
    return 2;
  }
  const selected =
    names.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => names.includes(b.name));
  const machine = machineInfo();
  process.stdout.write(
    `flex-streams benchmarks on ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadAvg1}\n`,
  );
  let failed = 0;
  for (const bench of selected) {
    const started = Date.now();
    try {
      const date = new Date();
      // Taken before the run: the load average then says how shared the machine was.
      const before = machineInfo();
      const result = await bench.run();
      printResult(bench, result, before, date);
      process.stdout.write(`  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    } catch (error) {
      failed++;
      process.stderr.write(`benchmark ${bench.name} failed: ${String(error)}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
