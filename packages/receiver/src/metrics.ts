import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The receiver's Prometheus metrics, registered on the caller's registry (never the global one). */
export interface ReceiverMetrics {
  readonly registry: Registry;
  readonly activeSessions: Gauge;
  readonly sessions: Counter<'end_reason'>;
  readonly frames: Counter<'track'>;
  readonly bytes: Counter<'track'>;
  readonly gaps: Counter<'track'>;
  readonly gapSeconds: Counter<'track'>;
  readonly anomalies: Counter<'kind'>;
  readonly protocolErrors: Counter<'code'>;
  readonly rejectedConnections: Counter<'reason'>;
  readonly bufferOverflows: Counter;
  readonly writeLatency: Histogram;
  readonly repairedRecordings: Counter;
}

const PREFIX = 'flex_streams_receiver_';

/** Creates every metric on `registry`. */
export function createReceiverMetrics(registry: Registry): ReceiverMetrics {
  const registers = [registry];
  return {
    registry,
    activeSessions: new Gauge({
      name: `${PREFIX}active_sessions`,
      help: 'WebSocket sessions currently open',
      registers,
    }),
    sessions: new Counter({
      name: `${PREFIX}recordings_total`,
      help: 'Recordings finished, by end reason (stop, socket-closed, error)',
      labelNames: ['end_reason'],
      registers,
    }),
    frames: new Counter({
      name: `${PREFIX}frames_total`,
      help: 'Media frames received, by track',
      labelNames: ['track'],
      registers,
    }),
    bytes: new Counter({
      name: `${PREFIX}audio_bytes_total`,
      help: 'µ-law payload bytes received, by track',
      labelNames: ['track'],
      registers,
    }),
    gaps: new Counter({
      name: `${PREFIX}gaps_total`,
      help: 'Gaps filled with silence, by track',
      labelNames: ['track'],
      registers,
    }),
    gapSeconds: new Counter({
      name: `${PREFIX}gap_seconds_total`,
      help: 'Seconds of silence filled into gaps, by track',
      labelNames: ['track'],
      registers,
    }),
    anomalies: new Counter({
      name: `${PREFIX}anomalies_total`,
      help: 'Frames that were duplicate, out of order, late or overlapping, by kind',
      labelNames: ['kind'],
      registers,
    }),
    protocolErrors: new Counter({
      name: `${PREFIX}protocol_errors_total`,
      help: 'Sockets closed for bad input, by error code',
      labelNames: ['code'],
      registers,
    }),
    rejectedConnections: new Counter({
      name: `${PREFIX}rejected_connections_total`,
      help: 'WebSocket upgrades refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
    bufferOverflows: new Counter({
      name: `${PREFIX}buffer_overflows_total`,
      help: 'Times a session write buffer was full and audio was recorded as silence',
      registers,
    }),
    writeLatency: new Histogram({
      name: `${PREFIX}write_latency_seconds`,
      help: 'Time to write one batch of audio and its header',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    repairedRecordings: new Counter({
      name: `${PREFIX}repaired_recordings_total`,
      help: 'Recordings left unfinished by a crash and repaired on start',
      registers,
    }),
  };
}
