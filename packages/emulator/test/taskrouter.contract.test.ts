/**
 * The TaskRouter v1 subset through the official SDK (`client.taskrouter.v1.workspaces…`), every
 * answer validated against `twilio_taskrouter_v1.json`; `EventsFilter`; reject and timeout; and
 * Flex token validation answered as `packages/twilio/README.md` "Token validation protocol" says,
 * checked with plain `fetch` (the emulator imports no product code, not even in tests).
 */
import type twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/index.js';
import { contractViolations, recordingClient, waitFor, type Exchange } from './helpers/contract.js';
import { expectEvents, ok, pendingReservation, queuedCall, worker } from './helpers/flex.js';
import { startWebhookServer } from './helpers/webhook-server.js';

let emu: Emulator;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
let client: twilio.Twilio;
let exchanges: Exchange[];
let ws: string;

beforeAll(async () => {
  // A short reservation timeout (the workflow's TaskReservationTimeout) keeps the timeout test fast.
  emu = await startEmulator({ reservationTimeoutS: 0.3 });
  hook = await startWebhookServer();
  ({ client, exchanges } = recordingClient(emu));
  ws = emu.state().taskrouter.workspace.sid;
});
afterAll(async () => {
  await emu.close();
  await hook.close();
});

describe('TaskRouter REST through the official SDK', () => {
  it('fetches and updates the workspace (EventCallbackUrl, EventsFilter)', async () => {
    const fetched = await client.taskrouter.v1.workspaces(ws).fetch();
    expect(fetched.sid).toBe(ws);
    expect(fetched.eventCallbackUrl).toBeNull();
    const updated = await client.taskrouter.v1.workspaces(ws).update({
      eventCallbackUrl: `${hook.url}/events`,
      eventsFilter: 'task.created,reservation.accepted,task.completed',
    });
    expect(updated.eventCallbackUrl).toBe(`${hook.url}/events`);
    expect(updated.eventsFilter).toBe('task.created,reservation.accepted,task.completed');
    await expect(client.taskrouter.v1.workspaces('WS0').fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
    await expect(
      client.taskrouter.v1.workspaces(ws).update({ eventCallbackUrl: 'not a url' }),
    ).rejects.toMatchObject({ status: 400, code: 21205 });
    expect(contractViolations(exchanges)).toEqual([]);
  });

  it('fetches a task, lists and fetches its reservations, fetches and lists workers', async () => {
    const a = await worker(emu, 'rest-a', 'rest');
    const { callSid, taskSid } = await queuedCall(emu, 'rest');
    const reservationSid = await pendingReservation(emu, taskSid, a);
    await ok(emu, `reservations/${reservationSid}/accept`, { workerSid: a });

    const task = await client.taskrouter.v1.workspaces(ws).tasks(taskSid).fetch();
    expect(task.assignmentStatus).toBe('assigned');
    const attributes = JSON.parse(task.attributes) as Record<string, unknown>;
    expect(attributes).toMatchObject({ call_sid: callSid, from: '+15550100', to: '+15550199' });
    expect(attributes.conference).toMatchObject({ participants: { customer: callSid } });
    expect(task.taskQueueFriendlyName).toBe('rest');

    const reservations = await client.taskrouter.v1
      .workspaces(ws)
      .tasks(taskSid)
      .reservations.list();
    expect(reservations.map((r) => [r.sid, r.workerSid, r.reservationStatus])).toEqual([
      [reservationSid, a, 'accepted'],
    ]);
    const one = await client.taskrouter.v1
      .workspaces(ws)
      .tasks(taskSid)
      .reservations(reservationSid)
      .fetch();
    expect(one.workerName).toBe('rest-a');
    const filtered = await client.taskrouter.v1
      .workspaces(ws)
      .tasks(taskSid)
      .reservations.list({ reservationStatus: 'pending' });
    expect(filtered).toEqual([]);

    const fetchedWorker = await client.taskrouter.v1.workspaces(ws).workers(a).fetch();
    expect(fetchedWorker).toMatchObject({ friendlyName: 'rest-a', activityName: 'Available' });
    expect(JSON.parse(fetchedWorker.attributes)).toMatchObject({ contact_uri: 'client:rest-a' });
    const workers = await client.taskrouter.v1.workspaces(ws).workers.list({ pageSize: 1 });
    expect(workers.map((w) => w.sid)).toContain(a);

    await expect(client.taskrouter.v1.workspaces(ws).tasks('WT0').fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
    await expect(client.taskrouter.v1.workspaces(ws).workers('WK0').fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
    expect(contractViolations(exchanges)).toEqual([]);
    expect(
      emu
        .events()
        .filter((e) => e.type === 'rest.request' && String(e.path).startsWith('/v1/Workspaces'))
        .map((e) => e.operation),
    ).toEqual(
      expect.arrayContaining(['FetchTask', 'ListTaskReservation', 'FetchWorker', 'ListWorker']),
    );
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    await ok(emu, `reservations/${reservationSid}/complete`, { workerSid: a });
  });

  it('pages v1 lists with a meta object', async () => {
    await worker(emu, 'page-a', 'page');
    await worker(emu, 'page-b', 'page');
    const auth = `Basic ${Buffer.from(`${emu.accountSid}:${emu.authToken}`).toString('base64')}`;
    const answer = await fetch(`${emu.url}/v1/Workspaces/${ws}/Workers?PageSize=1&Page=0`, {
      headers: { Authorization: auth },
    });
    const body = (await answer.json()) as { workers: unknown[]; meta: Record<string, unknown> };
    expect(body.workers).toHaveLength(1);
    expect(body.meta).toMatchObject({
      page: 0,
      page_size: 1,
      key: 'workers',
      previous_page_url: null,
    });
    expect(body.meta.next_page_url).toEqual(expect.stringContaining('Page=1'));
    // The SDK follows next_page_url across every page.
    const all = await client.taskrouter.v1.workspaces(ws).workers.list({ pageSize: 1 });
    expect(all.map((w) => w.friendlyName)).toEqual(expect.arrayContaining(['page-a', 'page-b']));
    expect(contractViolations(exchanges)).toEqual([]);
  });
});

describe('ListWorkspace (how a controller finds the Flex workspace)', () => {
  it('lists the workspace, filters by FriendlyName and keeps the filter in the page URLs', async () => {
    const name = emu.state().taskrouter.workspace.friendlyName;
    const all = await client.taskrouter.v1.workspaces.list();
    expect(all.map((w) => [w.sid, w.friendlyName])).toEqual([[ws, name]]);
    const byName = await client.taskrouter.v1.workspaces.list({ friendlyName: name });
    expect(byName.map((w) => w.sid)).toEqual([ws]);
    expect(byName[0]?.eventCallbackUrl).toBe(all[0]?.eventCallbackUrl);
    const none = await client.taskrouter.v1.workspaces.list({ friendlyName: 'No Such Workspace' });
    expect(none).toEqual([]);
    const firstPage = await client.taskrouter.v1.workspaces.page({
      friendlyName: name,
      pageSize: 1,
    });
    expect(firstPage.instances.map((w) => w.sid)).toEqual([ws]);
    // The raw answer: v1 paging `meta`, the filter kept (URL-encoded) in every page URL.
    const auth = `Basic ${Buffer.from(`${emu.accountSid}:${emu.authToken}`).toString('base64')}`;
    const query = new URLSearchParams({ FriendlyName: name, PageSize: '1' }).toString();
    const answer = await fetch(`${emu.url}/v1/Workspaces?${query}`, {
      headers: { Authorization: auth },
    });
    const body = (await answer.json()) as { workspaces: unknown[]; meta: Record<string, unknown> };
    expect(body.workspaces).toHaveLength(1);
    expect(body.meta).toMatchObject({
      page: 0,
      page_size: 1,
      key: 'workspaces',
      previous_page_url: null,
      next_page_url: null,
      first_page_url: `https://taskrouter.twilio.com/v1/Workspaces?${new URLSearchParams({ FriendlyName: name }).toString()}&PageSize=1&Page=0`,
    });
    const badPage = await fetch(`${emu.url}/v1/Workspaces?PageSize=0`, {
      headers: { Authorization: auth },
    });
    expect(badPage.status).toBe(400);
    expect(await badPage.json()).toMatchObject({ code: 20001, status: 400 });
    expect(contractViolations(exchanges)).toEqual([]);
    expect(
      emu
        .events()
        .filter((e) => e.type === 'rest.request' && e.operation === 'ListWorkspace')
        .map((e) => e.status),
    ).toEqual(expect.arrayContaining([200]));
  });
});

describe('EventsFilter and reservations that are rejected or time out', () => {
  it('sends only the filtered event types; a rejected or expired reservation goes to the next worker', async () => {
    const a = await worker(emu, 'flt-a', 'flt');
    const b = await worker(emu, 'flt-b', 'flt');
    const { taskSid } = await queuedCall(emu, 'flt');
    const rA = await pendingReservation(emu, taskSid, a);
    await ok(emu, `reservations/${rA}/reject`, { workerSid: a });
    // B's reservation is never answered: it times out (TaskReservationTimeout), and with nobody
    // left who has not declined, the task waits, pending.
    const rB = await pendingReservation(emu, taskSid, b);
    await waitFor(
      () => emu.state().taskrouter.reservations.find((r) => r.sid === rB)?.status,
      (s) => s === 'timeout',
      'B to time out',
    );
    expect(emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status).toBe('pending');
    const c = await worker(emu, 'flt-c', 'flt');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, c)}/accept`, {
      workerSid: c,
    });
    // Every event is logged, but only the filtered types were sent.
    const logged = emu
      .events()
      .filter((e) => e.type === 'taskrouter.event' && e.taskSid === taskSid)
      .map((e) => e.eventType);
    expect(logged).toEqual([
      'task.created',
      'reservation.created',
      'reservation.rejected',
      'reservation.created',
      'reservation.timeout',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
    ]);
    await expectEvents(emu, hook.received, taskSid, ['task.created', 'reservation.accepted']);
  });
});

describe('Flex token validation (POST /v1/Accounts/{AccountSid}/Tokens/validate)', () => {
  const validate = async (
    token: unknown,
    credentials = `${emu.accountSid}:${emu.authToken}`,
    account = emu.accountSid,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${emu.url}/v1/Accounts/${account}/Tokens/validate`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
        'Content-Type': 'application/json',
        'Cache-Control': 'no-cache',
      },
      body: JSON.stringify({ token }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers a valid token with the identity, roles and worker SID', async () => {
    const a = await worker(emu, 'tok-a', 'tok');
    const issued = await ok(emu, `workers/${a}/token`, {});
    expect(issued.token).toEqual(expect.any(String));
    const answer = await validate(issued.token);
    expect(answer).toEqual({
      status: 200,
      body: {
        valid: true,
        code: 0,
        message: null,
        expiration: issued.expiration,
        realm_user_id: 'tok-a',
        identity: 'tok-a',
        roles: ['agent'],
        worker_sid: a,
      },
    });
    expect(Date.parse(String(issued.expiration))).toBeGreaterThan(Date.now());
  });

  it('answers expired and unknown tokens valid:false, bad credentials 401', async () => {
    const a = await worker(emu, 'tok-b', 'tok');
    const expired = await ok(emu, `workers/${a}/token`, { ttlSeconds: -1 });
    expect(await validate(expired.token)).toEqual({
      status: 200,
      body: { valid: false, code: 20104, message: 'Token expired' },
    });
    expect(await validate('not-a-token')).toEqual({
      status: 200,
      body: { valid: false, code: 20160, message: 'Invalid token' },
    });
    const unauthorized = await validate(expired.token, `${emu.accountSid}:wrong`);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toMatchObject({ code: 20003, message: 'Authenticate', status: 401 });
    const badBody = await validate(42);
    expect(badBody.status).toBe(400);
    const unknownWorker = await fetch(`${emu.url}/_emulator/workers/WK0/token`, { method: 'POST' });
    expect(unknownWorker.status).toBe(404);
    expect(((await unknownWorker.json()) as { code: string }).code).toBe('EMU_ERR_UNKNOWN_WORKER');
  });
});

describe('the control API for the workspace and workers', () => {
  it('sets the EventCallbackUrl and filter; wrap-up by the agent ends the call (its flag); activity changes route waiting tasks', async () => {
    const other = await startWebhookServer();
    try {
      const bad = await fetch(`${emu.url}/_emulator/workspace`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ eventCallbackUrl: 'nope' }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { code: string }).code).toBe('EMU_ERR_BAD_REQUEST');
      const set = await ok(emu, 'workspace', {
        eventCallbackUrl: `${other.url}/cb`,
        eventsFilter: '',
      });
      expect(set).toMatchObject({ event_callback_url: `${other.url}/cb`, events_filter: null });

      const a = await ok(emu, 'workers', {
        friendlyName: 'wrap-a',
        queues: ['wrap'],
        activity: 'Offline',
      });
      const aSid = String(a.sid);
      const { callSid, taskSid } = await queuedCall(emu, 'wrap');
      // Nobody is Available: the task waits; going Available routes it.
      expect(emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status).toBe('pending');
      await ok(emu, `workers/${aSid}/activity`, { activity: 'Available' });
      const rA = await pendingReservation(emu, taskSid, aSid);
      await ok(emu, `reservations/${rA}/accept`, { workerSid: aSid });
      // Wrap-up kicks the agent's leg; alone with the customer its endConferenceOnExit is true, so the
      // conference ends and the customer's call with it (facts §4 conference rules).
      const wrapped = await ok(emu, `reservations/${rA}/wrapup`, { workerSid: aSid });
      expect(wrapped).toMatchObject({ status: 'wrapping', taskStatus: 'wrapping' });
      await waitFor(
        () => emu.state().calls.find((c) => c.sid === callSid)?.status,
        (s) => s === 'completed',
        'the customer call to end',
      );
      await ok(emu, `reservations/${rA}/complete`, { workerSid: aSid });
      await emu.taskrouter.idle();
      const types = other.received
        .filter((w) => w.params.TaskSid === taskSid)
        .map((w) => w.params.EventType);
      expect(types).toEqual([
        'task.created',
        'reservation.created',
        'reservation.accepted',
        'task.updated',
        'reservation.wrapup',
        'task.wrapup',
        'reservation.completed',
        'task.completed',
      ]);
      expect(
        other.received.some(
          (w) => w.params.EventType === 'worker.activity.update' && w.params.WorkerSid === aSid,
        ),
      ).toBe(true);
    } finally {
      await other.close();
    }
  });
});
