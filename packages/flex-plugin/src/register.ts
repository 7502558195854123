/**
 * The Flex-independent core of the plugin: listeners on Flex's task actions (twilio-facts §6)
 * that drive the controller's plugin API (packages/server README "Endpoints"). Voice tasks only.
 *
 * | Flex action          | what the plugin does                                               |
 * | -------------------- | ------------------------------------------------------------------ |
 * | `beforeAcceptTask`   | points the conference's status callback at the controller          |
 * | `afterAcceptTask`    | `start` the agent's segment                                        |
 * | `beforeTransferTask` | awaits `prepare-transfer` (never aborts the transfer)              |
 * | `afterWrapupTask`    | `stop` with `event: 'wrapup'`                                      |
 * | `afterCompleteTask`  | `stop` with `event: 'completed'`                                   |
 *
 * Every listener resolves, whatever the controller answers: failures are logged with the
 * service's `error.code`, never thrown into Flex's pipeline, and `abortFunction` is never called.
 */
import {
  CONFERENCE_STATUS_PATH,
  createControllerClient,
  type ControllerClient,
  type PluginAction,
  type PluginCallResult,
  type RetryOptions,
} from './client.js';
import { FlexPluginError } from './errors.js';
import type {
  AcceptTaskPayload,
  FlexActionListener,
  FlexActions,
  FlexConferenceOptions,
  FlexConferenceParticipant,
  FlexTask,
  TransferTaskPayload,
} from './flex-types.js';
import { createConsoleLogger, type PluginLogger } from './logger.js';

/** `prepare-transfer`'s budget: Flex holds the transfer until it answers (facts §6). */
const TRANSFER_RETRY: RetryOptions = { attempts: 2, baseDelayMs: 250, maxDelayMs: 250 };
const TRANSFER_TIMEOUT_MS = 3000;

/** The conference events the controller handles (packages/server README "Call end", driver 3). */
export const CONFERENCE_EVENTS: readonly string[] = ['join', 'leave', 'end'];

/** What {@link registerFlexStreams} needs: its ports. */
export interface FlexStreamsDeps {
  /** `Flex.Actions`, or anything keeping its listener contract (facts §6). */
  readonly actions: FlexActions;
  /** The agent's Flex token, read fresh on every request (`manager.user.token`). */
  readonly getToken: () => string;
  /** Base URL of the controller service, as Twilio and the agent's browser reach it. */
  readonly controllerUrl: string;
  readonly fetch?: typeof fetch;
  /** Default: the browser console. */
  readonly logger?: PluginLogger;
  readonly retry?: RetryOptions;
  /** Timeout of one HTTP attempt (default 8 s). */
  readonly timeoutMs?: number;
  /** The backoff's wait (default `setTimeout`). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Idempotency keys for pause/resume (default `crypto.randomUUID`). */
  readonly randomId?: () => string;
}

/** What {@link registerFlexStreams} returns. */
export interface FlexStreamsHandle {
  readonly client: ControllerClient;
  /**
   * Pauses the task's stream (e.g. while the customer reads a card number, PCI). One
   * `idempotencyKey` per click, reused by every retry of it, so a retried request changes nothing;
   * a second click while the first is in flight gets the first's result. Never rejects.
   */
  pause(task: FlexTask, reason?: string): Promise<PluginCallResult>;
  /** Resumes the task's stream (a new continuation); same guarantees as `pause`. */
  resume(task: FlexTask): Promise<PluginCallResult>;
  /** Removes the listeners (when `actions.removeListener` exists). */
  unregister(): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringAt(value: unknown, ...path: string[]): string | undefined {
  let at: unknown = value;
  for (const key of path) {
    if (!isRecord(at)) return undefined;
    at = at[key];
  }
  return typeof at === 'string' && at !== '' ? at : undefined;
}

function taskOf(payload: unknown): FlexTask | undefined {
  if (!isRecord(payload)) return undefined;
  const task = payload.task;
  if (!isRecord(task) || typeof task.sid !== 'string' || typeof task.taskSid !== 'string')
    return undefined;
  return task as unknown as FlexTask;
}

/** Flex's voice channel (facts §6 `taskChannelUniqueName`). */
export function isVoiceTask(task: FlexTask): boolean {
  return task.taskChannelUniqueName === 'voice';
}

/** The conference SID (`CF…`): `task.conference.conferenceSid`, else `attributes.conference.sid`. */
export function conferenceSidOf(task: FlexTask): string | undefined {
  return task.conference?.conferenceSid ?? stringAt(task.attributes, 'conference', 'sid');
}

/**
 * The agent's own leg: the current worker's joined `worker` participant of `task.conference`
 * (the list keeps those who left, facts §6). Else `attributes.conference.participants.worker`, but
 * only on a task that was not transferred: how Flex updates that attribute after a transfer is
 * UNCONFIRMED (facts §6), and it may still name the previous agent's leg.
 */
export function workerCallSidOf(task: FlexTask): string | undefined {
  const participants: unknown = task.conference?.participants;
  const mine = (Array.isArray(participants) ? (participants as unknown[]) : [])
    .filter((p): p is FlexConferenceParticipant => isRecord(p))
    .find(
      (p) =>
        p.participantType === 'worker' &&
        p.status === 'joined' &&
        (p.isCurrentWorker === true ||
          (task.workerSid !== undefined && p.workerSid === task.workerSid)),
    );
  if (mine?.callSid !== undefined && mine.callSid !== '') return mine.callSid;
  const transferred =
    task.incomingTransferObject !== undefined && task.incomingTransferObject !== null;
  return transferred
    ? undefined
    : stringAt(task.attributes, 'conference', 'participants', 'worker');
}

/** The `start` body of a voice task, or an error naming what is missing. */
export function startBodyOf(task: FlexTask): Record<string, string> | FlexPluginError {
  const customerCallSid = stringAt(task.attributes, 'call_sid');
  if (customerCallSid === undefined) {
    return new FlexPluginError(
      'FS_PLUGIN_ERR_BAD_TASK',
      `task ${task.taskSid} has no attributes.call_sid (set by <Enqueue> for a Flex voice call)`,
    );
  }
  const conferenceSid = conferenceSidOf(task);
  const workerCallSid = workerCallSidOf(task);
  return {
    reservationSid: task.sid,
    taskSid: task.taskSid,
    customerCallSid,
    ...(conferenceSid === undefined ? {} : { conferenceSid }),
    ...(workerCallSid === undefined ? {} : { workerCallSid }),
  };
}

function eventList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((v) => v !== '');
  return [];
}

/**
 * Points the conference's status callback at the controller (facts §6: listeners may change any
 * key of `conferenceOptions`; Flex passes them to `reservation.conference()`). A conference has one
 * status callback: a URL the deployment already set elsewhere is **kept** (and a warning logged,
 * since the controller then relies on its reconciler and call status callbacks); when it is ours,
 * the events are merged with any already there.
 */
export function applyConferenceOptions(
  options: FlexConferenceOptions,
  controllerUrl: string,
  logger: PluginLogger,
): void {
  const url = controllerUrl + CONFERENCE_STATUS_PATH;
  const existing = options.conferenceStatusCallback;
  if (typeof existing === 'string' && existing !== '' && existing !== url) {
    logger.warn(
      { conferenceStatusCallback: existing, wanted: url },
      'conferenceStatusCallback already set by the deployment; kept. The controller will not get ' +
        'conference events: forward them to it, or rely on its call status callbacks and reconciler ' +
        '(packages/server README "Call end")',
    );
    return;
  }
  const events = eventList(existing === url ? options.conferenceStatusCallbackEvent : undefined);
  for (const event of CONFERENCE_EVENTS) if (!events.includes(event)) events.push(event);
  options.conferenceStatusCallback = url;
  options.conferenceStatusCallbackMethod = 'POST';
  options.conferenceStatusCallbackEvent = events;
}

function defaultRandomId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * Registers the plugin's listeners on `deps.actions` and returns pause/resume for a UI button.
 * Throws `FS_PLUGIN_ERR_CONFIG` (only here, at start-up) for an unusable controller URL or option.
 */
export function registerFlexStreams(deps: FlexStreamsDeps): FlexStreamsHandle {
  const logger = deps.logger ?? createConsoleLogger();
  const client = createControllerClient({
    controllerUrl: deps.controllerUrl,
    getToken: deps.getToken,
    logger,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.retry === undefined ? {} : { retry: deps.retry }),
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
  });
  // Flex waits for `beforeTransferTask`: a controller that does not answer must not hold the
  // agent's transfer for the full retry budget. Two tries, 3 s each at most.
  const transferClient = createControllerClient({
    controllerUrl: deps.controllerUrl,
    getToken: deps.getToken,
    logger,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    retry: TRANSFER_RETRY,
    timeoutMs: Math.min(deps.timeoutMs ?? TRANSFER_TIMEOUT_MS, TRANSFER_TIMEOUT_MS),
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
  });
  const randomId = deps.randomId ?? defaultRandomId;
  const inFlight = new Map<string, Promise<PluginCallResult>>();

  /** Calls the API and logs the outcome; resolves in every case. */
  const send = async (
    action: PluginAction,
    body: Record<string, unknown>,
    context: Record<string, unknown>,
  ): Promise<PluginCallResult> => {
    let result: PluginCallResult;
    try {
      result = await (action === 'prepare-transfer' ? transferClient : client).call(action, body);
    } catch (cause) {
      // The client does not throw; this guards Flex's pipeline against a bug all the same.
      result = {
        ok: false,
        error: new FlexPluginError('FS_PLUGIN_ERR_NETWORK', `${action} failed unexpectedly`, {
          cause,
        }),
      };
    }
    if (result.ok) {
      logger.info({ action, ...context, attempts: result.attempts }, `flex-streams ${action} done`);
      return result;
    }
    const { error } = result;
    const fields = {
      action,
      ...context,
      code: error.code,
      serviceCode: error.serviceCode,
      twilioCode: error.twilioCode,
      status: error.status,
      attempts: error.attempts,
    };
    // A stop of a reservation the controller never saw (a task the plugin skipped, or a
    // start that failed) is not worth an error line.
    if (error.serviceCode === 'FS_ERR_SEGMENT_NOT_FOUND' && action === 'stop') {
      logger.info(fields, `flex-streams ${action}: no segment for this reservation`);
    } else {
      logger.error(fields, `flex-streams ${action} failed: ${error.message}`);
    }
    return result;
  };

  const skipped = (reason: string): PluginCallResult => ({
    ok: false,
    error: new FlexPluginError('FS_PLUGIN_ERR_BAD_TASK', reason),
  });

  const beforeAcceptTask: FlexActionListener = (payload) => {
    const task = taskOf(payload);
    if (task === undefined || !isVoiceTask(task) || !isRecord(payload)) return;
    const accept = payload as AcceptTaskPayload;
    accept.conferenceOptions ??= {};
    if (!isRecord(accept.conferenceOptions)) {
      logger.warn(
        { taskSid: task.taskSid },
        'flex-streams: conferenceOptions is not an object; conference callbacks not requested',
      );
      return;
    }
    applyConferenceOptions(accept.conferenceOptions, client.controllerUrl, logger);
  };

  const afterAcceptTask: FlexActionListener = async (payload) => {
    const task = taskOf(payload);
    if (task === undefined || !isVoiceTask(task)) return;
    const body = startBodyOf(task);
    if (body instanceof FlexPluginError) {
      logger.error({ code: body.code, taskSid: task.taskSid }, body.message);
      return;
    }
    await send('start', body, { reservationSid: task.sid, taskSid: task.taskSid });
  };

  const beforeTransferTask: FlexActionListener = async (payload) => {
    // Flex awaits this listener, so the transfer waits for the customer leg to be protected
    // (twiml strategy); a failure is logged and the transfer goes on (facts §6: only
    // abortFunction cancels, and blocking an agent's transfer is worse than a gap in a stream).
    const task = taskOf(payload);
    if (task === undefined || !isVoiceTask(task)) return;
    const transfer = payload as TransferTaskPayload;
    await send(
      'prepare-transfer',
      { reservationSid: task.sid },
      { reservationSid: task.sid, taskSid: task.taskSid, targetSid: transfer.targetSid },
    );
  };

  const stopOn =
    (event: 'wrapup' | 'completed'): FlexActionListener =>
    async (payload) => {
      // `task` may be absent; `sid` is then the reservation SID (facts §6).
      const task = taskOf(payload);
      if (task !== undefined && !isVoiceTask(task)) return;
      const reservationSid = task?.sid ?? stringAt(payload, 'sid');
      if (reservationSid === undefined) {
        logger.warn({ event }, 'flex-streams stop skipped: the payload has neither task nor sid');
        return;
      }
      await send('stop', { reservationSid, event }, { reservationSid, event });
    };

  const listeners: [string, FlexActionListener][] = [
    ['beforeAcceptTask', beforeAcceptTask],
    ['afterAcceptTask', afterAcceptTask],
    ['beforeTransferTask', beforeTransferTask],
    ['afterWrapupTask', stopOn('wrapup')],
    ['afterCompleteTask', stopOn('completed')],
  ];
  // Whatever a payload holds, nothing is thrown into Flex's pipeline (a throwing before-listener
  // would only be logged by Flex, but an agent's action must never depend on this plugin).
  const guarded =
    (name: string, listener: FlexActionListener): FlexActionListener =>
    async (payload, abort) => {
      try {
        await listener(payload, abort);
      } catch (error) {
        logger.error(
          { listener: name, error: error instanceof Error ? error.message : String(error) },
          `flex-streams ${name} listener failed; the action goes on`,
        );
      }
    };
  const registered = listeners.map(([name, listener]): [string, FlexActionListener] => [
    name,
    guarded(name, listener),
  ]);
  for (const [name, listener] of registered) deps.actions.addListener(name, listener);

  const once = (
    action: 'pause' | 'resume',
    task: FlexTask,
    extra: Record<string, string>,
  ): Promise<PluginCallResult> => {
    // Called from a UI button: whatever it passes, answer with a result, never throw.
    if (taskOf({ task }) === undefined)
      return Promise.resolve(skipped(`${action}: expected a Flex task with sid and taskSid`));
    if (!isVoiceTask(task))
      return Promise.resolve(skipped(`${action}: task ${task.taskSid} is not a voice task`));
    const key = `${action}:${task.sid}`;
    const running = inFlight.get(key);
    if (running !== undefined) return running;
    const body = { reservationSid: task.sid, idempotencyKey: randomId(), ...extra };
    const promise = send(action, body, { reservationSid: task.sid, taskSid: task.taskSid }).finally(
      () => inFlight.delete(key),
    );
    inFlight.set(key, promise);
    return promise;
  };

  return {
    client,
    pause: (task, reason) => once('pause', task, reason === undefined ? {} : { reason }),
    resume: (task) => once('resume', task, {}),
    unregister() {
      for (const [name, listener] of registered) deps.actions.removeListener?.(name, listener);
    },
  };
}
