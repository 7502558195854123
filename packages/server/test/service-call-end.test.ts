/**
 * Issue 5, "a call's end": a segment with no stream running (paused, or a twiml stream waiting for
 * the agent's leg) learns that its call ended from the call status callback, the conference status
 * callback or the reconciler — through the emulator, the official SDK and real HTTP. Bad callbacks
 * get a clear 4xx and change nothing. A twiml start never redirects a customer who waits alone.
 */
import type { EmulatorEvent } from '@flex-streams/emulator';
import type { Segment } from '@flex-streams/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  postSigned,
  reservationEvent,
  segmentsOf,
  sid,
  startWorld,
  waitFor,
  type ErrorAnswer,
  type World,
} from './service-harness.js';

const EVENTS = '/v1/taskrouter/events';
const CALL_STATUS = '/v1/calls/status';
const CONFERENCE_STATUS = '/v1/conferences/status';

function field(event: EmulatorEvent, key: string): unknown {
  return (event as unknown as Record<string, unknown>)[key];
}

/** Twilio REST operations the controller made since event `since`. */
function operations(world: World, since: number): string[] {
  return world.emu
    .events(since)
    .filter((e) => e.type === 'rest.request')
    .map((e) => String(field(e, 'operation')));
}

function lastSeq(world: World): number {
  return world.emu.events().at(-1)?.seq ?? 0;
}

/** A: a customer and alice in a conference; alice's reservation accepted and streaming, then paused. */
async function pausedSegment(world: World, statusCallback?: string) {
  const taskSid = sid('WT');
  const twiml = `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`;
  const { callSid: customerCallSid } = await world.emu.placeInboundCall({
    from: '+15550001001',
    to: '+15550002002',
    twiml,
    ...(statusCallback === undefined ? {} : { statusCallback }),
  });
  await world.emu.placeInboundCall({ from: 'client:alice', to: '+15550002002', twiml });
  const ids = {
    taskSid,
    reservationSid: sid('WR'),
    workerSid: world.workers.alice,
    customerCallSid,
  };
  await waitFor(
    () => world.emu.state().conferences.find((c) => c.friendlyName === taskSid),
    (c) => c?.participants.length === 2,
    'customer and agent in the conference',
  );
  const accepted = reservationEvent('reservation.accepted', ids, world.emu.accountSid);
  expect((await postSigned(world, EVENTS, accepted)).status).toBe(204);
  await waitFor(
    () => segmentsOf(world, customerCallSid),
    (s) => s[0]?.streams[0]?.state === 'streaming',
    'the stream to run',
  );
  const pause = await fetch(`${world.service.url}/v1/plugin/segments/pause`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer token-alice' },
    body: JSON.stringify({ reservationSid: ids.reservationSid, reason: 'card number' }),
  });
  expect(pause.status).toBe(200);
  expect((await segmentsOf(world, customerCallSid))[0]?.state).toBe('paused');
  return ids;
}

describe('call end with no stream running (rest, reconciler timer off)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_RECONCILE_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await world.close();
  });

  it("the customer number's call status callback ends a paused segment at the hang-up", async () => {
    const ids = await pausedSegment(world, world.publicUrl + CALL_STATUS);
    const since = lastSeq(world);
    await world.emu.hangup(ids.customerCallSid);
    const [segment] = await waitFor(
      () => segmentsOf(world, ids.customerCallSid),
      (s) => s[0]?.state === 'ended',
      'the segment to end',
    );
    expect(segment).toMatchObject({ endReason: 'call-ended' });
    expect(segment?.pauses).toHaveLength(1);
    expect(segment?.pauses[0]?.state).toBe('closed');
    // Nothing was asked of Twilio: the callback itself says the call is over.
    expect(operations(world, since)).toEqual([]);
  });

  it('the reconciler ends it when no callback is configured, reading the call once', async () => {
    const ids = await pausedSegment(world);
    await world.emu.hangup(ids.customerCallSid);
    const since = lastSeq(world);
    // Nothing tells the service: the segment stays paused…
    expect((await segmentsOf(world, ids.customerCallSid))[0]?.state).toBe('paused');
    // …until a reconciler pass reads the call.
    const report = await world.service.reconciler.runOnce();
    expect(report).toMatchObject({ changed: 1, failed: 0 });
    expect((await segmentsOf(world, ids.customerCallSid))[0]).toMatchObject({
      state: 'ended',
      endReason: 'call-ended',
    });
    expect(operations(world, since)).toEqual(['FetchCall']);
    // A call with nothing live is not visited again.
    const again = await world.service.reconciler.runOnce();
    expect(again.calls).toBe(0);
  });

  it("a conference status callback: the customer's leave ends nothing while the call goes on", async () => {
    const ids = await pausedSegment(world);
    const conferenceSid =
      world.emu.state().conferences.find((c) => c.friendlyName === ids.taskSid)?.sid ?? '';
    const leave = {
      AccountSid: world.emu.accountSid,
      ConferenceSid: conferenceSid,
      FriendlyName: ids.taskSid,
      StatusCallbackEvent: 'participant-leave',
      CallSid: ids.customerCallSid,
      SequenceNumber: '3',
    };
    // As after a twiml redirect: the customer left the conference but is still on the call.
    expect((await postSigned(world, CONFERENCE_STATUS, leave)).status).toBe(204);
    // A pass on this call waits for the call's lock, so the leave's use case has run by then.
    await world.service.reconciler.runOnce();
    expect((await segmentsOf(world, ids.customerCallSid))[0]?.state).toBe('paused');
    await world.emu.hangup(ids.customerCallSid);
    expect((await postSigned(world, CONFERENCE_STATUS, leave)).status).toBe(204);
    await waitFor(
      () => segmentsOf(world, ids.customerCallSid),
      (s) => s[0]?.endReason === 'call-ended',
      'the segment to end at the leave of a customer who hung up',
    );
  });

  it('GET /v1/calls lists the live calls with their segments, and refuses a bad limit', async () => {
    const ids = await pausedSegment(world);
    const list = async (query = '') => {
      const answer = await fetch(`${world.service.url}/v1/calls${query}`);
      return {
        status: answer.status,
        body: (await answer.json()) as {
          live: number;
          calls: { callSid: string; segments: Segment[] }[];
        } & ErrorAnswer,
      };
    };
    const before = await list();
    expect(before.status).toBe(200);
    const listed = before.body.calls.find((c) => c.callSid === ids.customerCallSid);
    expect(listed?.segments.map((s) => [s.reservationSid, s.state])).toEqual([
      [ids.reservationSid, 'paused'],
    ]);
    expect(before.body.live).toBe(before.body.calls.length);
    expect((await list('?limit=1')).body.calls).toHaveLength(1);
    for (const bad of ['?limit=0', '?limit=abc', '?limit=501', '?limit=0x1', '?limit=1e0']) {
      const answer = await list(bad);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('FS_ERR_INVALID_INPUT');
    }
    await world.emu.hangup(ids.customerCallSid);
    await world.service.reconciler.runOnce();
    const after = await list();
    expect(after.body.calls.some((c) => c.callSid === ids.customerCallSid)).toBe(false);
  });

  it('refuses unsigned and malformed callbacks with a clear 4xx, changing nothing', async () => {
    const ids = await pausedSegment(world);
    const form = { CallSid: ids.customerCallSid, CallStatus: 'completed' };
    const unsigned = await postSigned(world, CALL_STATUS, form, { signature: 'bm90IGl0' });
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as ErrorAnswer).error.code).toBe('FS_ERR_BAD_SIGNATURE');
    const wrongStatus = await postSigned(world, CALL_STATUS, { ...form, CallStatus: 'hungup' });
    expect(wrongStatus.status).toBe(400);
    expect(((await wrongStatus.json()) as ErrorAnswer).error).toMatchObject({
      code: 'FS_ERR_INVALID_INPUT',
      message: expect.stringMatching(/CallStatus 'hungup'/) as unknown,
    });
    const noConference = await postSigned(world, CONFERENCE_STATUS, {
      StatusCallbackEvent: 'conference-end',
      FriendlyName: ids.taskSid,
    });
    expect(noConference.status).toBe(400);
    expect(((await noConference.json()) as ErrorAnswer).error.message).toMatch(/ConferenceSid/);
    // A call that is not ours is answered and ignored.
    const unknown = await postSigned(world, CALL_STATUS, { ...form, CallSid: sid('CA') });
    expect(unknown.status).toBe(204);
    expect((await segmentsOf(world, ids.customerCallSid))[0]?.state).toBe('paused');
    // The real one still works.
    expect((await postSigned(world, CALL_STATUS, form)).status).toBe(204);
    await waitFor(
      () => segmentsOf(world, ids.customerCallSid),
      (s) => s[0]?.state === 'ended',
      'the segment to end',
    );
  });
});

describe('a hang-up while the controller was down', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_RECONCILE_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('is found by the first, full reconciler pass after the restart', async () => {
    const ids = await pausedSegment(world);
    const resume = await fetch(`${world.service.url}/v1/plugin/segments/resume`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer token-alice' },
      body: JSON.stringify({ reservationSid: ids.reservationSid }),
    });
    expect(resume.status).toBe(200);
    await waitFor(
      () => segmentsOf(world, ids.customerCallSid),
      (s) => s[0]?.streams[1]?.state === 'streaming',
      'the resumed stream to run',
    );
    // The stream's stopped callback at the hang-up finds no controller: it is lost.
    await world.restart(() => world.emu.hangup(ids.customerCallSid));
    expect((await segmentsOf(world, ids.customerCallSid))[0]?.state).toBe('active');
    // A normal pass leaves a call whose streams all run to their callbacks…
    expect((await world.service.reconciler.runOnce()).changed).toBe(0);
    expect((await segmentsOf(world, ids.customerCallSid))[0]?.state).toBe('active');
    // …a full one (the timer's first, and every 20th) reads it and ends it.
    const full = await world.service.reconciler.runOnce({ full: true });
    expect(full.changed).toBe(1);
    expect((await segmentsOf(world, ids.customerCallSid))[0]).toMatchObject({
      state: 'ended',
      endReason: 'call-ended',
    });
  });
});

describe('the reconciler timer', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_RECONCILE_INTERVAL_MS: '1000' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('ends a paused segment within a few passes of the hang-up, with nothing configured', async () => {
    const ids = await pausedSegment(world);
    await world.emu.hangup(ids.customerCallSid);
    await waitFor(
      () => segmentsOf(world, ids.customerCallSid),
      (s) => s[0]?.endReason === 'call-ended',
      'the reconciler to end the segment',
      10_000,
    );
    const metrics = await (await fetch(`${world.service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /flex_streams_controller_reconciled_calls_total\{result="changed"\} [1-9]/,
    );
  });
});

describe('twiml: a customer waiting alone is never redirected', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({
      FLEX_STREAMS_STRATEGY: 'twiml',
      FLEX_STREAMS_RECONCILE_INTERVAL_MS: '0',
    });
  });
  afterAll(async () => {
    await world.close();
  });

  /**
   * A cold transfer: the customer waits alone in the task's conference and B's accept comes first.
   * Resolves once B's run is deferred for the agent's leg, with nothing redirected.
   */
  async function deferredForTheAgent() {
    const { emu } = world;
    const taskSid = sid('WT');
    const twiml = `<Response><Dial><Conference endConferenceOnExit="true">${taskSid}</Conference></Dial></Response>`;
    const { callSid: customerCallSid } = await emu.placeInboundCall({
      from: '+15550001001',
      to: '+15550002002',
      twiml,
    });
    const conference = await waitFor(
      () => emu.state().conferences.find((c) => c.friendlyName === taskSid),
      (c) => c?.status === 'in-progress',
      'the conference with the customer alone',
    );
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.bob,
      customerCallSid,
    };
    const since = lastSeq(world);
    const accepted = reservationEvent('reservation.accepted', ids, emu.accountSid);
    expect((await postSigned(world, EVENTS, accepted)).status).toBe(204);
    const [waiting] = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'deferred',
      'the stream to wait for the agent',
      12_000,
    );
    expect(waiting?.streams[0]?.deferredFor).toBe('agent-leg');
    expect(waiting?.streams[0]?.deferredReason).toMatch(/alone in conference/);
    expect(operations(world, since)).not.toContain('UpdateCall');
    expect(emu.state().conferences.find((c) => c.sid === conference?.sid)?.status).toBe(
      'in-progress',
    );
    return { customerCallSid, taskSid, conferenceSid: conference?.sid ?? '', since, accepted };
  }

  /** B's own leg joins the task's conference. */
  async function agentJoins(taskSid: string, conferenceSid: string): Promise<void> {
    await world.emu.placeInboundCall({
      from: 'client:bob',
      to: '+15550002002',
      twiml: `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`,
    });
    await waitFor(
      () => world.emu.state().conferences.find((c) => c.sid === conferenceSid),
      (c) => c?.participants.length === 2,
      'bob in the conference',
    );
  }

  async function expectStreamingAndCustomerKept(customerCallSid: string, since: number) {
    await waitFor(
      () => world.emu.state().streams.filter((s) => s.callSid === customerCallSid),
      (streams) => streams[0]?.status === 'in-progress',
      "B's stream",
    );
    expect(world.emu.events(since).filter((e) => e.type === 'conference.end')).toEqual([]);
    expect(world.emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe(
      'in-progress',
    );
  }

  it("defers the start until the agent's leg joins, then starts it on the next pass", async () => {
    const call = await deferredForTheAgent();
    await agentJoins(call.taskSid, call.conferenceSid);
    const report = await world.service.reconciler.runOnce();
    expect(report.changed).toBe(1);
    await expectStreamingAndCustomerKept(call.customerCallSid, call.since);
  });

  // Found by the outside review: a repeated accept (a TaskRouter retry, or the plugin's start
  // beside it) answered `duplicate` and left the run waiting for the next reconciler pass.
  it('starts it at a repeated accept once the agent is in, with no reconciler pass', async () => {
    const call = await deferredForTheAgent();
    await agentJoins(call.taskSid, call.conferenceSid);
    expect((await postSigned(world, EVENTS, call.accepted)).status).toBe(204);
    await expectStreamingAndCustomerKept(call.customerCallSid, call.since);
  });
});
