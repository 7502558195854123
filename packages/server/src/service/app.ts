/**
 * The controller's HTTP adapter on Fastify (style §1, §2): each route parses its input, calls one
 * use case of the core's `StreamController`, and answers. Webhooks (TaskRouter events, stream
 * status callbacks) are checked with `X-Twilio-Signature`; the Flex plugin API with the agent's
 * Flex token. Errors are translated in one handler (`http-errors.ts`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import {
  applyCommand,
  conferenceOfAttributes,
  createFsError,
  isSid,
  parseCallStatusCallback,
  parseConferenceStatusCallback,
  parseStreamStatusCallback,
  parseTaskRouterEvent,
  type ControllerCommand,
  type ReservationAcceptedInput,
  type SegmentStore,
  type StreamController,
  type TaskRouterPort,
  type UseCaseResult,
  FS_ERRORS,
} from '@flex-streams/core';
import type {
  FlexTokenIdentity,
  FlexTokenValidator,
  WebhookParams,
  WebhookSignatureValidator,
} from '@flex-streams/twilio';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerDashboard } from '@flex-streams/dashboard';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { ServiceError } from './errors.js';
import { toErrorAnswer } from './http-errors.js';
import { createServiceMetrics } from './metrics.js';

/** The path of the TaskRouter workspace `EventCallbackUrl`. */
export const TASKROUTER_EVENTS_PATH = '/v1/taskrouter/events';
/**
 * Call status callbacks: a phone number's "call status changes" webhook for customer calls (or
 * the `statusCallback` of agents' legs). A final status ends the call's (the agent's) segments.
 */
export const CALL_STATUS_PATH = '/v1/calls/status';
/**
 * Conference status callbacks, asked for by the Flex plugin on accept
 * (`conferenceOptions.conferenceStatusCallback`, events `leave end`).
 */
export const CONFERENCE_STATUS_PATH = '/v1/conferences/status';
/** The path of the plugin API (`/start`, `/stop`, `/prepare-transfer`, `/pause`, `/resume`). */
export const PLUGIN_PATH = '/v1/plugin/segments';

/** What the HTTP adapter needs: the use cases, the store (read-only), validators, metrics. */
export interface ServiceAppDeps {
  controller: StreamController;
  /** Read only, to check which worker a reservation's segment belongs to. */
  store: SegmentStore;
  /**
   * TaskRouter reads: who a reservation belongs to (plugin API ownership). Null when no workspace
   * is configured: the first plugin `start` then binds the reservation to the token's worker.
   */
  taskRouter: TaskRouterPort | null;
  logger: Logger;
  registry: Registry;
  /**
   * Finds the agent's own call leg of a TaskRouter accept (the event has no agent CallSid), given
   * the event's `TaskAttributes`; null unless the configured leg is `worker`.
   */
  workerLeg:
    ((input: ReservationAcceptedInput, attributes: unknown) => Promise<string | null>) | null;
  /** Webhook signatures; null when no auth token is configured (webhook routes are then off). */
  signatures: WebhookSignatureValidator | null;
  /** The agents' Flex tokens; null switches the plugin API off. */
  tokens: FlexTokenValidator | null;
  drivers: Readonly<{ taskRouter: boolean; pluginApi: boolean }>;
  /** Origins allowed to call the plugin API from a browser. */
  corsOrigins: readonly string[];
  /** Where the status callback route is served (the path of the configured status callback URL). */
  streamStatusPath: string;
  /** `Authorization: Bearer` token of the operator endpoints (`/v1/calls/…`, `/metrics`), or null. */
  adminToken?: string | null;
  /** Serve the operator dashboard page (`GET /dashboard`, its script and style sheet). */
  dashboard: boolean;
}

/** The service app plus what it runs in the background (webhook use cases). */
export interface ServiceApp {
  readonly app: FastifyInstance;
  /** Resolves once every use case started by a webhook so far has settled. */
  idle(): Promise<void>;
}

/** At most this many calls in one `GET /v1/calls` answer. */
const MAX_LISTED_CALLS = 500;

/** How often (and how far apart) a plugin `start`'s worker leg is looked for in the conference. */
const WORKER_LEG_CHECKS = 10;
const WORKER_LEG_CHECK_INTERVAL_MS = 200;

const sid = (prefix: string) =>
  z.string().refine((v) => isSid(v, prefix), {
    error: `must be a Twilio SID starting with ${prefix} followed by 32 hex digits`,
  });
const shortText = z.string().min(1).max(200);

/** Bodies of the plugin API (JSON or form; unknown fields are ignored). */
const PLUGIN_BODIES = {
  start: z.object({
    reservationSid: sid('WR'),
    taskSid: sid('WT'),
    customerCallSid: sid('CA'),
    conferenceSid: sid('CF').optional(),
    workerCallSid: sid('CA').optional(),
  }),
  stop: z.object({
    reservationSid: sid('WR'),
    event: z.enum(['wrapup', 'completed']).optional(),
  }),
  'prepare-transfer': z.object({ reservationSid: sid('WR') }),
  pause: z.object({
    reservationSid: sid('WR'),
    reason: shortText.optional(),
    idempotencyKey: shortText.optional(),
  }),
  resume: z.object({
    reservationSid: sid('WR'),
    reason: shortText.optional(),
    idempotencyKey: shortText.optional(),
  }),
} as const;

type PluginAction = keyof typeof PLUGIN_BODIES;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Zod's optional fields carry `undefined`; the core's inputs are exact-optional. */
type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };

function parseBody<T extends object>(
  schema: z.ZodType<T>,
  body: unknown,
  what: string,
): Defined<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) {
    return Object.fromEntries(
      Object.entries(parsed.data).filter(([, value]) => value !== undefined),
    ) as Defined<T>;
  }
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`,
  );
  throw new ServiceError('FS_ERR_MALFORMED_BODY', `Invalid ${what}: ${problems.join('; ')}`);
}

/** The form as `X-Twilio-Signature` sees it: strings or arrays of strings only. */
function webhookParams(body: unknown): WebhookParams {
  if (body === undefined || body === null) return {};
  if (!isRecord(body)) {
    throw new ServiceError('FS_ERR_MALFORMED_BODY', 'A webhook body must be a form');
  }
  const params: Record<string, string | readonly string[]> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') params[key] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      params[key] = value;
    } else {
      throw new ServiceError('FS_ERR_MALFORMED_BODY', `Form field ${key} is not text`);
    }
  }
  return params;
}

/** The Flex token: the `Token` field (as Flex's own Functions take it) or `Authorization: Bearer`. */
function flexToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] !== undefined) return match[1];
  }
  const body: unknown = request.body;
  if (isRecord(body) && typeof body.Token === 'string' && body.Token !== '') return body.Token;
  throw new ServiceError(
    'FS_ERR_BAD_TOKEN',
    "No Flex token: send the agent's token as the Token field or as Authorization: Bearer " +
      '(twilio-facts §6; the Flex UI has it in manager.user.token)',
  );
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function useCaseName(command: ControllerCommand): string {
  return command.kind === 'not-handled' ? 'not-handled' : command.kind;
}

/**
 * Builds the Fastify app (not listening). Routes of a switched-off driver are not registered and
 * answer 404 `FS_ERR_ROUTE_NOT_FOUND`.
 */
export async function createServiceApp(deps: ServiceAppDeps): Promise<ServiceApp> {
  const { controller, logger } = deps;
  const metrics = createServiceMetrics(deps.registry);
  // Fastify's own logger stays off: every line this service logs goes through `logger`.
  const app = Fastify({ logger: false });
  await app.register(formbody);

  // Webhook use cases run after the answer (Twilio waits at most 15 s for a webhook, facts §7,
  // and a use case may retry Twilio with backoff for longer); close() waits for them.
  const background = new Set<Promise<void>>();
  function runInBackground(
    endpoint: string,
    parsed: ControllerCommand,
    prepare: (command: ControllerCommand) => Promise<ControllerCommand> = (c) => Promise.resolve(c),
  ): void {
    let command = parsed;
    const task = prepare(parsed)
      .then((prepared) => {
        command = prepared;
        return applyCommand(controller, prepared);
      })
      .then(
        (result) => {
          metrics.useCaseOutcomes.inc({
            use_case: useCaseName(command),
            outcome: result?.outcome ?? 'not-handled',
          });
          logger.info(
            { endpoint, command: command.kind, outcome: result?.outcome, detail: result?.detail },
            `${endpoint}: ${result === null ? 'event not handled' : result.detail}`,
          );
        },
        (error: unknown) => {
          metrics.useCaseOutcomes.inc({ use_case: useCaseName(command), outcome: 'error' });
          logger.error(
            { endpoint, command: command.kind, err: error },
            `${endpoint}: use case failed`,
          );
        },
      );
    background.add(task);
    void task.finally(() => background.delete(task));
  }
  async function idle(): Promise<void> {
    while (background.size > 0) await Promise.allSettled([...background]);
  }
  app.addHook('onClose', async () => {
    await idle();
  });

  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    });
    done();
  });

  app.setErrorHandler(async (error, request, reply) => {
    const answer = toErrorAnswer(error);
    if (answer.internal) {
      logger.error({ err: error, url: request.url }, 'request failed unexpectedly');
    } else {
      logger.info(
        { url: request.url, code: answer.body.error.code, status: answer.status },
        answer.body.error.message,
      );
    }
    metrics.rejections.inc({
      endpoint: request.routeOptions.url ?? 'unmatched',
      code: answer.body.error.code,
    });
    return reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    const answer = toErrorAnswer(
      new ServiceError(
        'FS_ERR_ROUTE_NOT_FOUND',
        `No endpoint ${request.method} ${request.url.split('?')[0] ?? ''} (a switched-off driver's routes are not served; see packages/server/README.md)`,
      ),
    );
    return reply.code(answer.status).send(answer.body);
  });

  function checkSignature(request: FastifyRequest): void {
    if (deps.signatures === null) {
      throw new ServiceError('FS_ERR_BAD_SIGNATURE', 'Webhook signatures cannot be checked');
    }
    const validation = deps.signatures.validate({
      pathAndQuery: request.url,
      signature: request.headers['x-twilio-signature'],
      params: webhookParams(request.body),
    });
    if (!validation.valid) throw new ServiceError('FS_ERR_BAD_SIGNATURE', validation.message);
  }

  /**
   * The worker leg needs the agent's CallSid, which `reservation.accepted` lacks (twilio-facts §7):
   * it is looked up (bounded) before the use case runs. Not found: the accept goes on without it
   * and the core refuses it (logged), so nothing streams on a leg that is not the agent's.
   */
  async function withWorkerLeg(
    command: ControllerCommand,
    attributes: unknown,
  ): Promise<ControllerCommand> {
    if (
      deps.workerLeg === null ||
      command.kind !== 'reservation-accepted' ||
      command.input.workerCallSid !== undefined
    ) {
      return command;
    }
    const workerCallSid = await deps.workerLeg(command.input, attributes);
    if (workerCallSid === null) {
      logger.warn(
        { taskSid: command.input.taskSid, reservationSid: command.input.reservationSid },
        "taskrouter: the agent's call leg could not be found; no stream for this accept",
      );
      return command;
    }
    return { ...command, input: { ...command.input, workerCallSid } };
  }

  /** Operator endpoints name calls, agents and tasks: with an admin token, only its holder reads. */
  function checkAdmin(request: FastifyRequest): void {
    const expected = deps.adminToken ?? null;
    if (expected === null) return;
    const header = request.headers.authorization;
    const given = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (given === undefined || !sameSecret(given, expected)) {
      throw new ServiceError(
        'FS_ERR_ADMIN_TOKEN',
        'This operator endpoint needs Authorization: Bearer <FLEX_STREAMS_ADMIN_TOKEN>',
      );
    }
  }

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));
  // The page is public (it holds no data); the data it shows comes from the guarded endpoints.
  if (deps.dashboard) registerDashboard(app);
  app.get('/metrics', async (request, reply) => {
    checkAdmin(request);
    const text = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(text);
  });

  /** The live calls (a segment not ended), oldest first, each with its segments: what an operator watches. */
  app.get<{ Querystring: { limit?: string } }>('/v1/calls', async (request) => {
    checkAdmin(request);
    const raw = request.query.limit;
    const limit = raw === undefined ? MAX_LISTED_CALLS : /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LISTED_CALLS) {
      throw createFsError(
        'FS_ERR_INVALID_INPUT',
        `limit must be an integer from 1 to ${MAX_LISTED_CALLS}; got ${JSON.stringify(raw)}`,
      );
    }
    const live = await controller.liveCalls();
    const calls = [];
    for (const callSid of live.slice(0, limit)) {
      calls.push({ callSid, segments: await controller.segmentsOfCall(callSid) });
    }
    return { live: live.length, calls };
  });

  app.get<{ Params: { callSid: string } }>('/v1/calls/:callSid', async (request) => {
    checkAdmin(request);
    const { callSid } = request.params;
    if (!isSid(callSid, 'CA')) {
      throw createFsError(
        'FS_ERR_INVALID_INPUT',
        `callSid must be a CA… SID; got ${JSON.stringify(callSid)}`,
      );
    }
    const segments = await controller.segmentsOfCall(callSid);
    if (segments.length === 0) {
      throw new ServiceError(
        'FS_ERR_CALL_NOT_FOUND',
        `No segment of call ${callSid} is known here`,
      );
    }
    return { callSid, segments };
  });

  if (deps.signatures !== null) {
    app.post(deps.streamStatusPath, async (request, reply) => {
      checkSignature(request);
      runInBackground('stream status', parseStreamStatusCallback(webhookParams(request.body)));
      return reply.code(204).send();
    });
  }

  if (deps.signatures !== null) {
    // Drivers of a call's end, whichever drivers start streams: they are what tells a segment
    // with no stream running (paused, deferred, failed to start) that its call is over.
    app.post(CALL_STATUS_PATH, async (request, reply) => {
      checkSignature(request);
      runInBackground('call status', parseCallStatusCallback(webhookParams(request.body)));
      return reply.code(204).send();
    });
    app.post(CONFERENCE_STATUS_PATH, async (request, reply) => {
      checkSignature(request);
      runInBackground(
        'conference status',
        parseConferenceStatusCallback(webhookParams(request.body)),
      );
      return reply.code(204).send();
    });
  }

  if (deps.drivers.taskRouter && deps.signatures !== null) {
    app.post(TASKROUTER_EVENTS_PATH, async (request, reply) => {
      checkSignature(request);
      const params = webhookParams(request.body);
      runInBackground('taskrouter', parseTaskRouterEvent(params), (command) =>
        withWorkerLeg(command, params.TaskAttributes),
      );
      return reply.code(204).send();
    });
  }

  if (deps.drivers.pluginApi && deps.tokens !== null) {
    registerPluginApi(app, deps, deps.tokens, (action, result) => {
      metrics.useCaseOutcomes.inc({ use_case: action, outcome: result.outcome });
    });
  }

  return { app, idle };
}

function registerPluginApi(
  app: FastifyInstance,
  deps: ServiceAppDeps,
  tokens: FlexTokenValidator,
  count: (action: string, result: UseCaseResult) => void,
): void {
  const { controller, store } = deps;
  const allowed = new Set(deps.corsOrigins);

  /**
   * CORS (the Flex UI runs on https://flex.twilio.com and calls us from the browser). Requests
   * without an Origin header (curl, servers) are not browser requests and are let through: the
   * token is the authentication, CORS only keeps other web pages' scripts out.
   */
  function cors(request: FastifyRequest, reply: FastifyReply): void {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    if (!allowed.has(origin)) {
      throw new ServiceError(
        'FS_ERR_ORIGIN_NOT_ALLOWED',
        `Origin ${origin} may not call the plugin API; add it to FLEX_STREAMS_CORS_ORIGINS`,
      );
    }
    void reply
      .header('Access-Control-Allow-Origin', origin)
      .header('Vary', 'Origin')
      .header('Access-Control-Allow-Credentials', 'false');
  }

  app.options(`${PLUGIN_PATH}/*`, async (request, reply) => {
    cors(request, reply);
    return reply
      .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
      .header('Access-Control-Allow-Headers', 'Content-Type, Authorization')
      .header('Access-Control-Max-Age', '600')
      .code(204)
      .send();
  });

  async function workerOf(request: FastifyRequest): Promise<string> {
    const identity: FlexTokenIdentity = await tokens.validate(flexToken(request));
    if (identity.workerSid === null || !isSid(identity.workerSid, 'WK')) {
      throw new ServiceError(
        'FS_ERR_NOT_A_WORKER',
        `The Flex user ${identity.identity} is not a TaskRouter worker, so has no reservation to act on`,
      );
    }
    return identity.workerSid;
  }

  /**
   * A worker may act only on segments of their own reservations: the segment of `reservationSid`
   * (null when there is none yet) after checking it belongs to `workerSid`.
   */
  async function segmentOwnedBy(reservationSid: string, workerSid: string) {
    const segment = await store.getByReservation(reservationSid);
    if (segment !== null && segment.workerSid !== workerSid) {
      throw createFsError(
        'FS_ERR_NOT_SEGMENT_OWNER',
        `Reservation ${reservationSid} belongs to another worker`,
      );
    }
    return segment;
  }

  /** A TaskRouter read; a failure is 503 `FS_ERR_TASKROUTER_UNAVAILABLE` naming `what`. */
  async function askTaskRouter<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw new ServiceError(
        'FS_ERR_TASKROUTER_UNAVAILABLE',
        `Could not check ${what} with TaskRouter: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Before a segment exists, the store cannot tell whose reservation it is: TaskRouter can. The
   * reservation (`FetchTaskReservation`) must be the token's worker's (else 403) and `accepted`
   * (else 409: a wrapped-up agent starts nothing), and the calls the request names must be the
   * task's (`FetchTask`: `call_sid`, `conference.sid`; the worker leg a participant of that
   * conference other than the customer), else 403: an agent never streams someone else's call.
   * An unknown task or reservation is 404. Nothing is recorded in any of these cases.
   */
  async function startAllowed(
    input: { taskSid: string; reservationSid: string; customerCallSid: string } & {
      conferenceSid?: string;
      workerCallSid?: string;
    },
    workerSid: string,
  ): Promise<void> {
    const taskRouter = deps.taskRouter;
    if (taskRouter === null) return;
    const { taskSid, reservationSid } = input;
    const reservation = await askTaskRouter(`reservation ${reservationSid}`, () =>
      taskRouter.fetchReservation(taskSid, reservationSid),
    );
    if (reservation === null) {
      throw new ServiceError(
        'FS_ERR_RESERVATION_NOT_FOUND',
        `TaskRouter knows no reservation ${reservationSid} of task ${taskSid} in this workspace`,
      );
    }
    if (reservation.workerSid !== workerSid) {
      throw createFsError(
        'FS_ERR_NOT_SEGMENT_OWNER',
        `Reservation ${reservationSid} belongs to another worker`,
      );
    }
    if (reservation.status !== 'accepted') {
      throw new ServiceError(
        'FS_ERR_RESERVATION_NOT_ACCEPTED',
        `Reservation ${reservationSid} is ${reservation.status} in TaskRouter, not accepted: no stream starts for it`,
      );
    }
    const attributes = await askTaskRouter(`task ${taskSid}`, () =>
      taskRouter.fetchTaskAttributes(taskSid),
    );
    const callOfTask = isRecord(attributes) ? attributes.call_sid : undefined;
    if (callOfTask !== input.customerCallSid) {
      throw new ServiceError(
        'FS_ERR_CALL_NOT_OF_TASK',
        `Call ${input.customerCallSid} is not the customer call of task ${taskSid}`,
      );
    }
    const known = conferenceOfAttributes(attributes);
    if (
      input.conferenceSid !== undefined &&
      known.conferenceSid !== null &&
      input.conferenceSid !== known.conferenceSid
    ) {
      throw new ServiceError(
        'FS_ERR_CALL_NOT_OF_TASK',
        `Conference ${input.conferenceSid} is not the conference of task ${taskSid}`,
      );
    }
    const workerCallSid = input.workerCallSid;
    if (workerCallSid === undefined) return;
    const conferenceSid = known.conferenceSid ?? input.conferenceSid ?? null;
    if (workerCallSid === input.customerCallSid || conferenceSid === null) {
      throw new ServiceError(
        'FS_ERR_CALL_NOT_OF_TASK',
        workerCallSid === input.customerCallSid
          ? 'workerCallSid is the customer call, not an agent leg'
          : `No conference is known for task ${taskSid}, so worker leg ${workerCallSid} cannot be checked: send conferenceSid`,
      );
    }
    // The agent's leg may still be connecting right after the accept: looked for, bounded.
    for (let attempt = 1; ; attempt += 1) {
      const participants = await askTaskRouter(`conference ${conferenceSid}`, () =>
        taskRouter.listParticipants(conferenceSid),
      );
      if (participants.some((p) => p.callSid === workerCallSid)) return;
      if (attempt >= WORKER_LEG_CHECKS) break;
      await new Promise((resolve) => setTimeout(resolve, WORKER_LEG_CHECK_INTERVAL_MS));
    }
    throw new ServiceError(
      'FS_ERR_CALL_NOT_OF_TASK',
      `Call ${workerCallSid} is not a participant of conference ${conferenceSid} of task ${taskSid}`,
    );
  }

  const actions: Record<
    PluginAction,
    (body: unknown, workerSid: string) => Promise<UseCaseResult>
  > = {
    async start(body, workerSid) {
      const input = parseBody(PLUGIN_BODIES.start, body, 'start request');
      await segmentOwnedBy(input.reservationSid, workerSid);
      await startAllowed(input, workerSid);
      // The stream URL never comes from the client: the core's config holds it.
      return controller.reservationAccepted({ ...input, workerSid });
    },
    async stop(body, workerSid) {
      const input = parseBody(PLUGIN_BODIES.stop, body, 'stop request');
      const segment = await segmentOwnedBy(input.reservationSid, workerSid);
      if (segment === null) {
        // Never record an end for a reservation nobody accepted: it would block a later accept.
        throw createFsError(
          'FS_ERR_SEGMENT_NOT_FOUND',
          `Reservation ${input.reservationSid} has no segment here (never accepted)`,
        );
      }
      return controller.reservationEnded({
        reservationSid: segment.reservationSid,
        taskSid: segment.taskSid,
        workerSid,
        customerCallSid: segment.customerCallSid,
        event: input.event ?? 'wrapup',
      });
    },
    async 'prepare-transfer'(body, workerSid) {
      const input = parseBody(PLUGIN_BODIES['prepare-transfer'], body, 'prepare-transfer request');
      return controller.prepareTransfer({ ...input, actorWorkerSid: workerSid });
    },
    async pause(body, workerSid) {
      const input = parseBody(PLUGIN_BODIES.pause, body, 'pause request');
      return controller.pause({ ...input, actorWorkerSid: workerSid });
    },
    async resume(body, workerSid) {
      const input = parseBody(PLUGIN_BODIES.resume, body, 'resume request');
      return controller.resume({ ...input, actorWorkerSid: workerSid });
    },
  };

  for (const [action, run] of Object.entries(actions)) {
    app.post(`${PLUGIN_PATH}/${action}`, async (request, reply) => {
      cors(request, reply);
      const workerSid = await workerOf(request);
      const result = await run(request.body, workerSid);
      count(action, result);
      const body = { outcome: result.outcome, detail: result.detail, segments: result.segments };
      if (result.outcome === 'failed' && result.error !== undefined) {
        // The change was recorded but Twilio (or protection) failed: our code plus Twilio's.
        const { code, message, twilioCode } = result.error;
        return reply.code(FS_ERRORS[code].status).send({
          ...body,
          error: { code, message, ...(twilioCode === null ? {} : { twilioCode }) },
        });
      }
      return body;
    });
  }
}
