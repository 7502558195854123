/**
 * Acceptance review of the TaskRouter/Flex emulation from a controller author's side: what a
 * queue transfer does when its target declines, and how the workspace event callbacks sign a
 * configured URL that has a path and a query string. Sources: facts §6 (Flex transfers), §7 (event
 * callbacks and signing), https://www.twilio.com/docs/taskrouter/api/reservations ("the Task will
 * be available for other workers" once a reservation times out).
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlError, startEmulator, type Emulator } from '../src/index.js';
import { recordingClient, waitFor } from './helpers/contract.js';
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

let emu: Emulator;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
let client: twilio.Twilio;
let workspaceSid: string;
/** The EventCallbackUrl exactly as configured: a path and a query string needing encoding. */
let callbackUrl: string;

beforeAll(async () => {
  // Short enough for the timeout step, long enough for a loaded machine to accept in time.
  emu = await startEmulator({ reservationTimeoutS: 1.5 });
  hook = await startWebhookServer();
  ({ client } = recordingClient(emu));
  workspaceSid = emu.state().taskrouter.workspace.sid;
  callbackUrl = `${hook.url}/flex/tr-events?tenant=a%20b&x=1`;
  await client.taskrouter.v1.workspaces(workspaceSid).update({ eventCallbackUrl: callbackUrl });
});
afterAll(async () => {
  await emu.close();
  await hook.close();
});

const queueSid = (name: string): string =>
  emu.state().taskrouter.queues.find((q) => q.friendlyName === name)?.sid ?? '';

describe('a queue transfer whose target declines', () => {
  it('is offered to the next available worker of the queue (reject, then timeout), never stranding the customer', async () => {
    const a = await worker(emu, 'rr-a', 'rr-front');
    const b1 = await worker(emu, 'rr-b1', 'rr-back');
    const b2 = await worker(emu, 'rr-b2', 'rr-back');
    const b3 = await worker(emu, 'rr-b3', 'rr-back');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'rr-front');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const t = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: queueSid('rr-back'),
      mode: 'COLD',
    });
    const transferSid = (t.transfer as { sid: string }).sid;
    // A cold transfer: A has left, the customer waits alone on hold.
    expect(members(emu, taskSid)).toEqual([
      { callSid: customer, hold: true, endConferenceOnExit: true },
    ]);
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, b1)}/reject`, {
      workerSid: b1,
    });
    // The transfer goes on: the next worker of the queue is offered the task…
    const r2 = await pendingReservation(emu, taskSid, b2);
    expect(
      emu.state().taskrouter.reservations.find((r) => r.sid === r2)?.incomingTransferObject,
    ).toMatchObject({ sid: transferSid, status: 'INITIATED' });
    // …lets it time out (reservationTimeoutS 1.5), and the third one gets it and accepts.
    const r3 = await pendingReservation(emu, taskSid, b3);
    expect(reservationStatuses(emu, taskSid)).toMatchObject({
      [a]: 'wrapping',
      [b1]: 'rejected',
      [b2]: 'timeout',
      [b3]: 'pending',
    });
    await ok(emu, `reservations/${r3}/accept`, { workerSid: b3 });
    const sorted = members(emu, taskSid).sort((x, y) => x.callSid.localeCompare(y.callSid));
    expect(sorted).toEqual(
      [
        { callSid: customer, hold: false, endConferenceOnExit: true },
        { callSid: legOf(emu, taskSid, b3), hold: false, endConferenceOnExit: true },
      ].sort((x, y) => x.callSid.localeCompare(y.callSid)),
    );
    expect(
      emu.state().taskrouter.reservations.find((r) => r.sid === r3)?.incomingTransferObject,
    ).toMatchObject({ sid: transferSid, status: 'COMPLETED' });
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
      'task.transfer-initiated',
      'reservation.created',
      'reservation.wrapup',
      'reservation.rejected',
      'task.transfer-attempt-failed',
      'reservation.created',
      'reservation.timeout',
      'task.transfer-attempt-failed',
      'reservation.created',
      'reservation.accepted',
      'task.transfer-completed',
      'task.updated',
    ]);
  });

  it('keeps waiting while no worker of the queue is free, and is canceled if the customer hangs up', async () => {
    const a = await worker(emu, 'rw-a', 'rw-front');
    const b = await worker(emu, 'rw-b', 'rw-back');
    const { taskSid } = await queuedCall(emu, 'rw-front');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const t = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: queueSid('rw-back'),
      mode: 'WARM',
    });
    const transferSid = (t.transfer as { sid: string }).sid;
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, b)}/reject`, {
      workerSid: b,
    });
    const transfer = (): unknown =>
      emu
        .state()
        .taskrouter.tasks.find((x) => x.sid === taskSid)
        ?.transfers.at(-1);
    expect(transfer()).toMatchObject({ sid: transferSid, status: 'INITIATED' });
    // A warm transfer still waiting: A stays with the held customer.
    expect(members(emu, taskSid)).toHaveLength(2);
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    await waitFor(
      () => emu.state().taskrouter.tasks.find((x) => x.sid === taskSid)?.status,
      (s) => s === 'wrapping',
      'task wrapping',
    );
    expect(transfer()).toMatchObject({ sid: transferSid, status: 'CANCELED' });
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'rejected' });
  });
});

describe('workspace event callbacks to a URL with a path and a query string', () => {
  it('validate with twilio.validateRequest against the EventCallbackUrl exactly as configured', async () => {
    await emu.taskrouter.idle();
    const callbacks = hook.received.filter((w) => w.path === '/flex/tr-events');
    expect(callbacks.length).toBeGreaterThan(10);
    for (const callback of callbacks) {
      expect(callback.method).toBe('POST');
      expect(
        twilio.validateRequest(
          emu.authToken,
          callback.signature ?? '',
          callbackUrl,
          callback.params,
        ),
      ).toBe(true);
    }
    // Signed over the query string too: dropping it breaks the signature.
    const first = callbacks[0];
    expect(
      twilio.validateRequest(
        emu.authToken,
        first?.signature ?? '',
        `${hook.url}/flex/tr-events`,
        first?.params ?? {},
      ),
    ).toBe(false);
    // TaskAttributes is a JSON string, as TaskRouter sends it.
    expect(JSON.parse(first?.params.TaskAttributes ?? '')).toMatchObject({
      call_sid: expect.stringMatching(/^CA/) as unknown,
    });
  });
});

describe('the workspace EventCallbackUrl', () => {
  it('must be an http(s) URL, through the SDK and the control API alike, and a refusal changes nothing', async () => {
    const before = emu.state().taskrouter.workspace;
    for (const url of ['ftp://127.0.0.1/events', 'mailto:ops@example.com', 'not a url']) {
      await expect(
        client.taskrouter.v1.workspaces(workspaceSid).update({ eventCallbackUrl: url }),
      ).rejects.toMatchObject({ status: 400, code: 21205 });
      const answer = await control(emu, 'workspace', { eventCallbackUrl: url });
      expect({ url, status: answer.status, code: answer.body.code }).toEqual({
        url,
        status: 400,
        code: 'EMU_ERR_BAD_REQUEST',
      });
      expect(() => {
        emu.taskrouter.updateWorkspace({ eventCallbackUrl: url });
      }).toThrow(ControlError);
    }
    expect(emu.state().taskrouter.workspace).toEqual(before);
    expect(before.eventCallbackUrl).toBe(callbackUrl);
  });
});

describe('the transferring agent hangs up before a WARM target accepts', () => {
  it("ends the call: with two live participants Flex keeps the agent's endConferenceOnExit true", async () => {
    // facts §6 updateEndConferenceOnExitForTask: true with ≤ 2 live participants. A pending WARM
    // transfer leaves A alone with the held customer, so A leaving ends the conference (facts §4);
    // only a COLD transfer sets A's flag false first.
    const a = await worker(emu, 'wh-a', 'wh');
    const b = await worker(emu, 'wh-b', 'wh');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'wh');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const t = await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: b, mode: 'WARM' });
    const sorted = (list: ReturnType<typeof members>): ReturnType<typeof members> =>
      [...list].sort((x, y) => x.callSid.localeCompare(y.callSid));
    expect(sorted(members(emu, taskSid))).toEqual(
      sorted([
        { callSid: customer, hold: true, endConferenceOnExit: true },
        { callSid: legOf(emu, taskSid, a), hold: false, endConferenceOnExit: true },
      ]),
    );
    await ok(emu, `tasks/${taskSid}/hangup`, { party: a });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === customer)?.status,
      (s) => s === 'completed',
      'the customer call to end',
    );
    expect(
      emu.state().conferences.find((c) => c.friendlyName === taskSid)?.reasonConferenceEnded,
    ).toBe('participant-with-end-conference-on-exit-left');
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'wrapping', [b]: 'canceled' });
    expect(
      emu.state().taskrouter.reservations.find((r) => r.sid === t.reservationSid)
        ?.incomingTransferObject,
    ).toMatchObject({ status: 'CANCELED' });
  });
});

describe('a transfer to a worker who is not free', () => {
  it('waits: an Offline target is offered the task once Available, a busy one once its other task completes', async () => {
    const a = await worker(emu, 'tw-a', 'tw');
    const off = String(
      (
        await ok(emu, 'workers', {
          friendlyName: 'tw-off',
          queues: ['tw-other'],
          activity: 'Offline',
        })
      ).sid,
    );
    const { callSid: customer, taskSid } = await queuedCall(emu, 'tw');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
    });
    const t = await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: off, mode: 'WARM' });
    expect(t).toMatchObject({ reservationSid: null, transfer: { status: 'INITIATED', to: off } });
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'accepted' });
    await ok(emu, `workers/${off}/activity`, { activity: 'Available' });
    const rOff = await pendingReservation(emu, taskSid, off);
    expect(
      emu.state().taskrouter.reservations.find((r) => r.sid === rOff)?.incomingTransferObject,
    ).toMatchObject({ type: 'WORKER', to: off, status: 'INITIATED' });
    await ok(emu, `reservations/${rOff}/accept`, { workerSid: off });
    expect(members(emu, taskSid).map((m) => m.callSid)).toEqual(
      expect.arrayContaining([customer, legOf(emu, taskSid, a), legOf(emu, taskSid, off)]),
    );

    // A busy target: `off` now holds this task, so a second call's COLD transfer to it waits.
    const c = await worker(emu, 'tw-c', 'tw-second');
    const second = await queuedCall(emu, 'tw-second');
    await ok(emu, `reservations/${await pendingReservation(emu, second.taskSid, c)}/accept`, {
      workerSid: c,
    });
    const t2 = await ok(emu, `tasks/${second.taskSid}/transfer`, {
      workerSid: c,
      to: off,
      mode: 'COLD',
    });
    expect(t2.reservationSid).toBeNull();
    // The COLD transfer: C has left, the second customer waits alone on hold.
    expect(members(emu, second.taskSid)).toEqual([
      { callSid: second.callSid, hold: true, endConferenceOnExit: true },
    ]);
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    const rFirst = emu
      .state()
      .taskrouter.reservations.find((r) => r.sid === rOff && r.status === 'wrapping');
    expect(rFirst).toBeDefined();
    await ok(emu, `reservations/${rOff}/complete`, { workerSid: off });
    const rSecond = await pendingReservation(emu, second.taskSid, off);
    await ok(emu, `reservations/${rSecond}/accept`, { workerSid: off });
    const sorted = members(emu, second.taskSid).sort((x, y) => x.callSid.localeCompare(y.callSid));
    expect(sorted).toEqual(
      [
        { callSid: second.callSid, hold: false, endConferenceOnExit: true },
        { callSid: legOf(emu, second.taskSid, off), hold: false, endConferenceOnExit: true },
      ].sort((x, y) => x.callSid.localeCompare(y.callSid)),
    );
  });
});

describe('cancelling a WARM transfer', () => {
  it("cancels the target's offer or the wait, keeps the agent with the held customer, and allows a new transfer", async () => {
    const a = await worker(emu, 'ct-a', 'ct');
    const b = await worker(emu, 'ct-b', 'ct');
    const off = String(
      (await ok(emu, 'workers', { friendlyName: 'ct-off', queues: ['ct-x'], activity: 'Offline' }))
        .sid,
    );
    const { callSid: customer, taskSid } = await queuedCall(emu, 'ct');
    const rA = await pendingReservation(emu, taskSid, a);
    await ok(emu, `reservations/${rA}/accept`, { workerSid: a });
    // Only the transferring agent may cancel, and only a transfer in progress.
    expect(
      (await control(emu, `tasks/${taskSid}/cancel-transfer`, { workerSid: a })).body.code,
    ).toBe('EMU_ERR_NO_TRANSFER');
    const waiting = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: off,
      mode: 'WARM',
    });
    expect(waiting.reservationSid).toBeNull();
    expect((await control(emu, `tasks/${taskSid}/cancel-transfer`, { workerSid: b })).status).toBe(
      403,
    );
    await ok(emu, `tasks/${taskSid}/cancel-transfer`, { workerSid: a });
    const offered = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: b,
      mode: 'WARM',
    });
    const rB = String(offered.reservationSid);
    const view = await ok(emu, `tasks/${taskSid}/cancel-transfer`, { workerSid: a });
    expect(view).toMatchObject({
      sid: rA,
      status: 'accepted',
      outgoingTransferObject: { status: 'CANCELED' },
    });
    expect(reservationStatuses(emu, taskSid)).toEqual({ [a]: 'accepted', [b]: 'canceled' });
    expect(
      emu
        .state()
        .taskrouter.tasks.find((t) => t.sid === taskSid)
        ?.transfers.map((t) => t?.status),
    ).toEqual(['CANCELED', 'CANCELED']);
    const sorted = members(emu, taskSid).sort((x, y) => x.callSid.localeCompare(y.callSid));
    expect(sorted).toEqual(
      [
        { callSid: customer, hold: true, endConferenceOnExit: true },
        { callSid: legOf(emu, taskSid, a), hold: false, endConferenceOnExit: true },
      ].sort((x, y) => x.callSid.localeCompare(y.callSid)),
    );
    // The off worker becoming Available later gets nothing: that transfer is over.
    await ok(emu, `workers/${off}/activity`, { activity: 'Available' });
    expect(emu.state().taskrouter.reservations.filter((r) => r.workerSid === off)).toEqual([]);
    await ok(emu, `tasks/${taskSid}/unhold`, { workerSid: a });
    await expectEvents(emu, hook.received, taskSid, [
      'task.created',
      'reservation.created',
      'reservation.accepted',
      'task.updated',
      'task.transfer-initiated',
      'task.transfer-canceled',
      'task.transfer-initiated',
      'reservation.created',
      'reservation.canceled',
      'task.transfer-canceled',
    ]);
    expect(rB).toMatch(/^WR/);
  });
});
