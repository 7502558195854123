/**
 * Test helpers of the twilio adapters' integration tests: real servers on 127.0.0.1 port 0 (a
 * WebSocket server for Media Streams, a scripted HTTP server that answers like Twilio) and a
 * polling `waitFor` with a deadline (never fixed sleeps).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** Polls `read` until `done` holds, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A Media Streams receiver: records every text message of every connection. */
export interface StreamReceiver {
  /** `ws://127.0.0.1:PORT` */
  readonly origin: string;
  readonly messages: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startStreamReceiver(): Promise<StreamReceiver> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  const messages: Record<string, unknown>[] = [];
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      messages.push(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
    });
  });
  return {
    origin: `ws://127.0.0.1:${address.port}`,
    messages,
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

/** One request the scripted server received. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** What the scripted server answers. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** An HTTP server on port 0 that answers every request with the current `answer`. */
export interface ScriptedServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  answer: ScriptedAnswer | ((request: RecordedRequest) => ScriptedAnswer);
  close(): Promise<void>;
}

export async function startScriptedServer(initial: ScriptedAnswer): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const state: ScriptedServer = {
    url: '',
    requests,
    answer: initial,
    close: () => Promise.resolve(),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const answer = typeof state.answer === 'function' ? state.answer(recorded) : state.answer;
      res.writeHead(answer.status, {
        'Content-Type': 'application/json',
        ...(answer.headers ?? {}),
      });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return Object.assign(state, {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  });
}

/** A TCP server that accepts connections and never answers (a hung Twilio). */
export async function startSilentServer(): Promise<{
  url: string;
  connections: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createTcpServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => count,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}

/** Twilio's legacy v2010 error JSON (twilio-facts §5). */
export function twilioErrorBody(status: number, code: number, message: string): string {
  return JSON.stringify({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}
