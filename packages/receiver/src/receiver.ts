import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import twilio from 'twilio';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ReceiverError } from './errors.js';
import { EventHub, type ReceiverEvents, type RejectedEvent } from './events.js';
import { createReceiverMetrics } from './metrics.js';
import { resolveReceiverOptions, type ReceiverOptions } from './options.js';
import { repairRecordings, type RepairedRecording } from './repair.js';
import { MediaStreamSession } from './session.js';
import { fileSystemStorage } from './storage.js';

/** A running receiver. */
export interface Receiver {
  /**
   * The URL a Media Stream should use (`ws://host:port/path`; bound to every interface, the
   * loopback address); behind a proxy, use `publicUrl`.
   */
  readonly url: string;
  /** Stream started / stopped, audio levels, anomalies, rejected upgrades. */
  readonly events: ReceiverEvents;
  /** The Prometheus registry holding the receiver's metrics (the one passed in, or its own). */
  readonly registry: Registry;
  /** Recordings the start-up repair fixed. */
  readonly repaired: readonly RepairedRecording[];
  /** Resolves once every session that is open now has finished its recording. */
  idle(): Promise<void>;
  /** Stops accepting, finishes every open recording (closing sockets with 1001), closes the port. */
  close(): Promise<void>;
}

/** Ceiling the WebSocket library enforces by itself (close 1009), above `maxMessageBytes`. */
const HARD_MAX_PAYLOAD_FACTOR = 4;

/**
 * Starts a Media Streams receiver: repairs what a previous run left unfinished, then listens.
 * Throws `FS_RCV_INVALID_OPTIONS` listing every problem with `options`.
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const resolved = resolveReceiverOptions(options);
  const o = { ...resolved, recordingsDir: resolvePath(resolved.recordingsDir) };
  const logger = (o.logger ?? pino({ level: 'silent' })).child({ component: 'receiver' });
  const registry = o.registry ?? new Registry();
  const metrics = createReceiverMetrics(registry);
  const events = new EventHub(logger);
  const storage = o.storage ?? fileSystemStorage;
  const now = o.now ?? Date.now;

  // Created up front so a folder that cannot be written fails the start, not the first call.
  await storage.mkdir(o.recordingsDir).catch((error: unknown) => {
    throw new ReceiverError(
      'FS_RCV_RECORDINGS_DIR_UNUSABLE',
      `cannot use ${o.recordingsDir} as the recordings folder (${describeSystemError(error)}); give a folder this process can create and write`,
      { cause: error },
    );
  });
  const repaired = o.repairOnStart
    ? await repairRecordings(o.recordingsDir, storage, logger, now)
    : [];
  metrics.repairedRecordings.inc(repaired.length);

  const sessions = new Set<MediaStreamSession>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (o.metricsPath !== undefined && path === o.metricsPath && req.method === 'GET') {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'could not render metrics');
          res.writeHead(500).end();
        });
      return;
    }
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('This is a Twilio Media Streams receiver: connect with a WebSocket.\n');
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxMessageBytes * HARD_MAX_PAYLOAD_FACTOR,
  });
  wss.on('error', (error) => {
    logger.error({ err: error }, 'WebSocket server error');
  });
  let closing = false;

  const reject = (
    socket: Duplex,
    status: number,
    reason: RejectedEvent['reason'],
    req: IncomingMessage,
  ): void => {
    metrics.rejectedConnections.inc({ reason });
    const remoteAddress = req.socket.remoteAddress ?? null;
    logger.warn(
      { reason, status, remoteAddress, url: req.url },
      `refused a WebSocket upgrade: ${reason}`,
    );
    events.emit('rejected', { reason, remoteAddress });
    const text = {
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      503: 'Service Unavailable',
    }[status];
    socket.end(
      `HTTP/1.1 ${status} ${text ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (error) => {
      logger.debug({ err: error }, 'socket error during upgrade');
    });
    try {
      handleUpgrade(req, socket, head);
    } catch (error) {
      // Nothing a peer sends in an upgrade may take the process (and every stream) down.
      logger.error({ err: error, url: req.url }, 'an upgrade failed unexpectedly; answered 400');
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (closing) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    if (withoutTrailingSlash(path) !== withoutTrailingSlash(o.path)) {
      reject(socket, 404, 'not-found', req);
      return;
    }
    if (o.authToken !== undefined) {
      const header = req.headers['x-twilio-signature'];
      const signature = Array.isArray(header) ? header[0] : header;
      if (signature === undefined || signature === '') {
        reject(socket, 401, 'missing-signature', req);
        return;
      }
      // Twilio signs the URL it was given (wss://…, no query, so no params): twilio-facts §1.
      const token = o.authToken;
      const signedUrls = signatureUrls(o.publicUrl, req, url);
      if (!signedUrls.some((candidate) => isSignedOver(token, signature, candidate))) {
        reject(socket, 403, 'bad-signature', req);
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      accept(ws, req);
    });
  };

  const accept = (ws: WebSocket, req: IncomingMessage): void => {
    const session = new MediaStreamSession(
      {
        close: (code, reason) => {
          ws.close(code, reason);
        },
      },
      {
        recordingsDir: o.recordingsDir,
        storage,
        now,
        logger,
        metrics,
        events,
        reorderWindowMs: o.reorderWindowMs,
        maxTrackLagMs: o.maxTrackLagMs,
        flushIntervalMs: o.flushIntervalMs,
        sidecarIntervalMs: o.sidecarIntervalMs,
        maxMessageBytes: o.maxMessageBytes,
        maxBufferedBytes: o.maxBufferedBytes,
        maxForwardJumpMs: o.maxForwardJumpMs,
        nameParameter: o.nameParameter,
        fileNameTemplate: o.fileNameTemplate,
        startTimeoutMs: o.startTimeoutMs,
        closeAfterStopMs: o.closeAfterStopMs,
      },
      req.socket.remoteAddress ?? null,
    );
    sessions.add(session);
    void session.finished.then(() => sessions.delete(session));
    // The session never throws by design; this guard keeps that promise even against a bug, so
    // one stream's failure can never take the process (and every other stream) down.
    const guard =
      <A extends unknown[]>(handler: (...args: A) => void) =>
      (...args: A): void => {
        try {
          handler(...args);
        } catch (error) {
          logger.error({ err: error }, 'a media stream session failed unexpectedly');
          ws.terminate();
        }
      };
    ws.on(
      'message',
      guard((data: RawData, isBinary: boolean) => {
        if (isBinary) {
          session.onBinary();
          return;
        }
        const buffer = Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.isBuffer(data)
            ? data
            : Buffer.from(data);
        session.onText(buffer.toString('utf8'), buffer.length);
      }),
    );
    ws.on(
      'error',
      guard((error: Error & { code?: string }) => {
        const code =
          error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
            ? 'FS_RCV_MESSAGE_TOO_LARGE'
            : 'FS_RCV_INVALID_MESSAGE';
        session.onSocketError(
          new ReceiverError(code, `WebSocket protocol error: ${error.message}`, { cause: error }),
        );
      }),
    );
    ws.on(
      'close',
      guard((code: number) => {
        session.onClose(code);
      }),
    );
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      reject(
        new ReceiverError(
          'FS_RCV_LISTEN_FAILED',
          `cannot listen on ${o.host}:${o.port} (${describeSystemError(error)}); choose another --port or --host (port 0 picks a free one)`,
          { cause: error },
        ),
      );
    });
    server.listen(o.port, o.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  server.on('error', (error) => {
    logger.error({ err: error }, 'receiver HTTP server error');
  });
  const url = listeningUrl(server.address() as AddressInfo, o.path);
  logger.info(
    { url, recordingsDir: o.recordingsDir, signatures: o.authToken !== undefined },
    'receiver listening',
  );

  return {
    url,
    events,
    registry,
    repaired,
    async idle() {
      await Promise.all([...sessions].map((s) => s.finished));
    },
    async close() {
      if (closing) return;
      closing = true;
      const serverClosed = new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await Promise.all([...sessions].map((s) => s.shutdown()));
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await serverClosed;
      logger.info('receiver closed');
    },
  };
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The same URL with its trailing slash toggled: `…/media` ↔ `…/media/`. */
function toggledTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : `${url}/`;
}

/**
 * The URLs Twilio may have signed for this upgrade. Twilio signs exactly the URL it was given
 * (twilio-facts §1), so with `publicUrl` that URL is checked, and, since whether the operator typed
 * it with the same trailing slash as the TwiML is not something a signature protects, its
 * trailing-slash twin. Without `publicUrl`, the URL is rebuilt from the request as it arrived (its
 * Host header and path), with scheme `wss://` (what Twilio signs) or `ws://` (a plain local
 * connection, e.g. the emulator), plus the receiver's own URL. Never `https://`: Twilio signs `wss`.
 */
function signatureUrls(
  publicUrl: string | undefined,
  req: IncomingMessage,
  ownUrl: string,
): string[] {
  if (publicUrl !== undefined) return [publicUrl, toggledTrailingSlash(publicUrl)];
  const host = req.headers.host;
  const target = req.url ?? '/';
  const fromRequest =
    host === undefined || host === '' ? [] : [`wss://${host}${target}`, `ws://${host}${target}`];
  // The Host header is the peer's to write: a value that makes no URL is simply not a candidate.
  return [...fromRequest.filter((candidate) => URL.canParse(candidate)), ownUrl];
}

/**
 * `twilio.validateRequest`, which throws (`new URL`) on a URL it cannot parse: an upgrade must
 * never be able to throw in the server's upgrade handler, which would take the process down.
 */
function isSignedOver(authToken: string, signature: string, url: string): boolean {
  try {
    return twilio.validateRequest(authToken, signature, url, {});
  } catch {
    return false;
  }
}

/** `EADDRINUSE`, `EACCES`…: the code and message of a system error, for a person. */
function describeSystemError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * The `ws://` URL of a listening address. Bound to every interface (`0.0.0.0`, `::`), it names
 * the loopback one, which this machine can always connect to: `ws://0.0.0.0:…` is not an address
 * to give anyone.
 */
export function listeningUrl(address: Pick<AddressInfo, 'address' | 'port'>, path: string): string {
  const bound =
    address.address === '0.0.0.0'
      ? '127.0.0.1'
      : address.address === '::'
        ? '::1'
        : address.address;
  const host = bound.includes(':') ? `[${bound}]` : bound;
  return `ws://${host}:${address.port}${path}`;
}
