/**
 * The whole of flex-streams on the in-process Twilio emulator: the emulator (Voice, Media Streams,
 * TaskRouter and Flex), the receiver recording into a folder, and the controller service on a
 * data directory, all on 127.0.0.1 with ports from the OS. The workspace's EventCallbackUrl points
 * at the controller (twilio-facts §7) when the TaskRouter driver is on, set through the official
 * SDK as an operator would (packages/server/README.md "Pointing a real TaskRouter workspace at it").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { emulatorHttpClient, startEmulator, type Emulator } from '@flex-streams/emulator';
import { startReceiver, type Receiver } from '@flex-streams/receiver';
import {
  CALL_STATUS_PATH,
  CONFERENCE_STATUS_PATH,
  loadServiceConfig,
  startService,
  TASKROUTER_EVENTS_PATH,
  type RunningService,
  type ServiceConfig,
} from '@flex-streams/server';
import { pino, type Logger } from 'pino';
import twilio from 'twilio';

/** How the controller starts and stops streams (packages/core README "Strategies"). */
export type Strategy = 'rest' | 'twiml';
/** Which call leg is streamed. */
export type Leg = 'customer' | 'worker';
/**
 * Who tells the controller about accepts and wrap-ups: TaskRouter's workspace event callbacks,
 * the Flex plugin API (the agent's browser, with the agent's Flex token), or both at once (issue 5:
 * together they never make two streams for one segment).
 */
export type Driver = 'taskrouter' | 'plugin' | 'both';

/** Options of {@link startStack}. */
export interface StackOptions {
  readonly strategy: Strategy;
  readonly leg: Leg;
  readonly driver: Driver;
  /** Where recordings go; default a fresh temporary folder, removed by `close()`. */
  readonly recordingsDir?: string;
  /** Logs of every component (default silent). */
  readonly logger?: Logger;
  /**
   * Extra controller variables (packages/server README "Configuration"), applied last: lets a
   * test run the controller misconfigured on purpose and see the checks fail.
   */
  readonly serviceEnv?: Readonly<Record<string, string>>;
}

/** A running stack. */
export interface Stack {
  readonly options: StackOptions;
  readonly emulator: Emulator;
  readonly receiver: Receiver;
  /** The controller service now running (replaced by `restartController`). */
  readonly service: RunningService;
  readonly recordingsDir: string;
  readonly dataDir: string;
  /** Stops the controller and starts a new one on the same data directory and port. */
  restartController(): Promise<void>;
  /** Closes controller, emulator (every stream sends `stop`) and receiver; removes temp folders. */
  close(): Promise<void>;
}

/** Asks the OS for a free port: the controller must know its public URL before it listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const address = server.address();
  await new Promise<void>((done) => {
    server.close(() => {
      done();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}

/**
 * Starts emulator, receiver and controller service wired together for one scenario. The plugin
 * driver switches the TaskRouter driver off, so the plugin API alone must do the work (the plugin
 * API stays on with the TaskRouter driver: pause and resume only exist there).
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const dataDir = await mkdtemp(join(tmpdir(), 'fs-e2e-data-'));
  const ownRecordings = options.recordingsDir === undefined;
  const recordingsDir =
    options.recordingsDir === undefined
      ? await mkdtemp(join(tmpdir(), 'fs-e2e-recordings-'))
      : resolve(options.recordingsDir);
  const emulator = await startEmulator({ logger: logger.child({ component: 'emulator' }) });
  let receiver: Receiver | undefined;
  try {
    receiver = await startReceiver({
      recordingsDir,
      authToken: emulator.authToken,
      logger: logger.child({ component: 'receiver' }),
    });
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const config: ServiceConfig = loadServiceConfig({
      TWILIO_ACCOUNT_SID: emulator.accountSid,
      TWILIO_AUTH_TOKEN: emulator.authToken,
      TWILIO_API_BASE_URL: emulator.url,
      // Lets the controller ask TaskRouter who owns a reservation (plugin API) and find an agent's
      // call leg (worker leg), as in production.
      TWILIO_WORKSPACE_SID: emulator.state().taskrouter.workspace.sid,
      FLEX_STREAMS_STREAM_URL: receiver.url,
      FLEX_STREAMS_PUBLIC_URL: publicUrl,
      FLEX_STREAMS_PORT: String(port),
      FLEX_STREAMS_DATA_DIR: dataDir,
      FLEX_STREAMS_STRATEGY: options.strategy,
      FLEX_STREAMS_LEG: options.leg,
      FLEX_STREAMS_TASKROUTER_DRIVER: options.driver === 'plugin' ? 'off' : 'on',
      FLEX_STREAMS_PLUGIN_API: 'on',
      // The emulator answers Twilio's token validation protocol (packages/emulator README).
      FLEX_STREAMS_FLEX_TOKEN_VALIDATION: 'http',
      FLEX_STREAMS_FLEX_TOKEN_URL: emulator.url,
      ...options.serviceEnv,
    });
    const controllerLogger = logger.child({ component: 'controller' });
    const start = (): Promise<RunningService> => startService(config, { logger: controllerLogger });
    let service = await start();
    // As the README's "Call end" asks of a deployment: the number's call status webhook and the
    // plugin's conference status callback point at the controller.
    emulator.updateSettings({
      inboundStatusCallback: publicUrl + CALL_STATUS_PATH,
      flexConferenceStatusCallback: publicUrl + CONFERENCE_STATUS_PATH,
      flexConferenceStatusCallbackEvent: ['join', 'leave', 'end'],
    });
    if (options.driver !== 'plugin') {
      const client = twilio(emulator.accountSid, emulator.authToken, {
        httpClient: emulatorHttpClient(emulator.url),
      });
      await client.taskrouter.v1
        .workspaces(emulator.state().taskrouter.workspace.sid)
        .update({ eventCallbackUrl: publicUrl + TASKROUTER_EVENTS_PATH });
    }
    const running = receiver;
    return {
      options,
      emulator,
      receiver: running,
      get service() {
        return service;
      },
      recordingsDir,
      dataDir,
      async restartController() {
        await service.close();
        service = await start();
      },
      async close() {
        await service.close();
        await emulator.close();
        await running.close();
        await rm(dataDir, { recursive: true, force: true });
        if (ownRecordings) await rm(recordingsDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await emulator.close();
    await receiver?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
