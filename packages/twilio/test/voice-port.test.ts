import { classifyVoiceError, isVoiceApiError, type VoiceApiError } from '@flex-streams/core';
import { startEmulator, type Emulator } from '@flex-streams/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTwilioClient,
  createTwilioVoicePort,
  isFsTwilioError,
  type TwilioCredentials,
} from '../src/index.js';
import { startStreamReceiver, waitFor, type StreamReceiver } from './helpers.js';

let emu: Emulator;
let receiver: StreamReceiver;

beforeAll(async () => {
  emu = await startEmulator();
  receiver = await startStreamReceiver();
});
afterAll(async () => {
  await emu.close();
  await receiver.close();
});

const UNKNOWN_CALL = `CA${'0'.repeat(32)}`;

function portFor(credentials?: TwilioCredentials) {
  const client = createTwilioClient(
    credentials ?? { accountSid: emu.accountSid, authToken: emu.authToken },
    { apiBaseUrl: emu.url },
  );
  return createTwilioVoicePort(client);
}

let taskCounter = 0;
/** A customer call, answered and sitting alone in the conference named after a fresh task SID. */
async function customerInConference(): Promise<{ callSid: string; taskSid: string }> {
  taskCounter += 1;
  const taskSid = `WT${String(taskCounter).padStart(32, '0')}`;
  const { callSid } = await emu.placeInboundCall({
    from: '+15550001',
    to: '+15550002',
    twiml: `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`,
  });
  await waitFor(
    () => emu.state().conferences.find((c) => c.friendlyName === taskSid)?.status,
    (status) => status === 'in-progress',
    `conference ${taskSid} in progress`,
  );
  return { callSid, taskSid };
}

async function rejection(promise: Promise<unknown>): Promise<VoiceApiError> {
  try {
    await promise;
  } catch (error) {
    if (isVoiceApiError(error)) return error;
    throw new Error(`expected a VoiceApiError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the port to reject');
}

describe('createTwilioVoicePort against the emulator (official SDK, apiBaseUrl)', () => {
  it('creates a stream with custom parameters and stops it by name', async () => {
    const voice = portFor();
    const { callSid } = await customerInConference();
    const name = 'fs-WR0123456789abcdef0123456789abcdef-0';

    const created = await voice.createStream(callSid, {
      url: `${receiver.origin}/streams`,
      name,
      track: 'both_tracks',
      parameters: { taskSid: 'WTx', workerSid: 'WKa', continuation: '0' },
    });
    expect(created.sid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(created).toMatchObject({ name, status: 'in-progress' });
    expect(emu.state().streams.find((s) => s.sid === created.sid)).toMatchObject({
      callSid,
      name,
      track: 'both_tracks',
      status: 'in-progress',
    });
    // The "parameterN.name"/"parameterN.value" keys reach the receiver as customParameters.
    const start = await waitFor(
      () => receiver.messages.find((m) => m.event === 'start' && m.streamSid === created.sid),
      (m) => m !== undefined,
      'the stream start message',
    );
    expect((start as { start: { customParameters: unknown } }).start.customParameters).toEqual({
      taskSid: 'WTx',
      workerSid: 'WKa',
      continuation: '0',
    });

    const stopped = await voice.stopStream(callSid, name);
    expect(stopped).toEqual({ sid: created.sid, name, status: 'stopped' });
    expect(emu.state().streams.find((s) => s.sid === created.sid)?.status).toBe('stopped');
  });

  it('stops a stream by its MZ SID too', async () => {
    const voice = portFor();
    const { callSid } = await customerInConference();
    const created = await voice.createStream(callSid, {
      url: `${receiver.origin}/streams`,
      name: 'by-sid',
      track: 'inbound_track',
      parameters: {},
    });
    const stopped = await voice.stopStream(callSid, created.sid);
    expect(stopped.status).toBe('stopped');
    expect(emu.state().streams.find((s) => s.sid === created.sid)?.status).toBe('stopped');
  });

  it('updates a call with inline TwiML (the call moves to the named conference)', async () => {
    const voice = portFor();
    const { callSid } = await customerInConference();
    await voice.updateCallTwiml(
      callSid,
      '<Response><Dial><Conference>moved-room</Conference></Dial></Response>',
    );
    const moved = await waitFor(
      () => emu.state().conferences.find((c) => c.friendlyName === 'moved-room'),
      (c) => c?.participants.some((p) => p.callSid === callSid) === true,
      'the call in moved-room',
    );
    expect(emu.state().calls.find((c) => c.sid === callSid)?.conferenceSid).toBe(moved?.sid);
  });

  it('finds the in-progress conference by FriendlyName, and null for none or a completed one', async () => {
    const voice = portFor();
    const { callSid, taskSid } = await customerInConference();
    const expected = emu.state().conferences.find((c) => c.friendlyName === taskSid)?.sid;
    expect(expected).toMatch(/^CF/);
    await expect(voice.findInProgressConference(taskSid)).resolves.toBe(expected);
    await expect(voice.findInProgressConference('WT-no-such-task')).resolves.toBeNull();

    await emu.hangup(callSid);
    await waitFor(
      () => emu.state().conferences.find((c) => c.sid === expected)?.status,
      (status) => status === 'completed',
      'the conference to complete',
    );
    await expect(voice.findInProgressConference(taskSid)).resolves.toBeNull();
  });

  it('fetches and updates a participant (hold, endConferenceOnExit)', async () => {
    const voice = portFor();
    const { callSid, taskSid } = await customerInConference();
    const conferenceSid = await voice.findInProgressConference(taskSid);
    if (conferenceSid === null) throw new Error('conference not found');

    const before = await voice.fetchParticipant(conferenceSid, callSid);
    expect(before).toEqual({ callSid, conferenceSid, hold: false, endConferenceOnExit: false });

    const updated = await voice.updateParticipant(conferenceSid, callSid, {
      hold: true,
      endConferenceOnExit: true,
    });
    expect(updated).toEqual({ callSid, conferenceSid, hold: true, endConferenceOnExit: true });
    const participant = () =>
      emu
        .state()
        .conferences.find((c) => c.sid === conferenceSid)
        ?.participants.find((p) => p.callSid === callSid);
    expect(participant()).toMatchObject({ hold: true, endConferenceOnExit: true });

    // Only the given field changes.
    const unheld = await voice.updateParticipant(conferenceSid, callSid, { hold: false });
    expect(unheld).toMatchObject({ hold: false, endConferenceOnExit: true });
    await expect(voice.fetchParticipant(conferenceSid, callSid)).resolves.toEqual(unheld);
    expect(participant()).toMatchObject({ hold: false, endConferenceOnExit: true });
  });

  it("reads a call's status: in-progress, then completed after a hang-up, 20404 when unknown", async () => {
    const port = portFor();
    const { callSid } = await customerInConference();
    expect(await port.fetchCallStatus(callSid)).toBe('in-progress');
    await emu.hangup(callSid);
    expect(await port.fetchCallStatus(callSid)).toBe('completed');
    const error = await rejection(port.fetchCallStatus(UNKNOWN_CALL));
    expect(error).toMatchObject({ status: 404, code: 20404 });
    expect(error.message).toMatch(/^FetchCall: /);
    expect(classifyVoiceError(error)).toBe('call-gone');
  });

  it('maps an unknown call to 404 / 20404: call-gone', async () => {
    const voice = portFor();
    const error = await rejection(voice.stopStream(UNKNOWN_CALL, 'fs-x-0'));
    expect(error).toMatchObject({ status: 404, code: 20404, retryAfterMs: null });
    expect(error.message).toContain('UpdateStream');
    expect(classifyVoiceError(error)).toBe('call-gone');
    const twiml = await rejection(voice.updateCallTwiml(UNKNOWN_CALL, '<Response/>'));
    expect(twiml).toMatchObject({ status: 404, code: 20404 });
    expect(classifyVoiceError(twiml)).toBe('call-gone');
  });

  it('maps a stream on a completed call to 21220 or 20404: call-gone, keeping the SDK error as cause', async () => {
    const voice = portFor();
    const { callSid } = await customerInConference();
    await emu.hangup(callSid);
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === callSid)?.status,
      (status) => status === 'completed',
      'the call to complete',
    );
    const error = await rejection(
      voice.createStream(callSid, {
        url: `${receiver.origin}/streams`,
        name: 'late',
        track: 'both_tracks',
        parameters: {},
      }),
    );
    expect([21220, 20404]).toContain(error.code);
    expect(classifyVoiceError(error)).toBe('call-gone');
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as { code?: unknown }).code).toBe(error.code);
  });

  it('maps a bad request (a stream name already running) to other', async () => {
    const voice = portFor();
    const { callSid } = await customerInConference();
    const request = {
      url: `${receiver.origin}/streams`,
      name: 'twice',
      track: 'inbound_track' as const,
      parameters: {},
    };
    await voice.createStream(callSid, request);
    const error = await rejection(voice.createStream(callSid, request));
    expect(error.status).toBe(400);
    expect(error.code).not.toBeNull();
    expect(classifyVoiceError(error)).toBe('other');
  });

  it('refuses a request the SDK cannot send (a name with "/") without calling Twilio', async () => {
    const voice = portFor();
    const { callSid } = await customerInConference();
    const before = emu.events().filter((e) => e.type === 'rest.request').length;
    const error = await rejection(voice.stopStream(callSid, 'a/b'));
    expect(error).toMatchObject({ status: 400, code: null });
    expect(classifyVoiceError(error)).toBe('other');
    expect(isFsTwilioError(error.cause, 'FS_TW_REQUEST_REFUSED')).toBe(true);
    expect(emu.events().filter((e) => e.type === 'rest.request').length).toBe(before);
  });

  it('refuses more than 99 custom parameters before sending', async () => {
    const voice = portFor();
    const parameters = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`k${i}`, String(i)]),
    );
    const error = await rejection(
      voice.createStream(UNKNOWN_CALL, {
        url: `${receiver.origin}/streams`,
        name: 'many',
        track: 'inbound_track',
        parameters,
      }),
    );
    expect(error).toMatchObject({ status: 400, code: null });
    expect(isFsTwilioError(error.cause, 'FS_TW_REQUEST_REFUSED')).toBe(true);
  });
});

describe('API key authentication against the emulator', () => {
  async function createApiKey(): Promise<{ sid: string; secret: string }> {
    const response = await fetch(`${emu.url}/_emulator/api-keys`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ friendlyName: 'twilio adapter test' }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { sid: string; secret: string };
  }

  it('drives the voice port with an SK… key and secret', async () => {
    const key = await createApiKey();
    const voice = portFor({
      accountSid: emu.accountSid,
      apiKeySid: key.sid,
      apiKeySecret: key.secret,
    });
    const { callSid, taskSid } = await customerInConference();
    const conferenceSid = await voice.findInProgressConference(taskSid);
    expect(conferenceSid).toMatch(/^CF/);
    if (conferenceSid === null) return;
    await expect(voice.fetchParticipant(conferenceSid, callSid)).resolves.toMatchObject({
      callSid,
    });
  });

  it('maps a wrong secret to 401 / 20003: other', async () => {
    const key = await createApiKey();
    const voice = portFor({
      accountSid: emu.accountSid,
      apiKeySid: key.sid,
      apiKeySecret: `${key.secret}x`,
    });
    const error = await rejection(voice.findInProgressConference('WT-any'));
    expect(error).toMatchObject({ status: 401, code: 20003 });
    expect(classifyVoiceError(error)).toBe('other');
  });
});
