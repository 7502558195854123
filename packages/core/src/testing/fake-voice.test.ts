import { describe, expect, it } from 'vitest';
import { isVoiceApiError } from '../ports.js';
import { createFakeVoice, makeSid } from './fake-voice.js';

const call = makeSid('CA', 1);
const request = (name: string, track: 'both_tracks' | 'inbound_track' = 'both_tracks') => ({
  url: 'wss://rx.example.com/s',
  name,
  track,
  parameters: {},
});

async function codeOf(promise: Promise<unknown>): Promise<number | null> {
  try {
    await promise;
  } catch (error) {
    if (isVoiceApiError(error)) return error.code ?? error.status;
  }
  return null;
}

describe('fake Twilio voice (keeps the contract the tests rely on)', () => {
  it('enforces the 4-track budget and unique names per call, and stops by name or SID', async () => {
    const voice = createFakeVoice();
    voice.addCall(call);
    const first = await voice.createStream(call, request('a'));
    expect(first.sid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(await codeOf(voice.createStream(call, request('a', 'inbound_track')))).toBe(400);
    await voice.createStream(call, request('b'));
    expect(voice.tracksInUse(call)).toBe(4);
    expect(await codeOf(voice.createStream(call, request('c', 'inbound_track')))).toBe(400);
    await voice.stopStream(call, 'a');
    expect(await codeOf(voice.stopStream(call, first.sid))).toBe(20404);
    await voice.createStream(call, request('c', 'inbound_track'));
    expect(voice.tracksInUse(call)).toBe(3);
  });

  it('answers 20404 / 21220 once the call has ended', async () => {
    const voice = createFakeVoice();
    voice.addCall(call);
    voice.hangUp(call);
    expect(await codeOf(voice.createStream(call, request('a')))).toBe(20404);
    expect(await codeOf(voice.updateCallTwiml(call, '<Response/>'))).toBe(21220);
  });

  it('ends the conference when a participant with endConferenceOnExit=true is redirected', async () => {
    const voice = createFakeVoice();
    const agent = makeSid('CA', 2);
    const conference = makeSid('CF', 1);
    voice.addCall(call);
    voice.addCall(agent);
    voice.addConference(conference, 'WT1', [
      { callSid: call, endConferenceOnExit: true },
      { callSid: agent, endConferenceOnExit: false },
    ]);
    await voice.updateCallTwiml(
      call,
      '<Response><Dial><Conference>WT1</Conference></Dial></Response>',
    );
    expect(voice.conference(conference).status).toBe('completed');
  });

  it('shows participant updates only after the configured number of reads', async () => {
    const voice = createFakeVoice();
    const conference = makeSid('CF', 1);
    voice.addCall(call);
    voice.addConference(conference, 'WT1', [{ callSid: call, endConferenceOnExit: true }]);
    voice.setReadLag(1);
    await voice.updateParticipant(conference, call, { endConferenceOnExit: false });
    expect((await voice.fetchParticipant(conference, call)).endConferenceOnExit).toBe(true);
    expect((await voice.fetchParticipant(conference, call)).endConferenceOnExit).toBe(false);
  });

  it('fails the next N requests as told', async () => {
    const voice = createFakeVoice();
    voice.addCall(call);
    voice.failNext(2, { status: 503, code: null }, 'createStream');
    expect(await codeOf(voice.createStream(call, request('a')))).toBe(503);
    expect(await codeOf(voice.createStream(call, request('a')))).toBe(503);
    expect(await codeOf(voice.createStream(call, request('a')))).toBeNull();
  });
});
