import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import qs from 'qs';
import {
  BEEP_MS,
  PLAY_MS,
  SAY_MS_PER_CHAR,
  SOUNDS,
  VOICE_FREQUENCIES_HZ,
  partyVoice,
} from './audio/index.js';
import { registerControlRoutes, type ApiKeyStore } from './control/routes.js';
import {
  NO_SETTINGS,
  applySettings,
  callbackMethod,
  callbackUrl,
  settingsJson,
  type EmulatorSettings,
  type EmulatorSettingsInput,
} from './control/settings.js';
import { buildState, type EmulatorState } from './control/state.js';
import { ControlError, TwilioApiError, twilioErrors } from './errors.js';
import { EventLog, type EmulatorEvent } from './events.js';
import { absoluteUrl } from './http/params.js';
import { registerTwilioRoutes } from './http/twilio-routes.js';
import type {
  CallAudioSource,
  Clock,
  MediaStreamsClient,
  MediaStreamsListener,
} from './media/ports.js';
import { newSecret, newSid } from './model/ids.js';
import { CallModel, numberStatusCallback } from './model/model.js';
import { TaskRouterModel } from './taskrouter/model.js';
import { registerTaskRouterRoutes } from './taskrouter/routes.js';
import { taskRouterState } from './taskrouter/serialize.js';
import { createWebhookSender } from './webhooks/sender.js';

/**
 * Options of `startEmulator`. The settings keys (`inboundStatusCallback`,
 * `flexConferenceStatusCallback`… see `EmulatorSettingsInput`) are validated like
 * `POST /_emulator/settings`; a bad one makes `startEmulator` reject.
 */
export interface EmulatorOptions extends EmulatorSettingsInput {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Generated when omitted: `AC` + 32 hex digits. */
  accountSid?: string;
  /** Generated when omitted: 32 hex digits. */
  authToken?: string;
  /** Default: silent. */
  logger?: Logger;
  /** Seconds before an unanswered reservation times out (TaskRouter's default: 120). */
  reservationTimeoutS?: number;
}

/** Input of `Emulator.placeInboundCall` and `POST /_emulator/calls`. */
export interface InboundCallInput {
  readonly from: string;
  readonly to: string;
  /** Exactly one of `twiml` and `url`. */
  readonly twiml?: string;
  readonly url?: string;
  readonly voiceHz?: number;
  /**
   * Where the call's final status goes (the number's "Call status changes" webhook: final status
   * only); when absent, the emulator-wide `inboundStatusCallback`.
   */
  readonly statusCallback?: string;
  /** GET or POST (default POST). */
  readonly statusCallbackMethod?: 'GET' | 'POST';
}

/** A running emulator. */
export interface Emulator {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** Places an inbound call (a customer dialing in) that runs `twiml` or fetches `url`. */
  placeInboundCall(input: InboundCallInput): Promise<{ callSid: string }>;
  /** The party hangs up. */
  hangup(callSid: string): Promise<void>;
  /** The emulator-wide settings now (`GET /_emulator/settings` shows the same, as JSON). */
  settings(): EmulatorSettings;
  /**
   * Changes settings as `POST /_emulator/settings` does: each callback given is replaced whole,
   * `null` or `""` removes it. Throws a `ControlError` (400) and changes nothing on bad input.
   */
  updateSettings(input: EmulatorSettingsInput): EmulatorSettings;
  /** Same JSON as `GET /_emulator/state`. */
  state(): EmulatorState;
  /** Same JSON as `GET /_emulator/events?since=SEQ` (its `events` array). */
  events(sinceSeq?: number): EmulatorEvent[];
  /**
   * TaskRouter and Flex in process: the agent-desktop verbs (`createWorker`, `setActivity`,
   * `placeQueuedCall`, `accept`, `reject`, `transfer`, `completeTransfer`, `hold`, `hangup`,
   * `wrapup`, `complete`, `issueToken`, `updateWorkspace`) and the records behind them. Verbs Flex
   * would refuse throw a `ControlError` and change nothing.
   */
  readonly taskrouter: TaskRouterModel;
  /** Stops every stream (sending `stop`) and closes the server. */
  close(): Promise<void>;
}

/** The media engine factory; `index.ts` passes the real Media Streams client. */
export type MediaClientFactory = (deps: {
  audio: CallAudioSource;
  clock: Clock;
  listener: MediaStreamsListener;
  authToken: string;
  logger: Logger;
}) => MediaStreamsClient;

function parseBasicAuth(header: string | undefined): { user: string; pass: string } | null {
  if (header?.startsWith('Basic ') !== true) return null;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/** What an extension gets to build on: the server, the model and the event log. */
export interface ExtensionContext {
  readonly app: FastifyInstance;
  readonly model: CallModel;
  readonly events: EventLog;
  readonly accountSid: string;
  readonly authToken: string;
}

/**
 * Adds a resource family to the emulator (TaskRouter and Flex in later steps): its routes on `app`
 * (authenticated like every Twilio-shaped route, logged as `rest.request`), its reactions to the
 * model through `events.subscribe`, its own event types through `events.append`.
 */
export type EmulatorExtension = (context: ExtensionContext) => void | Promise<void>;

/** Starts the emulator on `host:port` with the given media engine and extensions. */
export async function startEmulatorWith(
  options: EmulatorOptions,
  createMediaClient: MediaClientFactory,
  extensions: readonly EmulatorExtension[] = [],
): Promise<Emulator> {
  const logger = options.logger ?? pino({ level: 'silent' });
  let settings = applySettings(NO_SETTINGS, {
    inboundStatusCallback: options.inboundStatusCallback,
    inboundStatusCallbackMethod: options.inboundStatusCallbackMethod,
    flexConferenceStatusCallback: options.flexConferenceStatusCallback,
    flexConferenceStatusCallbackMethod: options.flexConferenceStatusCallbackMethod,
    flexConferenceStatusCallbackEvent: options.flexConferenceStatusCallbackEvent,
  });
  const accountSid = options.accountSid ?? newSid('AC');
  const authToken = options.authToken ?? newSecret();
  if (!/^AC[0-9a-f]{32}$/i.test(accountSid))
    throw new Error(`accountSid must be AC + 32 hex digits, got '${accountSid}'`);
  const events = new EventLog(logger);
  const webhooks = createWebhookSender({ authToken, events, logger });
  const apiKeys: ApiKeyStore = new Map();
  const clock: Clock = { now: () => performance.now() };
  const model = new CallModel({
    accountSid,
    clock,
    logger,
    events,
    audio: {
      partyVoice,
      distinctVoices: VOICE_FREQUENCIES_HZ.length,
      sounds: SOUNDS,
      beepMs: BEEP_MS,
      sayMsPerChar: SAY_MS_PER_CHAR,
      playMs: PLAY_MS,
    },
    webhooks,
    createMediaClient: (listener, audio) =>
      createMediaClient({ audio, clock, listener, authToken, logger }),
  });

  const app = Fastify({
    logger: false,
    routerOptions: { querystringParser: (s: string) => qs.parse(s) },
  });
  // Twilio request bodies are form-encoded; repeated keys become arrays (twilio-facts §5).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, qs.parse(body as string, { depth: 0, arrayLimit: 1000, parameterLimit: 10_000 }));
    },
  );

  // HTTP Basic auth: AccountSid:AuthToken or an API key SK…:secret (twilio-facts §5).
  // Everything outside the control API is Twilio-shaped and authenticated, whatever domain an
  // extension serves (`/2010-04-01/…` here, `/v1/Workspaces/…` for TaskRouter later).
  const isControl = (url: string): boolean => url.startsWith('/_emulator/');
  app.addHook('onRequest', (request, _reply, done) => {
    if (isControl(request.url)) {
      done();
      return;
    }
    const credentials = parseBasicAuth(request.headers.authorization);
    const valid =
      credentials !== null &&
      ((credentials.user === accountSid && credentials.pass === authToken) ||
        apiKeys.get(credentials.user)?.secret === credentials.pass);
    if (!valid) {
      done(twilioErrors.authenticate());
      return;
    }
    const pathAccount = /^\/2010-04-01\/Accounts\/([^/.?]+)/.exec(request.url)?.[1];
    // UNCONFIRMED: another account's SID in the path answers 404 / 20404.
    if (pathAccount !== undefined && pathAccount !== accountSid) {
      done(twilioErrors.notFound(request.url.split('?')[0] ?? request.url));
      return;
    }
    done();
  });

  app.addHook('onResponse', async (request, reply) => {
    if (isControl(request.url)) return;
    events.append('rest.request', {
      method: request.method,
      path: request.url.split('?')[0],
      operation: request.routeOptions.config.operation ?? null,
      status: reply.statusCode,
    });
  });

  app.setErrorHandler(async (error: FastifyError | TwilioApiError, request, reply) => {
    if (error instanceof ControlError) return reply.code(error.status).send(error.toJSON());
    if (error instanceof TwilioApiError) {
      if (error.status === 401) void reply.header('WWW-Authenticate', 'Basic realm="Twilio API"');
      return reply.code(error.status).send(error.toJSON());
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500) {
      return reply
        .code(error.statusCode)
        .send(new TwilioApiError(20001, error.statusCode, error.message).toJSON());
    }
    logger.error({ err: error, url: request.url }, 'emulator fault while answering a request');
    return reply.code(500).send(new TwilioApiError(20500, 500, 'Internal Server Error').toJSON());
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send(twilioErrors.notFound(request.url.split('?')[0] ?? request.url).toJSON()),
  );

  registerTwilioRoutes(app, model);
  const taskrouter = new TaskRouterModel({
    accountSid,
    calls: model,
    events,
    webhooks,
    logger,
    ...(options.reservationTimeoutS === undefined
      ? {}
      : { reservationTimeoutS: options.reservationTimeoutS }),
    settings: () => settings,
  });
  registerTaskRouterRoutes(app, taskrouter, accountSid);

  const placeInboundCall = (input: InboundCallInput): { callSid: string } => {
    // Checked before the call exists, so bad input changes nothing.
    const own =
      input.statusCallback === undefined
        ? null
        : {
            url: callbackUrl('statusCallback', input.statusCallback),
            method: callbackMethod('statusCallbackMethod', input.statusCallbackMethod),
          };
    const statusCallback = own ?? settings.inboundStatusCallback;
    const source =
      input.twiml !== undefined
        ? { kind: 'twiml' as const, twiml: input.twiml }
        : input.url !== undefined
          ? { kind: 'url' as const, url: absoluteUrl(input.url), method: 'POST' as const }
          : undefined;
    if (source === undefined) throw twilioErrors.missingUrl('url or twiml');
    const call = model.createCall({
      from: input.from,
      to: input.to,
      direction: 'inbound',
      source,
      ...(input.voiceHz === undefined ? {} : { voiceHz: input.voiceHz }),
      statusCallback: statusCallback === null ? null : numberStatusCallback(statusCallback),
    });
    return { callSid: call.sid };
  };
  const state = (): EmulatorState => ({
    ...buildState(model),
    taskrouter: taskRouterState(taskrouter),
  });
  const readEvents = (sinceSeq?: number): EmulatorEvent[] => events.since(sinceSeq);
  const updateSettings = (input: unknown): EmulatorSettings => {
    settings = applySettings(settings, input);
    events.append('control', { action: 'settings', ...settingsJson(settings) });
    return settings;
  };
  registerControlRoutes(app, {
    model,
    apiKeys,
    placeInboundCall,
    state,
    events: readEvents,
    settings: () => settings,
    updateSettings,
  });
  for (const extend of extensions) await extend({ app, model, events, accountSid, authToken });

  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('emulator: no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, accountSid }, 'emulator listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    accountSid,
    authToken,
    placeInboundCall: (input) => Promise.resolve().then(() => placeInboundCall(input)),
    hangup: (callSid) =>
      Promise.resolve().then(() => {
        const call = model.calls.get(callSid);
        if (call === undefined) throw twilioErrors.notFound(`/_emulator/calls/${callSid}`);
        events.append('control', { action: 'hangup', callSid });
        model.endCall(call, 'completed');
      }),
    settings: () => settings,
    updateSettings,
    state,
    events: readEvents,
    taskrouter,
    close: () => {
      closing ??= (async () => {
        taskrouter.close();
        await model.close();
        await app.close();
      })();
      return closing;
    },
  };
}
