/**
 * Composition root of the controller service: builds the ports from the validated config (the
 * twilio SDK voice port, the file store, the system clock, pino, the validators), wires them into
 * the core's controller and the Fastify adapter, and listens.
 */
import {
  createSegmentIdGenerator,
  createStreamController,
  createSystemClock,
  resolveWorkerCallSid,
  type Clock,
  type ReservationAcceptedInput,
  type IdGenerator,
  type SegmentStore,
  type StreamController,
  type TaskRouterPort,
  type VoicePort,
} from '@flex-streams/core';
import {
  createFlexTokenValidator,
  createHttpFlexTokenValidator,
  createTwilioClient,
  createTwilioTaskRouterPort,
  createTwilioVoicePort,
  createWebhookSignatureValidator,
  discoverFlexWorkspace,
  type FlexTokenValidator,
} from '@flex-streams/twilio';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { STREAM_STATUS_PATH, type ServiceConfig } from '../config.js';
import { openFileSegmentStore, type FileSegmentStore } from '../store/file-store.js';
import { createServiceApp } from './app.js';
import { createServiceMetrics } from './metrics.js';
import { startPeriodic, type Periodic } from './periodic.js';
import { startReconciler, type Reconciler } from './reconciler.js';

/** Optional replacements of the ports `startService` builds from the config (tests, embedding). */
export interface ServiceDeps {
  /** Defaults to pino at `config.logLevel`, writing to stderr. */
  logger?: Logger;
  /** Share one registry with the receiver; defaults to a new one. */
  registry?: Registry;
  /** Defaults to the file store under `config.dataDir`. */
  store?: SegmentStore;
  /** Defaults to the twilio SDK voice port (pointed at `TWILIO_API_BASE_URL` when set). */
  voice?: VoicePort;
  /**
   * Defaults to the twilio SDK TaskRouter port in `config.twilio.workspaceSid`; when that is not
   * set and the plugin API or the worker leg needs TaskRouter, in the workspace found by
   * `discoverFlexWorkspace`. Pass null to run without TaskRouter reads.
   */
  taskRouter?: TaskRouterPort | null;
  /** Defaults to the validator chosen by `config.flexToken`. */
  tokens?: FlexTokenValidator;
  clock?: Clock;
  newId?: IdGenerator;
}

/** A running controller service. */
export interface RunningService {
  /** `http://host:port` it listens on (the local address, not the public URL). */
  readonly url: string;
  readonly controller: StreamController;
  readonly registry: Registry;
  /** The reconciler (its timer runs every `config.reconcileIntervalMs`; `runOnce` runs a pass now). */
  readonly reconciler: Reconciler;
  /** The Flex workspace TaskRouter reads go to (configured or discovered), or null. */
  readonly workspaceSid: string | null;
  /** Stops listening, waits for webhook use cases under way, and releases the port. */
  close(): Promise<void>;
}

/**
 * Starts the controller service: `POST /v1/taskrouter/events`, `POST /v1/streams/status`, the plugin
 * API under `/v1/plugin/segments/`, `GET /v1/calls/:callSid`, `/healthz` and `/metrics`. Resolves
 * once it listens. Throws `FS_ERR_STORE_CORRUPT` when a persisted call file cannot be read.
 */
export async function startService(
  config: ServiceConfig,
  deps: ServiceDeps = {},
): Promise<RunningService> {
  const logger =
    deps.logger ??
    pino({ level: config.logLevel, base: { component: 'controller' } }, pino.destination(2));
  const registry = deps.registry ?? new Registry();
  // The file store (the default) also keeps the retention; a given store is the caller's.
  let fileStore: FileSegmentStore | null = null;
  let store: SegmentStore;
  if (deps.store === undefined) {
    fileStore = await openFileSegmentStore({ dataDir: config.dataDir });
    store = fileStore;
  } else {
    store = deps.store;
  }
  let client: ReturnType<typeof createTwilioClient> | undefined;
  const twilioClient = () =>
    (client ??= createTwilioClient(
      config.twilio.credentials,
      config.twilio.apiBaseUrl === null ? {} : { apiBaseUrl: config.twilio.apiBaseUrl },
    ));
  const voice = deps.voice ?? createTwilioVoicePort(twilioClient());
  let workspaceSid = config.twilio.workspaceSid;
  const needsTaskRouter = config.drivers.pluginApi || config.controller.leg === 'worker';
  if (deps.taskRouter === undefined && workspaceSid === null && needsTaskRouter) {
    // The plugin API must ask TaskRouter whose a reservation is (an agent may act only on their
    // own), and the worker leg is found in the task: without a configured workspace, the
    // account's Flex workspace is looked up once, here. Failing is a clear start-up error.
    const found = await discoverFlexWorkspace(twilioClient());
    workspaceSid = found.sid;
    logger.info(
      { workspaceSid, friendlyName: found.friendlyName },
      'TWILIO_WORKSPACE_SID is not set: using the Flex workspace found on the account',
    );
  }
  const taskRouter =
    deps.taskRouter !== undefined
      ? deps.taskRouter
      : workspaceSid === null
        ? null
        : createTwilioTaskRouterPort(twilioClient(), { workspaceSid });
  if (taskRouter === null && config.drivers.pluginApi) {
    logger.warn(
      {},
      'no TaskRouter port: the plugin API cannot ask TaskRouter whose a reservation is, so the ' +
        "first start binds it to the token's worker",
    );
  }
  const clock = deps.clock ?? createSystemClock();
  const controller = createStreamController({
    voice,
    store,
    clock,
    logger,
    newId: deps.newId ?? createSegmentIdGenerator(),
    config: config.controller,
  });
  const signatures =
    config.twilio.authToken === null
      ? null
      : createWebhookSignatureValidator({
          authToken: config.twilio.authToken,
          publicBaseUrl: config.publicUrl,
        });
  const tokens =
    deps.tokens ??
    (config.flexToken.mode === 'http'
      ? createHttpFlexTokenValidator(config.twilio.credentials, {
          baseUrl: config.flexToken.baseUrl,
        })
      : createFlexTokenValidator(config.twilio.credentials));

  async function workerLeg(
    input: ReservationAcceptedInput,
    attributes: unknown,
  ): Promise<string | null> {
    // Legs of the call's other segments are never this agent's: a live one during a warm
    // transfer, and an ended one whose leg the task attributes may still name (Flex dials every
    // accepted reservation a new leg, even an agent the call comes back to).
    const otherLegs = (await store.listByCall(input.customerCallSid)).flatMap((segment) =>
      segment.reservationSid !== input.reservationSid && segment.workerCallSid !== null
        ? [segment.workerCallSid]
        : [],
    );
    return resolveWorkerCallSid(
      {
        taskRouter,
        findConference: (name) => voice.findInProgressConference(name),
        clock,
        logger,
      },
      {
        taskSid: input.taskSid,
        reservationSid: input.reservationSid,
        customerCallSid: input.customerCallSid,
        ...(input.conferenceSid === undefined ? {} : { conferenceSid: input.conferenceSid }),
        eventAttributes: attributes,
        otherLegs,
      },
    );
  }

  const { app } = await createServiceApp({
    controller,
    store,
    taskRouter,
    workerLeg: config.controller.leg === 'worker' ? workerLeg : null,
    logger,
    registry,
    signatures,
    tokens,
    drivers: config.drivers,
    corsOrigins: config.corsOrigins,
    // Served at the path itself: a proxy in front may strip the public URL's prefix, and the
    // signature check puts it back (publicUrl + the path the service saw).
    streamStatusPath: STREAM_STATUS_PATH,
    adminToken: config.adminToken,
    dashboard: config.dashboard,
  });
  const metrics = createServiceMetrics(registry);
  const reconciler = startReconciler({
    controller,
    logger,
    intervalMs: config.reconcileIntervalMs,
    onPass: (report) => {
      metrics.reconciledCalls.inc({ result: 'visited' }, report.calls);
      metrics.reconciledCalls.inc({ result: 'changed' }, report.changed);
      metrics.reconciledCalls.inc({ result: 'failed' }, report.failed);
    },
  });
  const retention =
    fileStore === null || config.retentionDays === 0
      ? null
      : startRetention(fileStore, config.retentionDays, clock, logger);
  app.addHook('onClose', async () => {
    await reconciler.stop();
    await retention?.stop();
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await reconciler.stop();
    await retention?.stop();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error('the controller service is not listening on a TCP port');
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    {
      url,
      publicUrl: config.publicUrl,
      strategy: config.controller.strategy,
      drivers: config.drivers,
      workspaceSid,
      reconcileIntervalMs: config.reconcileIntervalMs,
    },
    'controller service listening',
  );
  return {
    url,
    controller,
    registry,
    reconciler,
    workspaceSid,
    close: async () => {
      await app.close();
    },
  };
}

/** Retention is checked this often (and once at start-up). */
const RETENTION_CHECK_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Deletes the call files whose every segment ended more than `days` ago: at start-up, then every
 * hour. Failures are logged and tried again at the next check.
 */
function startRetention(
  store: FileSegmentStore,
  days: number,
  clock: Clock,
  logger: Logger,
): Periodic {
  return startPeriodic({
    intervalMs: RETENTION_CHECK_MS,
    immediately: true,
    run: async () => {
      try {
        const removed = await store.prune(clock.now() - days * DAY_MS);
        if (removed.length > 0) {
          logger.info(
            { removed: removed.length, retentionDays: days },
            `retention: removed the segments of ${removed.length} call(s) ended over ${days} day(s) ago`,
          );
        }
      } catch (error) {
        logger.error({ err: error }, 'retention: could not remove old call files');
      }
    },
  });
}
