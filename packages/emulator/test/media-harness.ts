/**
 * Test harness of the Media Streams integration tests: a real `ws` server on 127.0.0.1 port 0 that
 * records what the emulator sends, an honest in-memory `CallAudioSource`, and a polling `waitFor`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type {
  CallAudioSource,
  Clock,
  MediaStreamsListener,
  Sound,
  StreamTrack,
} from '../src/media/ports.js';

/** One WebSocket connection the server accepted. */
export interface ServerConnection {
  readonly socket: WebSocket;
  readonly headers: IncomingHttpHeaders;
  /** The path and query of the upgrade request. */
  readonly path: string;
  /** Every text message, parsed. */
  readonly messages: Record<string, unknown>[];
  closeCode: number | null;
}

/** A real WebSocket server on 127.0.0.1, port 0. */
export interface TestServer {
  /** `ws://127.0.0.1:PORT` */
  readonly origin: string;
  readonly connections: ServerConnection[];
  close(): Promise<void>;
}

/** Starts a server; `onConnection` may act on each new connection (e.g. close it). */
export async function startServer(
  onConnection?: (connection: ServerConnection) => void,
): Promise<TestServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  const connections: ServerConnection[] = [];
  server.on('connection', (socket, request) => {
    const connection: ServerConnection = {
      socket,
      headers: request.headers,
      path: request.url ?? '',
      messages: [],
      closeCode: null,
    };
    connections.push(connection);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        const bytes = Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.isBuffer(data)
            ? data
            : Buffer.from(data);
        connection.messages.push(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
      }
    });
    socket.on('close', (code) => {
      connection.closeCode = code;
    });
    onConnection?.(connection);
  });
  return {
    origin: `ws://127.0.0.1:${address.port}`,
    connections,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** What each call sounds like: changed by the test over time; returns copies like a model would. */
export class FakeCallAudio implements CallAudioSource {
  private readonly sounds = new Map<string, Record<StreamTrack, readonly Sound[]>>();
  /** Every question asked: call, track and frame time. */
  readonly asked: { callSid: string; track: StreamTrack; atMs: number }[] = [];

  set(callSid: string, track: StreamTrack, sounds: readonly Sound[]): void {
    const current = this.sounds.get(callSid) ?? { inbound: [], outbound: [] };
    this.sounds.set(callSid, { ...current, [track]: [...sounds] });
  }

  inbound(callSid: string, atMs: number): readonly Sound[] {
    this.asked.push({ callSid, track: 'inbound', atMs });
    return this.sounds.get(callSid)?.inbound ?? [];
  }

  outbound(callSid: string, atMs: number): readonly Sound[] {
    this.asked.push({ callSid, track: 'outbound', atMs });
    return this.sounds.get(callSid)?.outbound ?? [];
  }
}

/** Records the listener's callbacks in order. */
export class RecordingListener implements MediaStreamsListener {
  readonly events: (
    | { type: 'started'; streamSid: string }
    | { type: 'error'; streamSid: string; code: number; message: string }
  )[] = [];

  onStarted(streamSid: string): void {
    this.events.push({ type: 'started', streamSid });
  }

  onError(streamSid: string, code: number, message: string): void {
    this.events.push({ type: 'error', streamSid, code, message });
  }

  errorsOf(streamSid: string): number[] {
    return this.events.flatMap((e) =>
      e.type === 'error' && e.streamSid === streamSid ? [e.code] : [],
    );
  }
}

/** The real monotonic clock. */
export const realClock: Clock = { now: () => performance.now() };

/** A pino logger whose records are kept in memory (for warnings such as 31950). */
export function memoryLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, records };
}

/** Polls `condition` every 10 ms until it holds, or fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `media` messages of a connection, optionally of one track. */
export function mediaOf(
  connection: ServerConnection,
  track?: StreamTrack,
): { sequenceNumber: string; media: Record<string, string> }[] {
  return connection.messages
    .filter((m) => m.event === 'media')
    .map((m) => m as { sequenceNumber: string; media: Record<string, string> })
    .filter((m) => track === undefined || m.media.track === track);
}

/** Waits for the server's `index`-th connection and returns it. */
export async function connectionOf(server: TestServer, index = 0): Promise<ServerConnection> {
  await waitFor(() => server.connections.length > index, `connection #${index}`);
  const connection = server.connections[index];
  if (!connection) throw new Error(`no connection #${index}`);
  return connection;
}
