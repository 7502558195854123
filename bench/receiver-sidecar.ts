/**
 * receiver-sidecar: what rewriting every open recording's sidecar costs. While recording, the
 * receiver rewrites the JSON sidecar (temp file + write + rename) at most every
 * `sidecarIntervalMs` (default 5000); `sidecarIntervalMs: 0` rewrites it on every flush that
 * changed it, which under real pacing is every flush (the frame counts always change): the
 * receiver's behaviour before that option existed. The same paced load runs with both; the
 * baseline is the every-flush setting, measured in the same run.
 */
import { settingSweep } from './lib/setting-sweep.js';

export const receiverSidecar = settingSweep({
  name: 'receiver-sidecar',
  setting: 'sidecarIntervalMs',
  // Every flush (the old behaviour) first: it is the baseline.
  values: [0, 5000],
  baseline: 0,
  baselineLabel: '0 (a sidecar rewrite on every flush)',
  ratioColumn: 'vs every flush',
  summaryPrefix: 'ratio_cpu_sidecar_',
  streams: 200,
  seconds: 10,
  rounds: 2,
});
