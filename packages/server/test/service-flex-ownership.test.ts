/**
 * Plugin API ownership checked against TaskRouter, through the emulator's real Flex flow: workers,
 * a queued call, a reservation accepted through `emu.taskrouter`, tokens issued by the emulator.
 * Another worker's token on the reservation is 403 and starts nothing; an unknown reservation is
 * 404; the owner's token starts the stream. Only the plugin driver runs, so any stream is its doing.
 */
import type { Emulator } from '@flex-streams/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  sid,
  startWorld,
  waitFor,
  type ErrorAnswer,
  type World,
} from './service-harness.js';

let world: World;

function plugin(action: string, body: unknown, token: string): Promise<Response> {
  return fetch(`${world.service.url}/v1/plugin/segments/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/** Two Available workers; a queued call reserved for one of them, accepted. */
async function acceptedCall(emu: Emulator) {
  const tr = emu.taskrouter;
  const first = tr.createWorker({ friendlyName: `a-${sid('X')}`, activity: 'Available' });
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
  // Created after the offer, so it is free while the first worker holds the reservation.
  const other = tr.createWorker({ friendlyName: `b-${sid('X')}`, activity: 'Offline' });
  expect(reservation.workerSid).toBe(first.sid);
  tr.accept(reservation.sid, first.sid);
  return {
    customerCallSid,
    taskSid: reservation.taskSid,
    reservationSid: reservation.sid,
    owner: { sid: first.sid, token: tr.issueToken(first.sid).token },
    other: { sid: other.sid, token: tr.issueToken(other.sid).token },
  };
}

describe.each([
  { workspace: 'set in TWILIO_WORKSPACE_SID', env: {} },
  // Unset: the service finds the account's Flex workspace at start-up (ListWorkspace).
  { workspace: 'found on the account', env: { TWILIO_WORKSPACE_SID: '' } },
])('plugin API ownership through TaskRouter, workspace $workspace', ({ env }) => {
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_TASKROUTER_DRIVER: 'off', ...env }, { flex: true });
  });
  afterAll(async () => {
    await world.close();
  });

  it('reads TaskRouter in the Flex workspace', () => {
    expect(world.service.workspaceSid).toBe(world.emu.state().taskrouter.workspace.sid);
  });

  it("refuses another worker's reservation (403, no stream) and starts the owner's", async () => {
    const { emu } = world;
    const call = await acceptedCall(emu);
    const body = {
      reservationSid: call.reservationSid,
      taskSid: call.taskSid,
      customerCallSid: call.customerCallSid,
    };

    const refused = await plugin('start', body, call.other.token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as ErrorAnswer).error.code).toBe('FS_ERR_NOT_SEGMENT_OWNER');
    expect(emu.state().streams.filter((s) => s.callSid === call.customerCallSid)).toEqual([]);
    const unknownCall = await fetch(`${world.service.url}/v1/calls/${call.customerCallSid}`);
    expect(unknownCall.status).toBe(404);

    const started = await plugin('start', body, call.owner.token);
    expect(started.status).toBe(200);
    const [stream] = await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === call.customerCallSid),
      (streams) => streams[0]?.status === 'in-progress',
      "the owner's stream",
    );
    expect(stream?.name).toBe(`fs-${call.reservationSid}-0`);

    // The segment exists now: the other worker still cannot stop it.
    const stop = await plugin('stop', { reservationSid: call.reservationSid }, call.other.token);
    expect(stop.status).toBe(403);
    expect(emu.state().streams.find((s) => s.sid === stream?.sid)?.status).toBe('in-progress');
    expect(
      (await plugin('stop', { reservationSid: call.reservationSid }, call.owner.token)).status,
    ).toBe(200);
  });

  it('answers 404 for a reservation or task TaskRouter does not know, and records nothing', async () => {
    const { emu } = world;
    const call = await acceptedCall(emu);
    for (const body of [
      { reservationSid: sid('WR'), taskSid: call.taskSid, customerCallSid: call.customerCallSid },
      {
        reservationSid: call.reservationSid,
        taskSid: sid('WT'),
        customerCallSid: call.customerCallSid,
      },
    ]) {
      const answer = await plugin('start', body, call.owner.token);
      expect(answer.status).toBe(404);
      expect(((await answer.json()) as ErrorAnswer).error.code).toBe(
        'FS_ERR_RESERVATION_NOT_FOUND',
      );
    }
    expect(emu.state().streams.filter((s) => s.callSid === call.customerCallSid)).toEqual([]);
    expect((await fetch(`${world.service.url}/v1/calls/${call.customerCallSid}`)).status).toBe(404);
  });
});

describe('TaskRouter unreachable', () => {
  it('answers 503 and records nothing when TaskRouter cannot be asked', async () => {
    // Twilio's REST API is unreachable (a released port); tokens are still checked at the emulator.
    const down = await startWorld(
      {
        TWILIO_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
        FLEX_STREAMS_TASKROUTER_DRIVER: 'off',
      },
      { flex: true },
    );
    try {
      const worker = down.emu.taskrouter.createWorker({ friendlyName: 'w', activity: 'Available' });
      const customerCallSid = sid('CA');
      const answer = await fetch(`${down.service.url}/v1/plugin/segments/start`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${down.emu.taskrouter.issueToken(worker.sid).token}`,
        },
        body: JSON.stringify({ reservationSid: sid('WR'), taskSid: sid('WT'), customerCallSid }),
      });
      expect(answer.status).toBe(503);
      expect(((await answer.json()) as ErrorAnswer).error.code).toBe(
        'FS_ERR_TASKROUTER_UNAVAILABLE',
      );
      expect((await fetch(`${down.service.url}/v1/calls/${customerCallSid}`)).status).toBe(404);
    } finally {
      await down.close();
    }
  });

  it('without a configured workspace, the service refuses to start, naming the request', async () => {
    await expect(
      startWorld(
        {
          TWILIO_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
          TWILIO_WORKSPACE_SID: '',
          FLEX_STREAMS_TASKROUTER_DRIVER: 'off',
        },
        { flex: true },
      ),
    ).rejects.toThrow(/ListWorkspace/);
  });
});
