/**
 * receiver-flush: what the receiver's crash-safety policy costs. Every `flushIntervalMs` each
 * recording writes its committed audio and rewrites the 58-byte WAV header (packages/receiver
 * README, "Crash safety"; the sidecar only every `sidecarIntervalMs`, measured by
 * receiver-sidecar). The same paced load runs with a short, the default and a long interval; the
 * baseline is the default (500 ms), measured in the same run.
 */
import { settingSweep } from './lib/setting-sweep.js';

const DEFAULT_FLUSH_MS = 500;

export const receiverFlush = settingSweep({
  name: 'receiver-flush',
  setting: 'flushIntervalMs',
  // 800 is the longest allowed with the default 200 ms reorder window (their sum ≤ 1000).
  values: [DEFAULT_FLUSH_MS, 100, 800],
  baseline: DEFAULT_FLUSH_MS,
  baselineLabel: 'the default 500 ms',
  ratioColumn: 'vs default',
  summaryPrefix: 'ratio_cpu_flush_',
  streams: 200,
  seconds: 5,
  rounds: 2,
});
