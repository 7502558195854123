/**
 * The measured side of a benchmark, run as its own process by `server.ts`:
 * `tsx bench/lib/child.ts <receiver|bare|sink> [recordingsDir [flushIntervalMs [sidecarIntervalMs]]]`. It listens on
 * 127.0.0.1 port 0, reports `ready` with its URL over IPC, and answers `mark` / `measure` with its own CPU time,
 * event-loop delay and frame count.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startReceiver } from '@flex-streams/receiver';
import { WebSocketServer, type RawData } from 'ws';
import type { FromChild, ServerKind, StreamOutcome, ToChild } from './ipc.js';
import { quantile } from './report.js';

const send = (message: FromChild): void => {
  process.send?.(message);
};

const kind = process.argv[2] as ServerKind | undefined;
const recordingsDir = process.argv[3];
/** Receiver option `flushIntervalMs` (its default when absent or empty). */
const flushArg = process.argv[4];
/** Receiver option `sidecarIntervalMs` (its default when absent). */
const sidecarArg = process.argv[5];

let frames = 0;
let markCpu = process.cpuUsage();
let markWall = performance.now();
/**
 * Sampling interval of the event-loop delay histogram. Node records the whole interval between
 * two samples (https://nodejs.org/api/perf_hooks.html#perf_hooksmonitoreventloopdelayoptions),
 * so the interval itself is subtracted from the reported figures.
 */
const ELD_RESOLUTION_MS = 2;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
const delayMs = (ns: number): number => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
eld.enable();

const text = (data: RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8');

/** A plain `ws` server: `onMessage` gets each parsed message of a connection. */
async function startWsServer(
  onConnection: () => (message: Record<string, unknown>) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  server.on('connection', (socket) => {
    const onMessage = onConnection();
    socket.on('message', (data) => {
      onMessage(JSON.parse(text(data)) as Record<string, unknown>);
    });
  });
  return {
    url: `ws://127.0.0.1:${address.port}/media`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const emptyOutcome = (streamSid: string, count: number): StreamOutcome => ({
  streamSid,
  frames: count,
  endReason: 'stop',
  gaps: 0,
  gapMs: 0,
  late: 0,
  duplicates: 0,
  outOfOrder: 0,
  overlaps: 0,
  overflows: 0,
});

/**
 * Per sink connection, `arrival − timestamp` of each `media` frame in the window. A frame's
 * lateness is its value minus the least one of its stream: the delay beyond the stream's
 * earliest-arriving frame, so neither the sender's start instant nor a constant transport time
 * (neither of which the sink can see) enters the figure.
 */
const offsetsByStream = new Set<number[]>();

/** Baseline: parse, count, report `stop`. Sink: also note when each frame arrived. */
function plainConnection(timeFrames: boolean): (message: Record<string, unknown>) => void {
  let count = 0;
  const offsets: number[] = [];
  if (timeFrames) offsetsByStream.add(offsets);
  return (message) => {
    if (message.event === 'media') {
      frames++;
      count++;
      if (timeFrames) {
        const media = message.media as { timestamp: string };
        offsets.push(performance.now() - Number(media.timestamp));
      }
    } else if (message.event === 'stop') {
      offsetsByStream.delete(offsets);
      send({ type: 'stopped', outcome: emptyOutcome(String(message.streamSid), count) });
    }
  };
}

/** Lateness of every frame in the window, ms (see `offsetsByStream`). */
function lateness(): number[] {
  const all: number[] = [];
  for (const offsets of offsetsByStream) {
    const least = offsets.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    for (const o of offsets) all.push(o - least);
  }
  return all;
}

async function main(): Promise<void> {
  let close: () => Promise<void>;
  let url: string;
  if (kind === 'receiver') {
    if (recordingsDir === undefined) throw new Error('receiver needs a recordings dir');
    const receiver = await startReceiver({
      recordingsDir,
      ...(flushArg === undefined || flushArg === '' ? {} : { flushIntervalMs: Number(flushArg) }),
      ...(sidecarArg === undefined ? {} : { sidecarIntervalMs: Number(sidecarArg) }),
    });
    receiver.events.on('streamStopped', (e) => {
      const s = e.sidecar;
      send({
        type: 'stopped',
        outcome: {
          streamSid: e.streamSid,
          frames: (s.framesByTrack.inbound ?? 0) + (s.framesByTrack.outbound ?? 0),
          endReason: e.endReason,
          gaps: s.gaps.length,
          gapMs: s.gaps.reduce((sum, g) => sum + g.durationMs, 0),
          late: s.anomalies.late,
          duplicates: s.anomalies.duplicates,
          outOfOrder: s.anomalies.outOfOrder,
          overlaps: s.anomalies.overlaps,
          overflows: s.anomalies.overflows.length,
        },
      });
    });
    // The receiver's own count, read from its metric so the child adds no per-frame work.
    const counter = receiver.registry.getSingleMetric('flex_streams_receiver_frames_total');
    const readFrames = async (): Promise<number> => {
      const metric = await counter?.get();
      return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
    };
    let base = 0;
    countFrames = async (reset) => {
      const total = await readFrames();
      if (reset) base = total;
      return total - base;
    };
    url = receiver.url;
    close = () => receiver.close();
  } else if (kind === 'bare' || kind === 'sink') {
    const server = await startWsServer(() => plainConnection(kind === 'sink'));
    url = server.url;
    close = server.close;
  } else {
    throw new Error(`unknown server kind ${String(kind)}`);
  }

  process.on('message', (message: ToChild) => {
    void handle(message, close);
  });
  // A benchmark that died (or was interrupted) must not leave its server running.
  process.on('disconnect', () => {
    process.exit(0);
  });
  send({ type: 'ready', url });
}

/** Frames in the window: the receiver replaces this with its metric. */
let countFrames = (reset: boolean): Promise<number> => {
  if (reset) frames = 0;
  return Promise.resolve(frames);
};

async function handle(message: ToChild, close: () => Promise<void>): Promise<void> {
  switch (message.type) {
    case 'mark':
      await countFrames(true);
      for (const offsets of offsetsByStream) offsets.length = 0;
      eld.reset();
      markCpu = process.cpuUsage();
      markWall = performance.now();
      send({ type: 'marked' });
      return;
    case 'measure': {
      const cpu = process.cpuUsage(markCpu);
      const wallMs = performance.now() - markWall;
      const late = lateness();
      send({
        type: 'measured',
        measurement: {
          wallMs,
          cpuUs: cpu.user + cpu.system,
          eldP50Ms: delayMs(eld.percentile(50)),
          eldP99Ms: delayMs(eld.percentile(99)),
          eldMaxMs: delayMs(eld.max),
          frames: await countFrames(false),
          latenessP50Ms: quantile(late, 0.5),
          latenessP99Ms: quantile(late, 0.99),
          latenessMaxMs: quantile(late, 1),
        },
      });
      return;
    }
    case 'exit':
      await close();
      process.exit(0);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench child (${String(kind)}) failed: ${String(error)}\n`);
  process.exit(1);
});
