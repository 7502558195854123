/**
 * The TaskRouter port over the official SDK against the emulator's Flex flow: a worker, a queued
 * call, its reservation accepted; the port reads the reservation's owner, the task's attributes
 * and the Flex conference's participants, answers null for unknown SIDs, and maps other failures
 * to `VoiceApiError`.
 */
import { isVoiceApiError } from '@flex-streams/core';
import { startEmulator, type Emulator } from '@flex-streams/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioClient, createTwilioTaskRouterPort, isFsTwilioError } from '../src/index.js';
import { waitFor } from './helpers.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

function portFor(authToken = emu.authToken) {
  const client = createTwilioClient(
    { accountSid: emu.accountSid, authToken },
    { apiBaseUrl: emu.url },
  );
  return createTwilioTaskRouterPort(client, {
    workspaceSid: emu.state().taskrouter.workspace.sid,
  });
}

describe('createTwilioTaskRouterPort', () => {
  it('reads the reservation owner, the task attributes and the participants', async () => {
    const tr = emu.taskrouter;
    const worker = tr.createWorker({ friendlyName: 'alice', activity: 'Available' });
    const { callSid } = tr.placeQueuedCall({ from: '+15550001001', to: '+15550002002' });
    const reservation = await waitFor(
      () => [...tr.reservations.values()].find((r) => r.workerSid === worker.sid),
      (r) => r !== undefined,
      'the reservation',
    );
    if (reservation === undefined) throw new Error('unreachable');
    const port = portFor();

    expect(await port.fetchReservation(reservation.taskSid, reservation.sid)).toEqual({
      sid: reservation.sid,
      taskSid: reservation.taskSid,
      workerSid: worker.sid,
      status: 'pending',
    });
    tr.accept(reservation.sid, worker.sid);
    expect((await port.fetchReservation(reservation.taskSid, reservation.sid))?.status).toBe(
      'accepted',
    );

    const attributes = await port.fetchTaskAttributes(reservation.taskSid);
    const workerLeg = tr.reservations.get(reservation.sid)?.workerCallSid;
    expect(attributes).toMatchObject({
      call_sid: callSid,
      conference: { participants: { customer: callSid, worker: workerLeg } },
    });

    const conferenceSid = tr.tasks.get(reservation.taskSid)?.conferenceSid ?? '';
    const participants = await port.listParticipants(conferenceSid);
    expect(participants.map((p) => p.callSid).sort()).toEqual([callSid, workerLeg].sort());
  });

  it('answers null for unknown SIDs and an empty list for an unknown conference', async () => {
    const port = portFor();
    expect(await port.fetchReservation(`WT${'0'.repeat(32)}`, `WR${'0'.repeat(32)}`)).toBeNull();
    expect(await port.fetchTaskAttributes(`WT${'0'.repeat(32)}`)).toBeNull();
    expect(await port.listParticipants(`CF${'0'.repeat(32)}`)).toEqual([]);
  });

  it('rejects other failures with a VoiceApiError (bad credentials: 401)', async () => {
    const error: unknown = await portFor('wrong')
      .fetchTaskAttributes(`WT${'0'.repeat(32)}`)
      .catch((e: unknown) => e);
    expect(isVoiceApiError(error)).toBe(true);
    expect(error).toMatchObject({ status: 401 });
  });

  it('refuses a workspace SID that is not WS + 32 hex', () => {
    const client = createTwilioClient(
      { accountSid: emu.accountSid, authToken: emu.authToken },
      { apiBaseUrl: emu.url },
    );
    let error: unknown;
    try {
      createTwilioTaskRouterPort(client, { workspaceSid: 'WS123' });
    } catch (e) {
      error = e;
    }
    expect(isFsTwilioError(error, 'FS_TW_INVALID_OPTIONS')).toBe(true);
  });
});
