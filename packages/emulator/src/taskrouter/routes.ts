import type { FastifyInstance, FastifyRequest } from 'fastify';
import { conferenceEvents } from '../control/settings.js';
import { ControlError, TwilioApiError, twilioErrors } from '../errors.js';
import { isHttpUrl } from './event-callback.js';
import type { TaskRouterModel } from './model.js';
import {
  TASKROUTER_BASE,
  reservationJson,
  taskJson,
  taskRouterState,
  transferView,
  workerJson,
  workspaceJson,
} from './serialize.js';

type Params = Record<string, string>;

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function form(request: FastifyRequest): Record<string, unknown> {
  return objectOf(request.body);
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw twilioErrors.invalidParameter(name, JSON.stringify(value));
  return value;
}

/**
 * A v1 list page (https://www.twilio.com/docs/usage/twilios-response#pagination, spec `meta`):
 * `PageSize` (default 50, at most 1000) and `Page`, with `meta.key` naming the array. The page
 * URLs keep the list's filters (`filters`, in the order given), as the spec's examples show
 * (`/v1/Workspaces?FriendlyName=…&PageSize=50&Page=0`), so an SDK following `next_page_url` keeps
 * filtering.
 */
function page(
  items: readonly unknown[],
  query: Record<string, unknown>,
  key: string,
  url: string,
  filters: readonly string[] = [],
): Record<string, unknown> {
  const size = Number(query.PageSize ?? 50);
  const number = Number(query.Page ?? 0);
  if (!Number.isInteger(size) || size < 1 || size > 1000)
    throw twilioErrors.invalidParameter('PageSize', String(query.PageSize));
  if (!Number.isInteger(number) || number < 0)
    throw twilioErrors.invalidParameter('Page', String(query.Page));
  const kept = new URLSearchParams();
  for (const name of filters) {
    const value = query[name];
    if (typeof value === 'string') kept.append(name, value);
  }
  const prefix = kept.size > 0 ? `${kept.toString()}&` : '';
  const at = (n: number): string => `${url}?${prefix}PageSize=${size}&Page=${n}`;
  const slice = items.slice(number * size, number * size + size);
  return {
    [key]: slice,
    meta: {
      page: number,
      page_size: size,
      first_page_url: at(0),
      previous_page_url: number > 0 ? at(number - 1) : null,
      url: at(number),
      next_page_url: (number + 1) * size < items.length ? at(number + 1) : null,
      key,
    },
  };
}

/**
 * The TaskRouter REST subset a controller needs (`twilio_taskrouter_v1.json`), the Flex token
 * validation service (`packages/twilio/README.md` "Token validation protocol"), and the
 * agent-desktop verbs of the control API. Authentication is the emulator's (Basic, everything
 * outside `/_emulator/`).
 */
export function registerTaskRouterRoutes(
  app: FastifyInstance,
  model: TaskRouterModel,
  accountSid: string,
): void {
  const workspace = (request: FastifyRequest<{ Params: Params }>): void => {
    const sid = request.params.WorkspaceSid ?? request.params.Sid;
    if (sid !== model.workspace.sid) throw twilioErrors.notFound(request.url.split('?')[0] ?? '');
  };
  const notFound = (request: FastifyRequest): TwilioApiError =>
    twilioErrors.notFound(request.url.split('?')[0] ?? request.url);

  // ListWorkspace (spec `GET /v1/Workspaces`, filter `FriendlyName`): how a controller finds the
  // Flex workspace ("Flex Task Assignment") when it is not configured. The emulator has one.
  app.get('/v1/Workspaces', { config: { operation: 'ListWorkspace' } }, (request) => {
    const query = objectOf(request.query);
    const friendlyName = query.FriendlyName;
    if (friendlyName !== undefined && typeof friendlyName !== 'string')
      throw twilioErrors.invalidParameter('FriendlyName', JSON.stringify(friendlyName));
    const items = [model.workspace]
      .filter((ws) => friendlyName === undefined || ws.friendlyName === friendlyName)
      .map(() => workspaceJson(model, accountSid));
    return page(items, query, 'workspaces', `${TASKROUTER_BASE}/Workspaces`, ['FriendlyName']);
  });

  app.get<{ Params: Params }>(
    '/v1/Workspaces/:Sid',
    { config: { operation: 'FetchWorkspace' } },
    (request) => {
      workspace(request);
      return workspaceJson(model, accountSid);
    },
  );

  app.post<{ Params: Params }>(
    '/v1/Workspaces/:Sid',
    { config: { operation: 'UpdateWorkspace' } },
    (request) => {
      workspace(request);
      const body = form(request);
      const eventCallbackUrl = optionalString(body, 'EventCallbackUrl');
      if (eventCallbackUrl !== undefined && eventCallbackUrl !== '' && !isHttpUrl(eventCallbackUrl))
        throw twilioErrors.invalidUrl(eventCallbackUrl);
      const friendlyName = optionalString(body, 'FriendlyName');
      const eventsFilter = optionalString(body, 'EventsFilter');
      model.updateWorkspace({
        ...(friendlyName === undefined ? {} : { friendlyName }),
        ...(eventCallbackUrl === undefined ? {} : { eventCallbackUrl }),
        ...(eventsFilter === undefined ? {} : { eventsFilter }),
      });
      return workspaceJson(model, accountSid);
    },
  );

  app.get<{ Params: Params }>(
    '/v1/Workspaces/:WorkspaceSid/Tasks/:Sid',
    { config: { operation: 'FetchTask' } },
    (request) => {
      workspace(request);
      const task = model.tasks.get(request.params.Sid ?? '');
      if (task === undefined) throw notFound(request);
      return taskJson(model, accountSid, task, new Date());
    },
  );

  app.get<{ Params: Params }>(
    '/v1/Workspaces/:WorkspaceSid/Tasks/:TaskSid/Reservations',
    { config: { operation: 'ListTaskReservation' } },
    (request) => {
      workspace(request);
      const task = model.tasks.get(request.params.TaskSid ?? '');
      if (task === undefined) throw notFound(request);
      const query = objectOf(request.query);
      const status = query.ReservationStatus;
      const workerSid = query.WorkerSid;
      const items = model
        .reservationsOf(task.sid)
        .filter((r) => status === undefined || r.status === status)
        .filter((r) => workerSid === undefined || r.workerSid === workerSid)
        .map((r) => reservationJson(model, accountSid, r));
      return page(
        items,
        query,
        'reservations',
        `${TASKROUTER_BASE}/Workspaces/${model.workspace.sid}/Tasks/${task.sid}/Reservations`,
        ['ReservationStatus', 'WorkerSid'],
      );
    },
  );

  app.get<{ Params: Params }>(
    '/v1/Workspaces/:WorkspaceSid/Tasks/:TaskSid/Reservations/:Sid',
    { config: { operation: 'FetchTaskReservation' } },
    (request) => {
      workspace(request);
      const reservation = model.reservations.get(request.params.Sid ?? '');
      if (reservation === undefined || reservation.taskSid !== request.params.TaskSid)
        throw notFound(request);
      return reservationJson(model, accountSid, reservation);
    },
  );

  app.get<{ Params: Params }>(
    '/v1/Workspaces/:WorkspaceSid/Workers',
    { config: { operation: 'ListWorker' } },
    (request) => {
      workspace(request);
      const query = objectOf(request.query);
      const items = [...model.workers.values()]
        .filter((w) => query.ActivityName === undefined || w.activity === query.ActivityName)
        .filter((w) => query.FriendlyName === undefined || w.friendlyName === query.FriendlyName)
        .map((w) => workerJson(model, accountSid, w));
      return page(
        items,
        query,
        'workers',
        `${TASKROUTER_BASE}/Workspaces/${model.workspace.sid}/Workers`,
        ['ActivityName', 'FriendlyName'],
      );
    },
  );

  app.get<{ Params: Params }>(
    '/v1/Workspaces/:WorkspaceSid/Workers/:Sid',
    { config: { operation: 'FetchWorker' } },
    (request) => {
      workspace(request);
      const worker = model.workers.get(request.params.Sid ?? '');
      if (worker === undefined) throw notFound(request);
      return workerJson(model, accountSid, worker);
    },
  );

  // Flex token validation, as twilio-flex-token-validator calls it (facts §6; the protocol in
  // packages/twilio/README.md). UNCONFIRMED: the codes 20104 (expired) and 20160 (invalid).
  app.post<{ Params: Params }>(
    '/v1/Accounts/:AccountSid/Tokens/validate',
    { config: { operation: 'ValidateToken' } },
    (request) => {
      if (request.params.AccountSid !== accountSid) throw twilioErrors.authenticate();
      const token = form(request).token;
      if (typeof token !== 'string' || token === '')
        throw new TwilioApiError(20001, 400, 'token (string) is required in the JSON body');
      const record = model.tokens.get(token);
      if (record === undefined) return { valid: false, code: 20160, message: 'Invalid token' };
      if (record.expiration.getTime() <= Date.now())
        return { valid: false, code: 20104, message: 'Token expired' };
      return {
        valid: true,
        code: 0,
        message: null,
        expiration: record.expiration.toISOString(),
        realm_user_id: record.identity,
        identity: record.identity,
        roles: [...record.roles],
        worker_sid: record.workerSid,
      };
    },
  );

  registerDeskRoutes(app, model, accountSid);
}

// ---------------------------------------------------------------- control API (agent desktop)

function bad(message: string): ControlError {
  return new ControlError('EMU_ERR_BAD_REQUEST', 400, message);
}

function json(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function str(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '')
    throw bad(`${name} (non-empty string) is required`);
  return value;
}

function optStr(body: Record<string, unknown>, name: string): string | undefined {
  return body[name] === undefined ? undefined : str(body, name);
}

function optBool(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw bad(`${name} must be a boolean`);
  return value;
}

function optObject(
  body: Record<string, unknown>,
  name: string,
): Record<string, unknown> | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(`${name} must be a JSON object`);
  return value as Record<string, unknown>;
}

function reservationView(model: TaskRouterModel, sid: string): Record<string, unknown> {
  const reservation = model.reservations.get(sid);
  if (reservation === undefined) return { sid };
  const { incoming, outgoing } = model.transfersOf(reservation);
  return {
    sid: reservation.sid,
    taskSid: reservation.taskSid,
    workerSid: reservation.workerSid,
    status: reservation.status,
    taskStatus: model.tasks.get(reservation.taskSid)?.status ?? null,
    workerCallSid: reservation.workerCallSid,
    incomingTransferObject: transferView(incoming),
    outgoingTransferObject: transferView(outgoing),
  };
}

/** The agent-desktop verbs under `/_emulator/` (README "Control API"). */
function registerDeskRoutes(
  app: FastifyInstance,
  model: TaskRouterModel,
  accountSid: string,
): void {
  app.get('/_emulator/taskrouter', { config: { operation: 'ControlTaskRouterState' } }, () =>
    taskRouterState(model),
  );

  app.post(
    '/_emulator/workspace',
    { config: { operation: 'ControlUpdateWorkspace' } },
    (request) => {
      const body = json(request);
      const eventCallbackUrl = body.eventCallbackUrl;
      const eventsFilter = body.eventsFilter;
      if (eventCallbackUrl !== undefined && typeof eventCallbackUrl !== 'string')
        throw bad('eventCallbackUrl must be a string ("" removes it)');
      if (
        typeof eventCallbackUrl === 'string' &&
        eventCallbackUrl !== '' &&
        !isHttpUrl(eventCallbackUrl)
      )
        throw bad(`eventCallbackUrl must be an http(s) URL, got '${eventCallbackUrl}'`);
      if (eventsFilter !== undefined && typeof eventsFilter !== 'string')
        throw bad('eventsFilter must be a comma-separated string ("" sends every event)');
      model.updateWorkspace({
        ...(eventCallbackUrl === undefined ? {} : { eventCallbackUrl }),
        ...(eventsFilter === undefined ? {} : { eventsFilter }),
      });
      return workspaceJson(model, accountSid);
    },
  );

  app.post(
    '/_emulator/workers',
    { config: { operation: 'ControlCreateWorker' } },
    (request, reply) => {
      const body = json(request);
      const friendlyName = str(body, 'friendlyName');
      const identity = optStr(body, 'identity');
      const activity = body.activity;
      if (activity !== undefined && activity !== 'Available' && activity !== 'Offline')
        throw bad('activity must be Available or Offline');
      const queues = body.queues;
      if (
        queues !== undefined &&
        (!Array.isArray(queues) || !queues.every((q) => typeof q === 'string' && q !== ''))
      )
        throw bad('queues must be an array of queue names');
      const roles = body.roles;
      if (
        roles !== undefined &&
        (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string'))
      )
        throw bad('roles must be an array of strings');
      const voiceHz = body.voiceHz;
      if (
        voiceHz !== undefined &&
        (typeof voiceHz !== 'number' || !(voiceHz > 0 && voiceHz < 4000))
      )
        throw bad('voiceHz must be a number between 0 and 4000');
      const attributes = optObject(body, 'attributes');
      const worker = model.createWorker({
        friendlyName,
        ...(identity === undefined ? {} : { identity }),
        ...(activity === undefined ? {} : { activity }),
        ...(queues === undefined ? {} : { queues: queues as string[] }),
        ...(roles === undefined ? {} : { roles }),
        ...(typeof voiceHz === 'number' ? { voiceHz } : {}),
        ...(attributes === undefined ? {} : { attributes }),
      });
      return reply.code(201).send(workerJson(model, accountSid, worker));
    },
  );

  app.post<{ Params: Params }>(
    '/_emulator/workers/:sid/activity',
    { config: { operation: 'ControlWorkerActivity' } },
    (request) => {
      const activity = json(request).activity;
      if (activity !== 'Available' && activity !== 'Offline')
        throw bad('activity must be Available or Offline');
      return workerJson(model, accountSid, model.setActivity(request.params.sid ?? '', activity));
    },
  );

  app.post<{ Params: Params }>(
    '/_emulator/workers/:sid/token',
    { config: { operation: 'ControlIssueToken' } },
    (request, reply) => {
      const ttl = json(request).ttlSeconds;
      if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl)))
        throw bad('ttlSeconds must be a number (negative issues an already expired token)');
      const issued = model.issueToken(
        request.params.sid ?? '',
        typeof ttl === 'number' ? ttl : undefined,
      );
      return reply.code(201).send({
        token: issued.token,
        expiration: issued.expiration.toISOString(),
        identity: issued.identity,
        workerSid: request.params.sid,
      });
    },
  );

  app.post(
    '/_emulator/queued-calls',
    { config: { operation: 'ControlPlaceQueuedCall' } },
    (request, reply) => {
      const body = json(request);
      const voiceHz = body.voiceHz;
      if (
        voiceHz !== undefined &&
        (typeof voiceHz !== 'number' || !(voiceHz > 0 && voiceHz < 4000))
      )
        throw bad('voiceHz must be a number between 0 and 4000');
      const queue = optStr(body, 'queue');
      const attributes = optObject(body, 'attributes');
      const statusCallback = optStr(body, 'statusCallback');
      const statusCallbackMethod = body.statusCallbackMethod;
      if (
        statusCallbackMethod !== undefined &&
        statusCallbackMethod !== 'GET' &&
        statusCallbackMethod !== 'POST'
      )
        throw bad('statusCallbackMethod must be GET or POST');
      // The URL itself is checked by `placeQueuedCall`, before the call exists.
      const placed = model.placeQueuedCall({
        from: str(body, 'from'),
        to: str(body, 'to'),
        ...(queue === undefined ? {} : { queue }),
        ...(attributes === undefined ? {} : { attributes }),
        ...(typeof voiceHz === 'number' ? { voiceHz } : {}),
        ...(statusCallback === undefined ? {} : { statusCallback }),
        ...(statusCallbackMethod === undefined ? {} : { statusCallbackMethod }),
      });
      return reply.code(201).send(placed);
    },
  );

  app.post<{ Params: Params }>(
    '/_emulator/reservations/:sid/accept',
    { config: { operation: 'ControlAccept' } },
    (request) => {
      const body = json(request);
      const options = optObject(body, 'conferenceOptions') ?? {};
      const beep = optBool(options, 'beep');
      const beepOnCustomerEntrance = optBool(options, 'beepOnCustomerEntrance');
      const endConferenceOnExit = optBool(options, 'endConferenceOnExit');
      const endConferenceOnCustomerExit = optBool(options, 'endConferenceOnCustomerExit');
      const conferenceStatusCallback = optStr(options, 'conferenceStatusCallback');
      const conferenceStatusCallbackMethod = options.conferenceStatusCallbackMethod;
      if (
        conferenceStatusCallbackMethod !== undefined &&
        conferenceStatusCallbackMethod !== 'GET' &&
        conferenceStatusCallbackMethod !== 'POST'
      )
        throw bad('conferenceOptions.conferenceStatusCallbackMethod must be GET or POST');
      // An array of filter names or one space/comma-separated string; `accept` checks each name
      // and the URL before anything changes.
      const events = options.conferenceStatusCallbackEvent;
      const conferenceStatusCallbackEvent =
        events === undefined
          ? undefined
          : conferenceEvents('conferenceStatusCallbackEvent', events);
      const reservation = model.accept(request.params.sid ?? '', str(body, 'workerSid'), {
        ...(beep === undefined ? {} : { beep }),
        ...(beepOnCustomerEntrance === undefined ? {} : { beepOnCustomerEntrance }),
        ...(endConferenceOnExit === undefined ? {} : { endConferenceOnExit }),
        ...(endConferenceOnCustomerExit === undefined ? {} : { endConferenceOnCustomerExit }),
        ...(conferenceStatusCallback === undefined ? {} : { conferenceStatusCallback }),
        ...(conferenceStatusCallbackMethod === undefined ? {} : { conferenceStatusCallbackMethod }),
        ...(conferenceStatusCallbackEvent === undefined ? {} : { conferenceStatusCallbackEvent }),
      });
      return reservationView(model, reservation.sid);
    },
  );

  for (const verb of ['reject', 'wrapup', 'complete'] as const) {
    app.post<{ Params: Params }>(
      `/_emulator/reservations/:sid/${verb}`,
      { config: { operation: `Control${verb[0]?.toUpperCase() ?? ''}${verb.slice(1)}` } },
      (request) => {
        const workerSid = str(json(request), 'workerSid');
        const sid = request.params.sid ?? '';
        const reservation =
          verb === 'reject'
            ? model.reject(sid, workerSid)
            : verb === 'wrapup'
              ? model.wrapup(sid, workerSid)
              : model.complete(sid, workerSid);
        return reservationView(model, reservation.sid);
      },
    );
  }

  app.post<{ Params: Params }>(
    '/_emulator/tasks/:sid/transfer',
    { config: { operation: 'ControlTransfer' } },
    (request) => {
      const body = json(request);
      const mode = body.mode;
      if (mode !== 'WARM' && mode !== 'COLD') throw bad('mode must be WARM or COLD');
      const transfer = model.transfer({
        taskSid: request.params.sid ?? '',
        workerSid: str(body, 'workerSid'),
        to: str(body, 'to'),
        mode,
      });
      const reservation = [...model.reservations.values()].find(
        (r) => r.transferSid === transfer.sid,
      );
      return { transfer: transferView(transfer), reservationSid: reservation?.sid ?? null };
    },
  );

  app.post<{ Params: Params }>(
    '/_emulator/tasks/:sid/complete-transfer',
    { config: { operation: 'ControlCompleteTransfer' } },
    (request) => {
      const reservation = model.completeTransfer({
        taskSid: request.params.sid ?? '',
        workerSid: str(json(request), 'workerSid'),
      });
      return reservationView(model, reservation.sid);
    },
  );

  app.post<{ Params: Params }>(
    '/_emulator/tasks/:sid/cancel-transfer',
    { config: { operation: 'ControlCancelTransfer' } },
    (request) => {
      const reservation = model.cancelTransfer({
        taskSid: request.params.sid ?? '',
        workerSid: str(json(request), 'workerSid'),
      });
      return reservationView(model, reservation.sid);
    },
  );

  for (const verb of ['hold', 'unhold'] as const) {
    app.post<{ Params: Params }>(
      `/_emulator/tasks/:sid/${verb}`,
      { config: { operation: verb === 'hold' ? 'ControlHold' : 'ControlUnhold' } },
      (request) => {
        const taskSid = request.params.sid ?? '';
        model.hold({ taskSid, workerSid: str(json(request), 'workerSid'), hold: verb === 'hold' });
        return { taskSid, hold: verb === 'hold' };
      },
    );
  }

  app.post<{ Params: Params }>(
    '/_emulator/tasks/:sid/hangup',
    { config: { operation: 'ControlTaskHangup' } },
    (request) =>
      model.hangup({ taskSid: request.params.sid ?? '', party: str(json(request), 'party') }),
  );
}
