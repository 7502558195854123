/**
 * Harness of the controller service's integration tests: the Twilio emulator (Voice API and Media
 * Streams), the real receiver, a small HTTP server answering as Twilio's Flex token validation
 * service, and the service itself started through `loadServiceConfig` + `startService`, all on
 * 127.0.0.1 with ports from the OS. Waits poll with a deadline; nothing sleeps a fixed time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, twilioSignature, type Emulator } from '@flex-streams/emulator';
import {
  startReceiver,
  type Receiver,
  type StreamStartedEvent,
  type StreamStoppedEvent,
} from '@flex-streams/receiver';
import type { Segment } from '@flex-streams/core';
import { createFakeVoice } from '@flex-streams/core/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadServiceConfig, startService, type RunningService } from '../src/index.js';

/** A fresh SID with the given prefix (32 random hex digits). */
export function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Polls `read` until `done` holds, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 8_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A port the OS just handed out and released (the service's public URL must be known first). */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}

/** One identity the token service knows. */
export interface KnownToken {
  identity: string;
  workerSid: string | null;
}

/**
 * An HTTP server speaking Twilio's token validation protocol (twilio-facts §6):
 * `POST /v1/Accounts/{AccountSid}/Tokens/validate`, Basic auth, JSON `{token}`; answers
 * `{valid, code, message, expiration, realm_user_id, identity, roles, worker_sid}`. The token
 * `expired` is refused with 20104, an unknown token with `valid: false`.
 */
export async function startTokenService(
  accountSid: string,
  authToken: string,
  tokens: Readonly<Record<string, KnownToken>>,
): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests += 1;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== `/v1/Accounts/${accountSid}/Tokens/validate`) {
        send(404, { code: 20404, message: 'not found', status: 404 });
        return;
      }
      if (req.headers.authorization !== expected) {
        send(401, { code: 20003, message: 'Authenticate', status: 401 });
        return;
      }
      let token: unknown;
      try {
        token = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: unknown }).token;
      } catch {
        send(400, { code: 20001, message: 'bad JSON', status: 400 });
        return;
      }
      const known = typeof token === 'string' ? tokens[token] : undefined;
      if (token === 'expired') {
        send(200, { valid: false, code: 20104, message: 'Access Token expired' });
      } else if (known === undefined) {
        send(200, { valid: false, code: 20101, message: 'Invalid Access Token' });
      } else {
        send(200, {
          valid: true,
          code: 0,
          message: null,
          expiration: new Date(Date.now() + 3_600_000).toISOString(),
          realm_user_id: `${known.identity}@example.com`,
          identity: known.identity,
          roles: ['agent'],
          worker_sid: known.workerSid,
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    get requests() {
      return state.requests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

/** Everything one test file needs, started once. */
export interface World {
  emu: Emulator;
  receiver: Receiver;
  /** What the receiver saw: streams that connected and recordings that completed. */
  received: { started: StreamStartedEvent[]; stopped: StreamStoppedEvent[] };
  tokens: Awaited<ReturnType<typeof startTokenService>>;
  dataDir: string;
  port: number;
  publicUrl: string;
  workers: { alice: string; bob: string };
  service: RunningService;
  /**
   * Starts a new service process state on the same data dir and port (a restart); `whileDown`
   * runs between the stop and the start (what happens while no controller listens).
   */
  restart(whileDown?: () => Promise<void>): Promise<RunningService>;
  close(): Promise<void>;
}

/**
 * Starts emulator, receiver, token service and the service (`rest`, customer leg unless `env`
 * overrides it: any service variable, e.g. `FLEX_STREAMS_STRATEGY`, `FLEX_STREAMS_LEG`). With
 * `flex`, the service reads the emulator's workspace and validates tokens at the emulator.
 */
export async function startWorld(
  env: Readonly<Record<string, string>> = {},
  options: { flex?: boolean } = {},
): Promise<World> {
  const emu = await startEmulator();
  const dataDir = await mkdtemp(join(tmpdir(), 'fs-service-'));
  const receiver = await startReceiver({
    recordingsDir: join(dataDir, 'recordings'),
    authToken: emu.authToken,
  });
  const received: World['received'] = { started: [], stopped: [] };
  receiver.events.on('streamStarted', (event) => received.started.push(event));
  receiver.events.on('streamStopped', (event) => received.stopped.push(event));
  const workers = { alice: sid('WK'), bob: sid('WK') };
  const tokens = await startTokenService(emu.accountSid, emu.authToken, {
    'token-alice': { identity: 'alice', workerSid: workers.alice },
    'token-bob': { identity: 'bob', workerSid: workers.bob },
    'token-supervisor': { identity: 'sup', workerSid: null },
  });
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = loadServiceConfig({
    TWILIO_ACCOUNT_SID: emu.accountSid,
    TWILIO_AUTH_TOKEN: emu.authToken,
    TWILIO_API_BASE_URL: emu.url,
    FLEX_STREAMS_STREAM_URL: receiver.url,
    FLEX_STREAMS_PUBLIC_URL: publicUrl,
    FLEX_STREAMS_PORT: String(port),
    FLEX_STREAMS_DATA_DIR: join(dataDir, 'data'),
    FLEX_STREAMS_FLEX_TOKEN_VALIDATION: 'http',
    FLEX_STREAMS_FLEX_TOKEN_URL: tokens.url,
    FLEX_STREAMS_CORS_ORIGINS: 'https://flex.twilio.com',
    // The real Flex flow: the emulator's workspace (reservations checked with TaskRouter) and its
    // token validation endpoint (tokens from `emu.taskrouter.issueToken`).
    ...(options.flex === true
      ? {
          TWILIO_WORKSPACE_SID: emu.state().taskrouter.workspace.sid,
          FLEX_STREAMS_FLEX_TOKEN_URL: emu.url,
        }
      : {}),
    ...env,
  });
  const logger = pino({ level: 'silent' });
  // Without `flex`, tokens name workers the emulator's TaskRouter does not know: the service runs
  // without TaskRouter reads (the first plugin start binds a reservation), as an embedder may.
  const start = () =>
    startService(config, {
      logger,
      registry: new Registry(),
      ...(options.flex === true ? {} : { taskRouter: null }),
    });
  let first: RunningService;
  try {
    first = await start();
  } catch (error) {
    // A service that cannot start leaves nothing running behind it.
    await emu.close();
    await receiver.close();
    await tokens.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const world: World = {
    emu,
    receiver,
    received,
    tokens,
    dataDir,
    port,
    publicUrl,
    workers,
    service: first,
    async restart(whileDown) {
      await world.service.close();
      await whileDown?.();
      world.service = await start();
      return world.service;
    },
    async close() {
      await world.service.close();
      await emu.close();
      await receiver.close();
      await tokens.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return world;
}

/** A customer and an agent in the conference named after a fresh task SID (as Flex builds it). */
export async function callInConference(
  emu: Emulator,
): Promise<{ customerCallSid: string; agentCallSid: string; taskSid: string }> {
  const taskSid = sid('WT');
  const twiml = `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`;
  const { callSid: customerCallSid } = await emu.placeInboundCall({
    from: '+15550001001',
    to: '+15550002002',
    twiml,
  });
  const { callSid: agentCallSid } = await emu.placeInboundCall({
    from: 'client:alice',
    to: '+15550002002',
    twiml,
  });
  await waitFor(
    () => emu.state().conferences.find((c) => c.friendlyName === taskSid),
    (c) => c?.status === 'in-progress' && c.participants.length === 2,
    `conference ${taskSid} with customer and agent`,
  );
  return { customerCallSid, agentCallSid, taskSid };
}

/** The form TaskRouter posts for a reservation event (twilio-facts §7 field names). */
export function reservationEvent(
  eventType: string,
  ids: { taskSid: string; reservationSid: string; workerSid: string; customerCallSid: string },
  accountSid: string,
): Record<string, string> {
  return {
    EventType: eventType,
    AccountSid: accountSid,
    WorkspaceSid: `WS${'1'.repeat(32)}`,
    WorkspaceName: 'flex',
    EventDescription: `Reservation ${ids.reservationSid} ${eventType}`,
    ResourceType: 'reservation',
    ResourceSid: ids.reservationSid,
    Timestamp: String(Math.floor(Date.now() / 1000)),
    TaskSid: ids.taskSid,
    TaskAttributes: JSON.stringify({ call_sid: ids.customerCallSid, direction: 'inbound' }),
    TaskQueueSid: `WQ${'2'.repeat(32)}`,
    WorkflowSid: `WW${'3'.repeat(32)}`,
    ReservationSid: ids.reservationSid,
    WorkerSid: ids.workerSid,
    WorkerName: 'agent',
  };
}

/** POSTs a form to the service, signed as Twilio signs it unless `signature` is given. */
export async function postSigned(
  world: World,
  path: string,
  form: Record<string, string>,
  options: { signature?: string; authToken?: string } = {},
): Promise<Response> {
  const signature =
    options.signature ??
    twilioSignature(options.authToken ?? world.emu.authToken, world.publicUrl + path, form);
  return fetch(world.service.url + path, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      ...(signature === '' ? {} : { 'X-Twilio-Signature': signature }),
    },
    body: new URLSearchParams(form).toString(),
  });
}

/** The JSON error answer of the service. */
export interface ErrorAnswer {
  error: { code: string; message: string; twilioCode?: number };
}

/** The segments `GET /v1/calls/:callSid` answers for a call (none when it is unknown). */
export async function segmentsOf(world: World, callSid: string): Promise<Segment[]> {
  const response = await fetch(`${world.service.url}/v1/calls/${callSid}`);
  if (response.status === 404) return [];
  return ((await response.json()) as { segments: Segment[] }).segments;
}

/** A plugin API request (`/v1/plugin/segments/{action}`) with the agent's Flex token. */
export function plugin(
  world: World,
  action: string,
  body: unknown,
  token: string,
): Promise<Response> {
  return fetch(`${world.service.url}/v1/plugin/segments/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/**
 * The service alone on `dataDir` (its file store), with the core's fake Twilio, no TaskRouter and
 * no reconciler pass (the fake knows none of the stored calls and would end them): for tests of
 * what the service does with its data directory. `env` adds or overrides variables.
 */
export function startOnDataDir(
  dataDir: string,
  env: Readonly<Record<string, string>> = {},
): Promise<RunningService> {
  const config = loadServiceConfig({
    TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
    TWILIO_AUTH_TOKEN: 'auth-token',
    FLEX_STREAMS_STREAM_URL: 'wss://receiver.example.com/media',
    FLEX_STREAMS_PUBLIC_URL: 'https://controller.example.com',
    FLEX_STREAMS_PORT: '0',
    FLEX_STREAMS_DATA_DIR: dataDir,
    FLEX_STREAMS_RECONCILE_INTERVAL_MS: '0',
    ...env,
  });
  return startService(config, {
    logger: pino({ level: 'silent' }),
    voice: createFakeVoice(),
    taskRouter: null,
    tokens: { validate: () => Promise.reject(new Error('no Flex tokens in this test')) },
  });
}
