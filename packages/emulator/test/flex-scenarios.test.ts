/**
 * Flex voice tasks through the control API's agent-desktop verbs, checked at every step: conference
 * membership, hold states, endConferenceOnExit flags, reservation statuses and the workspace
 * event callbacks a real HTTP server receives. Sources: facts §4 (conference rules), §6 (what Flex
 * does on accept, transfer, updateEndConferenceOnExitForTask), §7 (event callbacks) and the
 * appendix (the jmadden transfer recipe, the "seed's five steps").
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/index.js';
import { contractViolations, recordingClient, waitFor, type Exchange } from './helpers/contract.js';
import {
  control,
  expectEvents,
  legOf,
  members,
  ok,
  pendingReservation,
  queuedCall,
  reservationStatuses,
  worker,
} from './helpers/flex.js';
import { startWebhookServer } from './helpers/webhook-server.js';
import { startServer, type TestServer } from './media-harness.js';

let emu: Emulator;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
let ws: TestServer;
let client: twilio.Twilio;
let exchanges: Exchange[];
let workspaceSid: string;

beforeAll(async () => {
  emu = await startEmulator();
  hook = await startWebhookServer();
  ws = await startServer();
  ({ client, exchanges } = recordingClient(emu));
  workspaceSid = emu.state().taskrouter.workspace.sid;
  // The workspace's EventCallbackUrl, set as a controller would, through the SDK (facts §7).
  await client.taskrouter.v1
    .workspaces(workspaceSid)
    .update({ eventCallbackUrl: `${hook.url}/tr` });
});
afterAll(async () => {
  await emu.close();
  await hook.close();
  await ws.close();
});

const customerTwiml = (taskSid: string, start: string): string =>
  `<Response>${start}<Dial><Conference beep="false" endConferenceOnExit="true">${taskSid}</Conference></Dial></Response>`;

async function rejoined(customer: string, taskSid: string, since: number): Promise<void> {
  await waitFor(
    () =>
      emu
        .events(since)
        .some(
          (e) =>
            e.type === 'conference.join' && e.callSid === customer && e.friendlyName === taskSid,
        ),
    Boolean,
    'the customer to rejoin',
  );
}

const lastSeq = (): number => emu.events().at(-1)?.seq ?? 0;

/** The task's conference holds exactly these participants (in any order). */
function expectMembers(taskSid: string, expected: ReturnType<typeof members>): void {
  const order = (list: ReturnType<typeof members>): ReturnType<typeof members> =>
    [...list].sort((x, y) => x.callSid.localeCompare(y.callSid));
  expect(order(members(emu, taskSid))).toEqual(order(expected));
}

describe('the seed five steps (facts appendix), warm transfer A → B by TwiML redirects', () => {
  it('builds, transfers and tears down the call as Flex and TaskRouter do', async () => {
    const a = await worker(emu, 'seed-a', 'seed');
    const b = await worker(emu, 'seed-b', 'seed');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'seed');
    const rA = await pendingReservation(emu, taskSid, a);
    // TaskRouter: task.created, then the reservation for the available worker.
    await expectEvents(emu, hook.received, taskSid, ['task.created', 'reservation.created']);
    expect(emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status).toBe('reserved');

    // Step 1 — beforeAcceptTask sets beep=false, beepOnCustomerEntrance=false.
    await ok(emu, `reservations/${rA}/accept`, {
      workerSid: a,
      conferenceOptions: { beep: false, beepOnCustomerEntrance: false },
    });
    const legA = legOf(emu, taskSid, a);
    // Flex: conference named after the task; customer endConferenceOnExit (endConferenceOnCustomerExit)
    // true; the first worker's flag true (no live worker yet) — facts §6 beforeAcceptTask.
    expectMembers(taskSid, [
      { callSid: legA, hold: false, endConferenceOnExit: true },
      { callSid: customer, hold: false, endConferenceOnExit: true },
    ]);
    const task = emu.state().taskrouter.tasks.find((t) => t.sid === taskSid);
    const conferenceSid = task?.conferenceSid ?? '';
    expect(task?.status).toBe('assigned');
    expect(task?.attributes).toMatchObject({
      call_sid: customer,
      conference: { sid: conferenceSid, participants: { customer, worker: legA } },
    });
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
    ]);

    // Step 2 — the backend sets the customer's flag false, polls it back, then redirects the
    // customer with A's stream: a leave and a rejoin, A's flag keeps the conference alive.
    await client
      .conferences(conferenceSid)
      .participants(customer)
      .update({ endConferenceOnExit: false });
    const readBack = await client.conferences(conferenceSid).participants(customer).fetch();
    expect(readBack.endConferenceOnExit).toBe(false);
    let mark = lastSeq();
    await client.calls(customer).update({
      twiml: customerTwiml(
        taskSid,
        `<Start><Stream name="Stream_${a}" url="${ws.origin}/a" track="both_tracks"><Parameter name="workerSid" value="${a}"/></Stream></Start>`,
      ),
    });
    await rejoined(customer, taskSid, mark);
    expect(
      members(emu, taskSid)
        .map((m) => m.callSid)
        .sort(),
    ).toEqual([legA, customer].sort());

    // Step 3 — beforeTransferTask: customer flag false; Flex holds the customer, transfers WARM.
    await client
      .conferences(conferenceSid)
      .participants(customer)
      .update({ endConferenceOnExit: false });
    const transfer = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: b,
      mode: 'WARM',
    });
    const rB = String(transfer.reservationSid);
    expect(transfer.transfer).toMatchObject({
      mode: 'WARM',
      type: 'WORKER',
      to: b,
      workerSid: a,
      status: 'INITIATED',
    });
    expectMembers(taskSid, [
      { callSid: legA, hold: false, endConferenceOnExit: true },
      { callSid: customer, hold: true, endConferenceOnExit: false },
    ]);
    const reservations = emu.state().taskrouter.reservations;
    expect(reservations.find((r) => r.sid === rA)?.outgoingTransferObject).toMatchObject({
      status: 'INITIATED',
      mode: 'WARM',
    });
    expect(reservations.find((r) => r.sid === rB)?.incomingTransferObject).toMatchObject({
      status: 'INITIATED',
      to: b,
    });
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'accepted', [b]: 'pending' });

    // Step 4 — B accepts: B joins with endConferenceOnExit=false (a live worker exists), and Flex's
    // updateEndConferenceOnExitForTask sets both workers false (3 live participants).
    await ok(emu, `reservations/${rB}/accept`, {
      workerSid: b,
      conferenceOptions: { beep: false },
    });
    const legB = legOf(emu, taskSid, b);
    await waitFor(
      () => members(emu, taskSid),
      (m) => m.length === 3 && m.every((p) => p.callSid !== legA || !p.endConferenceOnExit),
      'flags',
    );
    expectMembers(taskSid, [
      { callSid: legA, hold: false, endConferenceOnExit: false },
      { callSid: customer, hold: true, endConferenceOnExit: false },
      { callSid: legB, hold: false, endConferenceOnExit: false },
    ]);
    // The same TwiML with B's stream: two both_tracks streams on the customer leg; the rejoin clears
    // hold (facts §4), so the backend re-holds the customer.
    mark = lastSeq();
    await client.calls(customer).update({
      twiml: customerTwiml(
        taskSid,
        `<Start><Stream name="Stream_${b}" url="${ws.origin}/b" track="both_tracks"><Parameter name="workerSid" value="${b}"/></Stream></Start>`,
      ),
    });
    await rejoined(customer, taskSid, mark);
    expect(members(emu, taskSid).find((m) => m.callSid === customer)?.hold).toBe(false);
    await ok(emu, `tasks/${taskSid}/hold`, { workerSid: b });
    expect(members(emu, taskSid).find((m) => m.callSid === customer)).toEqual({
      callSid: customer,
      hold: true,
      endConferenceOnExit: true,
    });
    expect(
      emu
        .state()
        .streams.filter((s) => s.callSid === customer && s.status === 'in-progress')
        .map((s) => s.name),
    ).toEqual([`Stream_${a}`, `Stream_${b}`]);

    // Step 5 — A completes the warm transfer: A leaves and wraps up; B alone with the customer
    // gets endConferenceOnExit=true again. A's stream is stopped by REST, without a redirect.
    await ok(emu, `tasks/${taskSid}/complete-transfer`, { workerSid: a });
    await waitFor(
      () => members(emu, taskSid),
      (m) => m.length === 2 && m.every((p) => p.endConferenceOnExit),
      'B flag true',
    );
    expectMembers(taskSid, [
      { callSid: customer, hold: true, endConferenceOnExit: true },
      { callSid: legB, hold: false, endConferenceOnExit: true },
    ]);
    await client.calls(customer).streams(`Stream_${a}`).update({ status: 'stopped' });
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'accepted' });
    await ok(emu, `tasks/${taskSid}/unhold`, { workerSid: b });
    await ok(emu, `reservations/${rA}/complete`, { workerSid: a });

    // The customer hangs up: the conference ends (its flag), B's leg leaves, B wraps, the task too.
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    await waitFor(
      () => reservationStatuses(emu, taskSid)[b],
      (s) => s === 'wrapping',
      'B wrapping',
    );
    expect(emu.state().conferences.find((c) => c.sid === conferenceSid)).toMatchObject({
      status: 'completed',
      reasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
      callSidEndingConference: customer,
    });
    await ok(emu, `reservations/${rB}/complete`, { workerSid: b });
    expect(emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status).toBe('completed');
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
      'task.transfer-initiated',
      'reservation.created',
      'reservation.accepted',
      'task.transfer-completed',
      'task.updated',
      'reservation.wrapup',
      'reservation.completed',
      'reservation.wrapup',
      'task.wrapup',
      'reservation.completed',
      'task.completed',
    ]);
    const perReservation = hook.received
      .filter((w) => w.params.TaskSid === taskSid && w.params.ReservationSid !== undefined)
      .map((w) => `${w.params.EventType ?? ''}:${w.params.ReservationSid === rA ? 'A' : 'B'}`);
    expect(perReservation).toEqual([
      'reservation.created:A',
      'reservation.accepted:A',
      'reservation.created:B',
      'reservation.accepted:B',
      'reservation.wrapup:A',
      'reservation.completed:A',
      'reservation.wrapup:B',
      'reservation.completed:B',
    ]);
    // What the recipe cost, counted from the event log: the customer leg left the conference twice
    // for redirects (each followed by a rejoin) before it hung up.
    const leaves = emu
      .events()
      .filter((e) => e.type === 'conference.leave' && e.callSid === customer);
    expect(leaves.map((e) => e.reason)).toEqual([
      'participant_updated_via_api',
      'participant_updated_via_api',
      'participant_hung_up',
    ]);
    expect(contractViolations(exchanges)).toEqual([]);
  });
});

describe('cold transfer', () => {
  it('the transferring agent leaves at once with endConferenceOnExit=false; the customer waits on hold', async () => {
    const a = await worker(emu, 'cold-a', 'cold');
    const b = await worker(emu, 'cold-b', 'cold');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'cold');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const legA = legOf(emu, taskSid, a);
    const mark = lastSeq();
    const transfer = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: b,
      mode: 'COLD',
    });
    // Flex sets the transferring worker's endConferenceOnExit=false before task.transfer (facts §6),
    // so its leaving does not end the call; the customer alone hears hold music.
    const flagFlip = emu
      .events(mark)
      .find((e) => e.type === 'conference.modify' && e.callSid === legA);
    expect(flagFlip).toMatchObject({ endConferenceOnExit: false });
    expectMembers(taskSid, [{ callSid: customer, hold: true, endConferenceOnExit: true }]);
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'pending' });
    expect(emu.state().calls.find((c) => c.sid === legA)?.status).toBe('completed');

    await ok(emu, `reservations/${String(transfer.reservationSid)}/accept`, { workerSid: b });
    const legB = legOf(emu, taskSid, b);
    // B is the first live worker: its flag is true; the customer comes off hold (UNCONFIRMED).
    expectMembers(taskSid, [
      { callSid: customer, hold: false, endConferenceOnExit: true },
      { callSid: legB, hold: false, endConferenceOnExit: true },
    ]);
    expect(emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status).toBe('assigned');
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
      'task.transfer-initiated',
      'reservation.created',
      'reservation.wrapup',
      'reservation.accepted',
      'task.transfer-completed',
      'task.updated',
    ]);
    await ok(emu, `tasks/${taskSid}/hangup`, { party: b });
    // B's leg had endConferenceOnExit=true: the conference ends, the customer's call with it.
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === customer)?.status,
      (s) => s === 'completed',
      'customer call to end',
    );
    expect(emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status).toBe('wrapping');
  });
});

describe('A → B → C', () => {
  it('two warm transfers in a row leave C alone with the customer', async () => {
    const [a, b, c] = await Promise.all(
      ['abc-a', 'abc-b', 'abc-c'].map((n) => worker(emu, n, 'abc')),
    );
    if (a === undefined || b === undefined || c === undefined) throw new Error('workers');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'abc');
    const first = await pendingReservation(emu, taskSid, a);
    await ok(emu, `reservations/${first}/accept`, { workerSid: a });
    for (const [from, to] of [
      [a, b],
      [b, c],
    ] as const) {
      const t = await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: from, to, mode: 'WARM' });
      await ok(emu, `reservations/${String(t.reservationSid)}/accept`, { workerSid: to });
      expect(members(emu, taskSid)).toHaveLength(3);
      await ok(emu, `tasks/${taskSid}/complete-transfer`, { workerSid: from });
      await ok(emu, `tasks/${taskSid}/unhold`, { workerSid: to });
    }
    await waitFor(
      () => members(emu, taskSid),
      (m) => m.every((p) => p.endConferenceOnExit),
      'C flag true',
    );
    expectMembers(taskSid, [
      { callSid: customer, hold: false, endConferenceOnExit: true },
      { callSid: legOf(emu, taskSid, c), hold: false, endConferenceOnExit: true },
    ]);
    expect(reservationStatuses(emu, taskSid)).toEqual({
      [a]: 'wrapping',
      [b]: 'wrapping',
      [c]: 'accepted',
    });
    const transfers = emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.transfers ?? [];
    expect(transfers.map((t) => [t?.workerSid, t?.to, t?.status])).toEqual([
      [a, b, 'COMPLETED'],
      [b, c, 'COMPLETED'],
    ]);
  });
});

describe('transfer to a queue', () => {
  it('offers the task to an available worker of the target queue, who joins the same conference', async () => {
    const a = await worker(emu, 'tq-a', 'tq-front');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'tq-front');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const back = emu.state().taskrouter.queues.find((q) => q.friendlyName === 'tq-back')?.sid;
    expect(back).toBeUndefined();
    const q = await worker(emu, 'tq-q', 'tq-back');
    const queueSid =
      emu.state().taskrouter.queues.find((x) => x.friendlyName === 'tq-back')?.sid ?? '';
    const t = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: queueSid,
      mode: 'COLD',
    });
    expect(t.transfer).toMatchObject({ type: 'QUEUE', to: queueSid, mode: 'COLD' });
    const rQ = await pendingReservation(emu, taskSid, q);
    expect(rQ).toBe(t.reservationSid);
    await ok(emu, `reservations/${rQ}/accept`, { workerSid: q });
    expect(
      members(emu, taskSid)
        .map((m) => m.callSid)
        .sort(),
    ).toEqual([customer, legOf(emu, taskSid, q)].sort());
    expect(emu.state().conferences.filter((c) => c.friendlyName === taskSid)).toHaveLength(1);
  });
});

describe('the customer hangs up mid-transfer', () => {
  it('ends the conference: the agent wraps up, the pending transfer and its reservation are canceled', async () => {
    const a = await worker(emu, 'mid-a', 'mid');
    const b = await worker(emu, 'mid-b', 'mid');
    const { taskSid } = await queuedCall(emu, 'mid');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const t = await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: b, mode: 'WARM' });
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    await waitFor(
      () => emu.state().taskrouter.tasks.find((x) => x.sid === taskSid)?.status,
      (s) => s === 'wrapping',
      'task wrapping',
    );
    expectMembers(taskSid, []);
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'canceled' });
    expect(
      emu.state().taskrouter.reservations.find((r) => r.sid === t.reservationSid)
        ?.incomingTransferObject,
    ).toMatchObject({ status: 'CANCELED' });
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
      'task.transfer-initiated',
      'reservation.created',
      'reservation.wrapup',
      'reservation.canceled',
      'task.transfer-canceled',
      'task.wrapup',
    ]);
    // B is free again; the declined transfer left nothing pending for it.
    expect(
      emu
        .state()
        .taskrouter.reservations.filter((r) => r.workerSid === b && r.status === 'pending'),
    ).toEqual([]);
  });

  it('while still waiting in the queue: the task is canceled', async () => {
    await ok(emu, 'workers', {
      friendlyName: 'away',
      queues: ['nobody-here'],
      activity: 'Offline',
    });
    const { callSid, taskSid } = await queuedCall(emu, 'nobody-here');
    await emu.hangup(callSid);
    await waitFor(
      () => emu.state().taskrouter.tasks.find((t) => t.sid === taskSid)?.status,
      (s) => s === 'canceled',
      'task canceled',
    );
    await expectEvents(emu, hook.received, taskSid, ['task.created', 'task.canceled']);
    expect(
      hook.received.find(
        (w) => w.params.EventType === 'task.canceled' && w.params.TaskSid === taskSid,
      )?.params.TaskCanceledReason,
    ).toBe('hangup');
  });
});

describe('agents hanging up', () => {
  it('A hangs up during a warm transfer: its flag is false, the call goes on with B; B alone hangs up, the call ends', async () => {
    const a = await worker(emu, 'hang-a', 'hang');
    const b = await worker(emu, 'hang-b', 'hang');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'hang');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const t = await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: b, mode: 'WARM' });
    await ok(emu, `reservations/${String(t.reservationSid)}/accept`, { workerSid: b });
    const legB = legOf(emu, taskSid, b);
    await ok(emu, `tasks/${taskSid}/hangup`, { party: a });
    // Three live participants made both flags false (Flex), so A leaving ends nothing
    // (facts §4: only an endConferenceOnExit participant ends the conference); then B's flag is
    // true again (≤ 2 live participants), and A's reservation wraps up.
    await waitFor(
      () => members(emu, taskSid),
      (m) => m.length === 2 && m.every((p) => p.endConferenceOnExit),
      'B flag true',
    );
    expectMembers(taskSid, [
      { callSid: customer, hold: true, endConferenceOnExit: true },
      { callSid: legB, hold: false, endConferenceOnExit: true },
    ]);
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'accepted' });
    expect(emu.state().taskrouter.tasks.find((x) => x.sid === taskSid)?.status).toBe('assigned');
    await ok(emu, `tasks/${taskSid}/hangup`, { party: b });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === customer)?.status,
      (s) => s === 'completed',
      'the customer call to end',
    );
    expect(emu.state().conferences.find((c) => c.friendlyName === taskSid)).toMatchObject({
      status: 'completed',
      reasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
      callSidEndingConference: legB,
    });
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'wrapping' });
    expect(emu.state().taskrouter.tasks.find((x) => x.sid === taskSid)?.status).toBe('wrapping');
  });

  it('the customer hangs up while held alone during a cold transfer: the target reservation is canceled', async () => {
    const a = await worker(emu, 'coldhang-a', 'coldhang');
    const b = await worker(emu, 'coldhang-b', 'coldhang');
    const { taskSid } = await queuedCall(emu, 'coldhang');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: b, mode: 'COLD' });
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    await waitFor(
      () => reservationStatuses(emu, taskSid)[b],
      (s) => s === 'canceled',
      'B canceled',
    );
    expect(emu.state().taskrouter.tasks.find((x) => x.sid === taskSid)?.status).toBe('wrapping');
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
      'task.transfer-initiated',
      'reservation.created',
      'reservation.wrapup',
      'reservation.canceled',
      'task.transfer-canceled',
      'task.wrapup',
    ]);
  });
});

describe('workspace event callbacks', () => {
  it('are signed as Twilio signs webhooks and carry TaskRouter field names', async () => {
    await emu.taskrouter.idle();
    const callbacks = hook.received.filter((w) => w.path === '/tr');
    expect(callbacks.length).toBeGreaterThan(20);
    for (const callback of callbacks) {
      expect(
        twilio.validateRequest(
          emu.authToken,
          callback.signature ?? '',
          callback.url,
          callback.params,
        ),
      ).toBe(true);
    }
    expect(
      twilio.validateRequest(
        'wrong-token',
        callbacks[0]?.signature ?? '',
        callbacks[0]?.url ?? '',
        callbacks[0]?.params ?? {},
      ),
    ).toBe(false);
    const accepted = callbacks.find((w) => w.params.EventType === 'reservation.accepted');
    expect(Object.keys(accepted?.params ?? {})).toEqual(
      expect.arrayContaining([
        'EventType',
        'AccountSid',
        'WorkspaceSid',
        'WorkspaceName',
        'EventDescription',
        'ResourceType',
        'ResourceSid',
        'Timestamp',
        'TimestampMs',
        'Sid',
        'TaskSid',
        'TaskAttributes',
        'TaskAge',
        'TaskPriority',
        'TaskAssignmentStatus',
        'TaskQueueSid',
        'TaskQueueName',
        'WorkflowSid',
        'WorkflowName',
        'WorkerSid',
        'WorkerName',
        'WorkerAttributes',
        'WorkerActivitySid',
        'WorkerActivityName',
        'ReservationSid',
      ]),
    );
    expect(accepted?.params).toMatchObject({
      AccountSid: emu.accountSid,
      WorkspaceSid: workspaceSid,
      ResourceType: 'reservation',
    });
    expect(accepted?.params.ResourceSid).toBe(accepted?.params.ReservationSid);
    expect(accepted?.params.Timestamp).toMatch(/^\d{10}$/);
  });
});

describe('bad control requests', () => {
  it('answer a clear 4xx with a stable code and change nothing', async () => {
    const a = await worker(emu, 'bad-a', 'bad');
    const b = await worker(emu, 'bad-b', 'bad');
    const { taskSid } = await queuedCall(emu, 'bad');
    const rA = await pendingReservation(emu, taskSid, a);
    const snapshot = (): string => {
      const { calls, conferences, taskrouter } = emu.state();
      return JSON.stringify({ calls, conferences, taskrouter });
    };
    const check = async (
      path: string,
      body: Record<string, unknown>,
      status: number,
      code: string,
    ): Promise<void> => {
      const before = snapshot();
      const seq = lastSeq();
      const answer = await control(emu, path, body);
      expect({ path, status: answer.status, code: answer.body.code }).toEqual({
        path,
        status,
        code,
      });
      expect(typeof answer.body.message).toBe('string');
      expect(snapshot()).toBe(before);
      expect(
        emu.events(seq).filter((e) => e.type.startsWith('taskrouter') || e.type === 'flex.action'),
      ).toEqual([]);
    };
    await check(
      `reservations/${rA}/accept`,
      { workerSid: 'WK00000000000000000000000000000000' },
      404,
      'EMU_ERR_UNKNOWN_WORKER',
    );
    await check(`reservations/${rA}/accept`, { workerSid: b }, 403, 'EMU_ERR_NOT_YOUR_RESERVATION');
    await check(`reservations/WR0/accept`, { workerSid: a }, 404, 'EMU_ERR_UNKNOWN_RESERVATION');
    await check(`reservations/${rA}/accept`, {}, 400, 'EMU_ERR_BAD_REQUEST');
    await check(`reservations/${rA}/complete`, { workerSid: a }, 409, 'EMU_ERR_ILLEGAL_TRANSITION');
    await check(
      `tasks/${taskSid}/transfer`,
      { workerSid: a, to: b, mode: 'WARM' },
      403,
      'EMU_ERR_NOT_YOUR_TASK',
    );
    await ok(emu, `reservations/${rA}/accept`, { workerSid: a });
    await check(`reservations/${rA}/accept`, { workerSid: a }, 409, 'EMU_ERR_ILLEGAL_TRANSITION');
    await check(
      `tasks/${taskSid}/transfer`,
      { workerSid: b, to: a, mode: 'WARM' },
      403,
      'EMU_ERR_NOT_YOUR_TASK',
    );
    await check(
      `tasks/${taskSid}/transfer`,
      { workerSid: a, to: b, mode: 'LUKEWARM' },
      400,
      'EMU_ERR_BAD_REQUEST',
    );
    await check(
      `tasks/${taskSid}/transfer`,
      { workerSid: a, to: 'WK00000000000000000000000000000000', mode: 'COLD' },
      404,
      'EMU_ERR_UNKNOWN_WORKER',
    );
    await check(`tasks/${taskSid}/complete-transfer`, { workerSid: a }, 409, 'EMU_ERR_NO_TRANSFER');
    await check(`tasks/${taskSid}/unhold`, { workerSid: a }, 409, 'EMU_ERR_ILLEGAL_TRANSITION');
    await check(`tasks/WT0/hold`, { workerSid: a }, 404, 'EMU_ERR_UNKNOWN_TASK');
    await check(`tasks/${taskSid}/hangup`, { party: b }, 409, 'EMU_ERR_ILLEGAL_TRANSITION');
    await check('workers', { friendlyName: 'bad-a' }, 409, 'EMU_ERR_BAD_REQUEST');
    await check(
      'queued-calls',
      { from: '+1', to: '+2', queue: 'no-such-queue' },
      404,
      'EMU_ERR_UNKNOWN_QUEUE',
    );
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
  });
});
