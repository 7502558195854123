/**
 * Outside acceptance review of issue 5 (the stream controller), from a new user's and Twilio's
 * documentation point of view, through public interfaces only: the emulator and its control API,
 * `loadServiceConfig` + `startService` (the harness), HTTP requests, and the CLI as a subprocess.
 *
 * Tests marked FINDING were findings of the review (its number in the comment), fixed since.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Segment } from '@flex-streams/core';
import type { Emulator } from '@flex-streams/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  plugin,
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
const bin = fileURLToPath(new URL('../bin/flex-streams.mjs', import.meta.url));

/** The segments of a call at a controller started as a subprocess (no `World` around it). */
async function segmentsAt(serviceUrl: string, callSid: string): Promise<Segment[]> {
  const response = await fetch(`${serviceUrl}/v1/calls/${callSid}`);
  if (response.status === 404) return [];
  return ((await response.json()) as { segments: Segment[] }).segments;
}

/** A queued call reserved for a new Available worker and accepted through Flex (the emulator). */
async function flexCall(emu: Emulator) {
  const tr = emu.taskrouter;
  tr.createWorker({ friendlyName: `w-${sid('X')}`, activity: 'Available' });
  const { callSid: customerCallSid } = tr.placeQueuedCall({
    from: '+15550001001',
    to: '+15550002002',
  });
  const reservation = await waitFor(
    () =>
      [...tr.reservations.values()].find(
        (r) => tr.tasks.get(r.taskSid)?.customerCallSid === customerCallSid,
      ),
    (r) => r !== undefined,
    'the reservation of the queued call',
  );
  if (reservation === undefined) throw new Error('unreachable');
  // Usually `worker`; a worker freed by an earlier test of the file may be offered it first.
  const workerSid = reservation.workerSid;
  tr.accept(reservation.sid, workerSid);
  return {
    customerCallSid,
    taskSid: reservation.taskSid,
    reservationSid: reservation.sid,
    workerSid,
    token: tr.issueToken(workerSid).token,
  };
}

describe('flex-streams start (emulator mode) wires the call-end callbacks to the controller', () => {
  let child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  let dir = '';
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it("sets the number's call status webhook and Flex's conference callback; both reach the controller at a hang-up", async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-outside5-'));
    const proc = spawn(
      process.execPath,
      [
        bin,
        'start',
        ...['--emulator-port', '0', '--receiver-port', '0', '--controller-port', '0'],
        ...['--recordings', join(dir, 'rec'), '--data-dir', join(dir, 'data')],
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // The reconciler is off: only the callbacks can tell the controller of the hang-up.
        env: {
          ...process.env,
          TWILIO_ACCOUNT_SID: '',
          FLEX_STREAMS_RECONCILE_INTERVAL_MS: '0',
          FLEX_STREAMS_ADMIN_TOKEN: '',
          FLEX_STREAMS_LOG_LEVEL: 'warn',
        },
      },
    );
    child = proc;
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const end = stdout.indexOf('\n');
        if (end >= 0) resolve(stdout.slice(0, end));
      });
      proc.on('exit', (code) => {
        reject(new Error(`start exited with ${String(code)} before listening:\n${stderr}`));
      });
    });
    const listening = JSON.parse(line) as {
      controller: { url: string };
      emulator: { url: string };
    };
    const controller = listening.controller.url;
    const control = async (path: string, body?: unknown): Promise<unknown> => {
      const response = await fetch(`${listening.emulator.url}/_emulator/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };

    // What the server README's "Call end" says `start` turns on, as the emulator's settings.
    expect(await control('settings')).toMatchObject({
      inboundStatusCallback: `${controller}${CALL_STATUS}`,
      inboundStatusCallbackMethod: 'POST',
      flexConferenceStatusCallback: `${controller}${CONFERENCE_STATUS}`,
      flexConferenceStatusCallbackMethod: 'POST',
      flexConferenceStatusCallbackEvent: expect.arrayContaining(['leave', 'end']) as unknown,
    });

    // A customer calls the contact center; an agent accepts; the stream runs, then is paused.
    const { callSid } = (await control('queued-calls', {
      from: '+15550100003',
      to: '+15550100004',
    })) as { callSid: string };
    interface TaskRouterView {
      reservations: { sid: string; workerSid: string; taskSid: string; status: string }[];
      tasks: { sid: string; customerCallSid: string }[];
    }
    const reservation = await waitFor(
      async () => {
        const view = (await control('taskrouter')) as TaskRouterView;
        const task = view.tasks.find((t) => t.customerCallSid === callSid);
        return view.reservations.find((r) => r.taskSid === task?.sid && r.status === 'pending');
      },
      (r) => r !== undefined,
      'a reservation for the call',
    );
    if (reservation === undefined) throw new Error('unreachable');
    await control(`reservations/${reservation.sid}/accept`, { workerSid: reservation.workerSid });
    await waitFor(
      () => segmentsAt(controller, callSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      "the agent's stream",
    );
    const { token } = (await control(`workers/${reservation.workerSid}/token`, {})) as {
      token: string;
    };
    const pause = await fetch(`${controller}/v1/plugin/segments/pause`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ reservationSid: reservation.sid, reason: 'card number' }),
    });
    expect(pause.status).toBe(200);
    const { events: before } = (await control('events')) as { events: { seq: number }[] };
    const since = before.at(-1)?.seq ?? 0;

    await control(`calls/${callSid}/hangup`, {});
    const [segment] = await waitFor(
      () => segmentsAt(controller, callSid),
      (s) => s[0]?.state === 'ended',
      'the paused segment to end',
    );
    expect(segment?.pauses[0]?.state).toBe('closed');
    const { events } = (await control(`events?since=${since}`)) as {
      events: Record<string, unknown>[];
    };
    const webhooks = events.filter((e) => e.type === 'webhook');
    // Both call-end callbacks were delivered to the controller, signed, and accepted.
    expect(webhooks).toContainEqual(
      expect.objectContaining({
        purpose: 'call-status',
        url: `${controller}${CALL_STATUS}`,
        callSid,
        event: 'completed',
        status: 204,
      }),
    );
    expect(webhooks).toContainEqual(
      expect.objectContaining({
        purpose: 'conference-status',
        url: `${controller}${CONFERENCE_STATUS}`,
        callSid,
        event: 'participant-leave',
        status: 204,
      }),
    );
  });
});

describe('plugin API: what a worker may act on', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_TASKROUTER_DRIVER: 'off' }, { flex: true });
  });
  afterAll(async () => {
    await world.close();
  });

  // FINDING 1: `start` checks that the reservation is the worker's (FetchTaskReservation) but
  // takes `customerCallSid` from the client unchecked: an agent streams another customer's call.
  it("refuses a start whose customerCallSid is not the reservation's task's call", async () => {
    const mine = await flexCall(world.emu);
    const theirs = await flexCall(world.emu);
    const answer = await plugin(
      world,
      'start',
      {
        reservationSid: mine.reservationSid,
        taskSid: mine.taskSid,
        customerCallSid: theirs.customerCallSid,
      },
      mine.token,
    );
    // Issue 5: "A worker may act only on segments of their own reservations"; bad input "gets a
    // clear 4xx with a stable error code and changes nothing".
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as ErrorAnswer).error.code).toBe('FS_ERR_CALL_NOT_OF_TASK');
    expect(world.emu.state().streams.filter((s) => s.callSid === theirs.customerCallSid)).toEqual(
      [],
    );
    expect(await segmentsOf(world, theirs.customerCallSid)).toEqual([]);
  });

  // FINDING 1 (same check): the reservation's TaskRouter status is not read either, so a stale
  // Flex tab starts a stream for a reservation completed long ago, on a call the agent has left.
  it('refuses a start of a reservation that TaskRouter reports completed', async () => {
    const first = await flexCall(world.emu);
    const tr = world.emu.taskrouter;
    const next = tr.createWorker({ friendlyName: `n-${sid('X')}`, activity: 'Available' });
    tr.transfer({ taskSid: first.taskSid, workerSid: first.workerSid, to: next.sid, mode: 'WARM' });
    const target = await waitFor(
      () =>
        [...tr.reservations.values()].find(
          (r) => r.taskSid === first.taskSid && r.workerSid === next.sid,
        ),
      (r) => r !== undefined,
      "the transfer target's reservation",
    );
    tr.accept(target?.sid ?? '', next.sid);
    await waitFor(
      () => world.emu.state().conferences.find((c) => c.friendlyName === first.taskSid),
      (c) => c?.participants.length === 3,
      'the warm transfer target in the conference',
    );
    tr.completeTransfer({ taskSid: first.taskSid, workerSid: first.workerSid });
    tr.complete(first.reservationSid, first.workerSid);
    expect(tr.reservations.get(first.reservationSid)?.status).toBe('completed');
    const answer = await plugin(
      world,
      'start',
      {
        reservationSid: first.reservationSid,
        taskSid: first.taskSid,
        customerCallSid: first.customerCallSid,
      },
      first.token,
    );
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as ErrorAnswer).error.code).toBe(
      'FS_ERR_RESERVATION_NOT_ACCEPTED',
    );
    expect(world.emu.state().streams.filter((s) => s.callSid === first.customerCallSid)).toEqual(
      [],
    );
  });

  it("refuses a start naming a worker leg that is not in the task's conference", async () => {
    const mine = await flexCall(world.emu);
    const theirs = await flexCall(world.emu);
    const body = {
      reservationSid: mine.reservationSid,
      taskSid: mine.taskSid,
      customerCallSid: mine.customerCallSid,
    };
    for (const workerCallSid of [theirs.customerCallSid, mine.customerCallSid]) {
      const answer = await plugin(world, 'start', { ...body, workerCallSid }, mine.token);
      expect(answer.status).toBe(403);
      expect(((await answer.json()) as ErrorAnswer).error.code).toBe('FS_ERR_CALL_NOT_OF_TASK');
    }
    expect(await segmentsOf(world, mine.customerCallSid)).toEqual([]);
    expect(world.emu.state().streams.filter((s) => s.callSid === theirs.customerCallSid)).toEqual(
      [],
    );
  });

  // FINDING 4: packages/server/README.md documents `idempotencyKey` (≤ 200 characters); the HTTP
  // schema allows 200, the core refuses more than 100.
  it('accepts a pause idempotencyKey of up to 200 characters, as documented', async () => {
    const call = await flexCall(world.emu);
    const started = await plugin(
      world,
      'start',
      {
        reservationSid: call.reservationSid,
        taskSid: call.taskSid,
        customerCallSid: call.customerCallSid,
      },
      call.token,
    );
    expect(started.status).toBe(200);
    const paused = await plugin(
      world,
      'pause',
      { reservationSid: call.reservationSid, idempotencyKey: 'k'.repeat(150) },
      call.token,
    );
    expect(paused.status).toBe(200);
  });
});

describe('call and conference status callbacks: bad input', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_RECONCILE_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await world.close();
  });

  /** A customer and alice in the task's conference, her reservation accepted and streaming. */
  async function streamingCall() {
    const taskSid = sid('WT');
    const twiml = `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`;
    const { callSid: customerCallSid } = await world.emu.placeInboundCall({
      from: '+15550001001',
      to: '+15550002002',
      twiml,
    });
    await world.emu.placeInboundCall({ from: 'client:alice', to: '+15550002002', twiml });
    await waitFor(
      () => world.emu.state().conferences.find((c) => c.friendlyName === taskSid),
      (c) => c?.participants.length === 2,
      'customer and agent in the conference',
    );
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const accepted = reservationEvent('reservation.accepted', ids, world.emu.accountSid);
    expect((await postSigned(world, EVENTS, accepted)).status).toBe(204);
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the stream to run',
    );
    const conferenceSid =
      world.emu.state().conferences.find((c) => c.friendlyName === taskSid)?.sid ?? '';
    return { ...ids, conferenceSid };
  }

  it('answers 400 or 403 with a stable code to every malformed or unsigned callback, and the call streams on', async () => {
    const call = await streamingCall();
    const before = JSON.stringify(await segmentsOf(world, call.customerCallSid));
    const refusals: [string, Record<string, string>, number, string][] = [
      [CALL_STATUS, { CallSid: 'CA123', CallStatus: 'completed' }, 400, 'FS_ERR_INVALID_INPUT'],
      [CALL_STATUS, { CallStatus: 'completed' }, 400, 'FS_ERR_INVALID_INPUT'],
      [CALL_STATUS, { CallSid: call.customerCallSid }, 400, 'FS_ERR_INVALID_INPUT'],
      [
        CONFERENCE_STATUS,
        {
          ConferenceSid: call.conferenceSid,
          FriendlyName: call.taskSid,
          StatusCallbackEvent: 'participant-leave',
        },
        400,
        'FS_ERR_INVALID_INPUT',
      ],
      [
        CONFERENCE_STATUS,
        {
          ConferenceSid: 'CFnope',
          FriendlyName: call.taskSid,
          StatusCallbackEvent: 'conference-end',
        },
        400,
        'FS_ERR_INVALID_INPUT',
      ],
      [
        CONFERENCE_STATUS,
        {
          ConferenceSid: call.conferenceSid,
          FriendlyName: call.taskSid,
          StatusCallbackEvent: 'participant-leave',
          CallSid: 'customer',
        },
        400,
        'FS_ERR_INVALID_INPUT',
      ],
    ];
    for (const [path, form, status, code] of refusals) {
      const answer = await postSigned(world, path, form);
      expect(answer.status, `${path} ${JSON.stringify(form)}`).toBe(status);
      expect(((await answer.json()) as ErrorAnswer).error.code).toBe(code);
    }
    // Signed with another account's token, or not at all: 403, for both routes.
    for (const path of [CALL_STATUS, CONFERENCE_STATUS]) {
      const form =
        path === CALL_STATUS
          ? { CallSid: call.customerCallSid, CallStatus: 'completed' }
          : {
              ConferenceSid: call.conferenceSid,
              FriendlyName: call.taskSid,
              StatusCallbackEvent: 'conference-end',
            };
      for (const options of [{ authToken: 'f'.repeat(32) }, { signature: '' }]) {
        const answer = await postSigned(world, path, form, options);
        expect(answer.status).toBe(403);
        expect(((await answer.json()) as ErrorAnswer).error.code).toBe('FS_ERR_BAD_SIGNATURE');
      }
    }
    // Events that are not a call's end are answered and change nothing.
    const ignored: [string, Record<string, string>][] = [
      [CALL_STATUS, { CallSid: call.customerCallSid, CallStatus: 'in-progress' }],
      [
        CONFERENCE_STATUS,
        {
          ConferenceSid: call.conferenceSid,
          FriendlyName: call.taskSid,
          StatusCallbackEvent: 'participant-join',
          CallSid: call.customerCallSid,
        },
      ],
    ];
    for (const [path, form] of ignored)
      expect((await postSigned(world, path, form)).status).toBe(204);
    // A pass waits for the call's lock, so every accepted callback's use case has run by then.
    await world.service.reconciler.runOnce();
    expect(JSON.stringify(await segmentsOf(world, call.customerCallSid))).toBe(before);
    expect(world.emu.state().streams.find((s) => s.callSid === call.customerCallSid)?.status).toBe(
      'in-progress',
    );
  });

  // FINDING 5: a FriendlyName over Twilio's 128 characters was answered 204 and failed later;
  // now the parser refuses it with a clear 400 before answering.
  it('answers 400 to a conference callback whose FriendlyName is too long', async () => {
    const answer = await postSigned(world, CONFERENCE_STATUS, {
      ConferenceSid: sid('CF'),
      FriendlyName: 'x'.repeat(300),
      StatusCallbackEvent: 'conference-end',
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as ErrorAnswer).error.message).toMatch(/FriendlyName/);
  });
});
