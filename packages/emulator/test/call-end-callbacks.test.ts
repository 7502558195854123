/**
 * The webhooks a stream controller can learn from that a customer's call or an agent's leg ended
 * while no stream runs (issue #5): the phone number's call status callback (final status only,
 * per call or emulator-wide) and the conference status callbacks a Flex plugin asks for on accept
 * (`conferenceOptions.conferenceStatusCallback*`, facts §6; fields facts §4), per accept or
 * emulator-wide. Every webhook is received by a real HTTP server and its X-Twilio-Signature checked
 * with the official SDK's `validateRequest` (facts §7).
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/index.js';
import { waitFor } from './helpers/contract.js';
import {
  control,
  legOf,
  members,
  ok,
  pendingReservation,
  queuedCall,
  worker,
} from './helpers/flex.js';
import { startWebhookServer, type ReceivedWebhook } from './helpers/webhook-server.js';

let emu: Emulator;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;

beforeAll(async () => {
  // The receiver first: its URL is the number's status callback given at start.
  hook = await startWebhookServer();
  emu = await startEmulator({ inboundStatusCallback: `${hook.url}/number-status` });
});
afterAll(async () => {
  await emu.close();
  await hook.close();
});

/** Webhooks received on `path` (optionally only those about `callSid`), in arrival order. */
const at = (path: string, callSid?: string): ReceivedWebhook[] =>
  hook.received.filter(
    (w) => w.path === path && (callSid === undefined || w.params.CallSid === callSid),
  );

/** Conference callbacks received on `path` for one conference, in `SequenceNumber` order. */
const conferenceCallbacks = (path: string, conferenceSid: string): ReceivedWebhook[] =>
  at(path)
    .filter((w) => w.params.ConferenceSid === conferenceSid)
    .sort((x, y) => Number(x.params.SequenceNumber) - Number(y.params.SequenceNumber));

/** Every webhook the emulator finished sending (delivered or failed) for `callSid` and `purpose`. */
const sent = (purpose: string, callSid?: string): number =>
  emu
    .events()
    .filter(
      (e) =>
        e.type === 'webhook' &&
        e.purpose === purpose &&
        (callSid === undefined || e.callSid === callSid),
    ).length;

/**
 * Waits until a webhook the emulator starts now has arrived: every webhook it started earlier
 * (local HTTP, no retries) has then arrived too, so "nothing else was sent" can be asserted.
 */
async function barrier(): Promise<void> {
  const { callSid } = await emu.placeInboundCall({
    from: '+15550100',
    to: '+15550199',
    twiml: '<Response><Hangup/></Response>',
    statusCallback: `${hook.url}/barrier`,
  });
  await emu.hangup(callSid);
  await waitFor(
    () => at('/barrier', callSid),
    (w) => w.length === 1,
    'the barrier webhook',
  );
}

const signed = (w: ReceivedWebhook): boolean =>
  twilio.validateRequest(
    emu.authToken,
    w.signature ?? '',
    w.url,
    w.method === 'GET' ? {} : w.params,
  );

/** Accepts the worker's pending reservation on the task, with Flex conference options. */
async function accept(
  taskSid: string,
  workerSid: string,
  conferenceOptions: Record<string, unknown> = {},
): Promise<void> {
  const reservationSid = await pendingReservation(emu, taskSid, workerSid);
  await ok(emu, `reservations/${reservationSid}/accept`, { workerSid, conferenceOptions });
}

const conferenceOf = (taskSid: string): string =>
  emu.state().conferences.find((c) => c.friendlyName === taskSid)?.sid ?? '';

describe('the number-level call status callback', () => {
  it('posts one signed final status to the call’s own URL, else to the emulator-wide default', async () => {
    const a = await worker(emu, 'ncs-a', 'ncs');
    // Call 1: a queued call with its own status callback, connected to an agent, then hung up.
    const own = (await ok(emu, 'queued-calls', {
      from: '+15550111',
      to: '+15550199',
      queue: 'ncs',
      statusCallback: `${hook.url}/own-status`,
    })) as { callSid: string };
    const task = await waitFor(
      () => emu.state().taskrouter.tasks.find((t) => t.customerCallSid === own.callSid),
      Boolean,
      'the task of call 1',
    );
    await accept(task?.sid ?? '', a);
    await ok(emu, `tasks/${task?.sid ?? ''}/hangup`, { party: 'customer' });
    // Call 2: a plain inbound call with no callback of its own: the number's default gets it.
    const plain = (await ok(emu, 'calls', {
      from: '+15550112',
      to: '+15550199',
      twiml: '<Response><Pause length="30"/></Response>',
    })) as { callSid: string };
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === plain.callSid)?.status,
      (s) => s === 'in-progress',
      'call 2 answered',
    );
    await emu.hangup(plain.callSid);
    // Call 3: its own callback, by GET (the parameters then travel in the query string).
    const byGet = (await ok(emu, 'calls', {
      from: '+15550113',
      to: '+15550199',
      twiml: '<Response><Pause length="30"/></Response>',
      statusCallback: `${hook.url}/get-status?tenant=t1`,
      statusCallbackMethod: 'GET',
    })) as { callSid: string };
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === byGet.callSid)?.status,
      (s) => s === 'in-progress',
      'call 3 answered',
    );
    await emu.hangup(byGet.callSid);

    // Every call-status webhook the emulator started has been delivered and recorded.
    await waitFor(
      () => [
        sent('call-status'),
        at('/own-status').length + at('/number-status').length + at('/get-status').length,
      ],
      ([done, got]) => done === 3 && got === 3,
      'three call status callbacks delivered',
    );
    expect(at('/own-status').map((w) => w.params.CallSid)).toEqual([own.callSid]);
    expect(at('/number-status').map((w) => w.params.CallSid)).toEqual([plain.callSid]);
    expect(at('/get-status').map((w) => w.params.CallSid)).toEqual([byGet.callSid]);

    const [first] = at('/own-status');
    expect(first?.method).toBe('POST');
    expect(first?.params).toMatchObject({
      AccountSid: emu.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: own.callSid,
      CallStatus: 'completed',
      Direction: 'inbound',
      From: '+15550111',
      To: '+15550199',
      SequenceNumber: '0',
    });
    expect(Number(first?.params.CallDuration)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(first?.params.Timestamp ?? '')).not.toBeNaN();
    const [third] = at('/get-status');
    expect(third?.method).toBe('GET');
    expect(third?.params).toMatchObject({ tenant: 't1', CallStatus: 'completed' });
    for (const w of [...at('/own-status'), ...at('/number-status'), ...at('/get-status')])
      expect(signed(w), `signature of ${w.url}`).toBe(true);
  });

  it('reports a call hung up before it was answered as canceled, and only that', async () => {
    const { callSid } = await emu.placeInboundCall({
      from: '+15550114',
      to: '+15550199',
      twiml: '<Response><Pause length="30"/></Response>',
      statusCallback: `${hook.url}/canceled-status`,
    });
    // Hung up while ringing: the call starts its TwiML on a later turn of the event loop.
    await emu.hangup(callSid);
    await waitFor(
      () => at('/canceled-status'),
      (w) => w.length === 1,
      'the canceled callback',
    );
    await barrier();
    expect(at('/canceled-status')).toHaveLength(1);
    expect(at('/number-status', callSid)).toEqual([]);
    expect(at('/canceled-status')[0]?.params).toMatchObject({
      CallSid: callSid,
      CallStatus: 'canceled',
    });
  });
});

describe('Flex conference status callbacks', () => {
  it('per accept: participant-leave when an agent hangs up, conference-end when the customer does', async () => {
    const a = await worker(emu, 'fcs-a', 'fcs');
    const b = await worker(emu, 'fcs-b', 'fcs-b');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'fcs');
    await accept(taskSid, a, {
      conferenceStatusCallback: `${hook.url}/conference?plugin=1`,
      conferenceStatusCallbackMethod: 'POST',
      conferenceStatusCallbackEvent: ['join', 'leave', 'end'],
    });
    const conferenceSid = conferenceOf(taskSid);
    const legA = legOf(emu, taskSid, a);
    // A warm transfer to B; B's accept names another URL, which the conference ignores (the
    // first one set wins).
    await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: b, mode: 'WARM' });
    await accept(taskSid, b, { conferenceStatusCallback: `${hook.url}/second-conference` });
    const legB = legOf(emu, taskSid, b);
    await waitFor(
      () => members(emu, taskSid).length,
      (n) => n === 3,
      'A, B and the customer',
    );
    // Agent A hangs up: only A leaves (three live participants: A's flag is false).
    await ok(emu, `tasks/${taskSid}/hangup`, { party: a });
    await waitFor(
      () =>
        conferenceCallbacks('/conference', conferenceSid).filter(
          (w) => w.params.StatusCallbackEvent === 'participant-leave',
        ),
      (w) => w.length === 1,
      'participant-leave of A',
    );
    const [leaveA] = conferenceCallbacks('/conference', conferenceSid).filter(
      (w) => w.params.StatusCallbackEvent === 'participant-leave',
    );
    expect(leaveA?.params).toMatchObject({
      CallSid: legA,
      ReasonParticipantLeft: 'participant_hung_up',
      ParticipantCallStatus: 'completed',
      FriendlyName: taskSid,
      AccountSid: emu.accountSid,
    });
    expect(
      members(emu, taskSid)
        .map((m) => m.callSid)
        .sort(),
    ).toEqual([customer, legB].sort());

    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
    await waitFor(
      () =>
        conferenceCallbacks('/conference', conferenceSid).map((w) => w.params.StatusCallbackEvent),
      (events) => events.includes('conference-end'),
      'conference-end',
    );
    await barrier();
    const callbacks = conferenceCallbacks('/conference', conferenceSid);
    expect(callbacks.map((w) => [w.params.StatusCallbackEvent, w.params.CallSid ?? null])).toEqual([
      ['participant-join', legA],
      ['participant-join', customer],
      ['participant-join', legB],
      ['participant-leave', legA],
      ['participant-leave', customer],
      ['participant-leave', legB],
      ['conference-end', null],
    ]);
    expect(callbacks.map((w) => w.params.SequenceNumber)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
    ]);
    expect(callbacks[4]?.params).toMatchObject({
      ReasonParticipantLeft: 'participant_hung_up',
      ParticipantCallStatus: 'completed',
    });
    expect(callbacks[5]?.params).toMatchObject({ ReasonParticipantLeft: 'conference_ended' });
    expect(callbacks[6]?.params).toMatchObject({
      ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
      CallSidEndingConference: customer,
    });
    expect(at('/second-conference')).toEqual([]);
    for (const w of callbacks)
      expect(signed(w), `signature of ${w.params.StatusCallbackEvent}`).toBe(true);
  });

  it('emulator-wide default (leave end): a warm transfer without redirects posts only the kicked agent’s leave', async () => {
    const settings = await ok(emu, 'settings', {
      flexConferenceStatusCallback: `${hook.url}/flex-default`,
    });
    expect(settings).toMatchObject({
      flexConferenceStatusCallback: `${hook.url}/flex-default`,
      flexConferenceStatusCallbackMethod: 'POST',
      flexConferenceStatusCallbackEvent: ['leave', 'end'],
    });
    try {
      const a = await worker(emu, 'wt-a', 'wt');
      const b = await worker(emu, 'wt-b', 'wt-b');
      const { callSid: customer, taskSid } = await queuedCall(emu, 'wt');
      await accept(taskSid, a);
      const conferenceSid = conferenceOf(taskSid);
      const legA = legOf(emu, taskSid, a);
      await ok(emu, `tasks/${taskSid}/transfer`, { workerSid: a, to: b, mode: 'WARM' });
      await accept(taskSid, b);
      const legB = legOf(emu, taskSid, b);
      await ok(emu, `tasks/${taskSid}/complete-transfer`, { workerSid: a });
      await ok(emu, `tasks/${taskSid}/unhold`, { workerSid: b });
      await waitFor(
        () => conferenceCallbacks('/flex-default', conferenceSid),
        (w) => w.length >= 1,
        'the kicked agent’s participant-leave',
      );
      // Nothing else while the customer stays: no customer leave, no conference end, no final
      // status of the customer's call (joins, holds and modifications are filtered out).
      await barrier();
      expect(
        conferenceCallbacks('/flex-default', conferenceSid).map((w) => [
          w.params.StatusCallbackEvent,
          w.params.CallSid,
          w.params.ReasonParticipantLeft,
        ]),
      ).toEqual([['participant-leave', legA, 'participant_kicked']]);
      expect(at('/number-status', customer)).toEqual([]);
      expect(
        members(emu, taskSid)
          .map((m) => m.callSid)
          .sort(),
      ).toEqual([customer, legB].sort());

      await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
      await waitFor(
        () => [
          conferenceCallbacks('/flex-default', conferenceSid).length,
          at('/number-status', customer).length,
        ],
        ([conference, status]) => conference === 4 && status === 1,
        'the end of the call',
      );
      expect(
        conferenceCallbacks('/flex-default', conferenceSid).map((w) => [
          w.params.StatusCallbackEvent,
          w.params.CallSid ?? null,
        ]),
      ).toEqual([
        ['participant-leave', legA],
        ['participant-leave', customer],
        ['participant-leave', legB],
        ['conference-end', null],
      ]);
      await barrier();
      expect(conferenceCallbacks('/flex-default', conferenceSid)).toHaveLength(4);
      expect(at('/number-status', customer)[0]?.params.CallStatus).toBe('completed');
    } finally {
      await ok(emu, 'settings', { flexConferenceStatusCallback: null });
    }
  });
});

describe('bad input to the new fields', () => {
  const settingsNow = async (): Promise<unknown> =>
    (await fetch(`${emu.url}/_emulator/settings`)).json();

  it('settings: a clear 400 and nothing changed', async () => {
    const before = await settingsNow();
    expect(before).toMatchObject({ inboundStatusCallback: `${hook.url}/number-status` });
    for (const body of [
      { inboundStatusCallback: 'not a url' },
      { inboundStatusCallback: 'ftp://example.com/x' },
      { inboundStatusCallback: `${hook.url}/x`, inboundStatusCallbackMethod: 'PUT' },
      {
        flexConferenceStatusCallback: `${hook.url}/x`,
        flexConferenceStatusCallbackEvent: 'leave explode',
      },
      { flexConferenceStatusCallback: `${hook.url}/x`, flexConferenceStatusCallbackEvent: [7] },
      { flexConferenceStatusCallbackEvent: ['leave'] },
      { inboundStatusCallback: `${hook.url}/x`, colour: 'blue' },
    ]) {
      const answer = await control(emu, 'settings', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.code).toBe('EMU_ERR_BAD_REQUEST');
      expect(String(answer.body.message)).toMatch(/inboundStatusCallback|flexConference|colour/);
    }
    expect(await settingsNow()).toEqual(before);
    await expect(startEmulator({ flexConferenceStatusCallback: 'nope' })).rejects.toThrow(
      /flexConferenceStatusCallback must be an http\(s\) URL/,
    );
  });

  it('calls and queued calls with a bad statusCallback: a 400 and no call', async () => {
    const calls = emu.state().calls.length;
    const inbound = await control(emu, 'calls', {
      from: '+15550120',
      to: '+15550199',
      twiml: '<Response><Hangup/></Response>',
      statusCallback: 'not a url',
    });
    expect(inbound.status).toBe(400);
    expect(String(inbound.body.message)).toMatch(/statusCallback must be an http\(s\) URL/);
    const method = await control(emu, 'calls', {
      from: '+15550120',
      to: '+15550199',
      twiml: '<Response><Hangup/></Response>',
      statusCallback: `${hook.url}/x`,
      statusCallbackMethod: 'DELETE',
    });
    expect(method.status).toBe(400);
    const queued = await control(emu, 'queued-calls', {
      from: '+15550120',
      to: '+15550199',
      statusCallback: 'mailto:someone@example.com',
    });
    expect(queued.status).toBe(400);
    expect(queued.body.code).toBe('EMU_ERR_BAD_REQUEST');
    expect(emu.state().calls.length).toBe(calls);
  });

  it('accept with bad conference callback options: a 400, the reservation still pending, no conference', async () => {
    const a = await worker(emu, 'bad-a', 'bad');
    const { taskSid } = await queuedCall(emu, 'bad');
    const reservationSid = await pendingReservation(emu, taskSid, a);
    for (const conferenceOptions of [
      {
        conferenceStatusCallback: `${hook.url}/c`,
        conferenceStatusCallbackEvent: ['leave', 'explode'],
      },
      {
        conferenceStatusCallback: `${hook.url}/c`,
        conferenceStatusCallbackEvent: 'start speaker,oops',
      },
      { conferenceStatusCallback: 'not a url' },
      { conferenceStatusCallback: `${hook.url}/c`, conferenceStatusCallbackMethod: 'PATCH' },
      { conferenceStatusCallbackEvent: ['leave'] },
    ]) {
      const answer = await control(emu, `reservations/${reservationSid}/accept`, {
        workerSid: a,
        conferenceOptions,
      });
      expect(answer.status, JSON.stringify(conferenceOptions)).toBe(400);
      expect(answer.body.code).toBe('EMU_ERR_BAD_REQUEST');
    }
    expect(emu.state().taskrouter.reservations.find((r) => r.sid === reservationSid)?.status).toBe(
      'pending',
    );
    expect(conferenceOf(taskSid)).toBe('');
    // A string of names is accepted as well as an array.
    await ok(emu, `reservations/${reservationSid}/accept`, {
      workerSid: a,
      conferenceOptions: {
        conferenceStatusCallback: `${hook.url}/string-events`,
        conferenceStatusCallbackEvent: 'start end',
      },
    });
    await waitFor(
      () => at('/string-events').map((w) => w.params.StatusCallbackEvent),
      (events) => events.includes('conference-start'),
      'conference-start',
    );
  });
});
