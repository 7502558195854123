import {
  ALL_TONES_HZ,
  decodeMulaw,
  detectTones,
  detectTonesByWindow,
  emulatorHttpClient,
  toneRuns,
  type Emulator,
  type EmulatorState,
} from '@flex-streams/emulator';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Receiver, type StreamStoppedEvent } from '../src/index.js';
import {
  closeEmulatorWorld,
  openEmulatorWorld,
  isSilent,
  readSidecar,
  readWav,
  soxInfo,
  waitFor,
} from './helpers.js';

/**
 * The receiver fed by the emulator's own Media Streams client: a real (emulated) conference whose
 * voices are known, streamed with signed upgrades, checked by content.
 */

let dir: string;
let remove: () => Promise<void>;
let emulator: Emulator;
let receiver: Receiver;
let stopped: StreamStoppedEvent[];

beforeEach(async () => {
  // Signatures on: the emulator signs every upgrade with its auth token, as Twilio does.
  ({ dir, remove, emulator, receiver, stopped } = await openEmulatorWorld());
});

afterEach(async () => {
  await closeEmulatorWorld({ dir, remove, emulator, receiver, stopped });
});

const conference = (room: string): string =>
  `<Dial><Conference beep="false" startConferenceOnEnter="true">${room}</Conference></Dial>`;

function streamOf(callSid: string): EmulatorState['streams'][number] | undefined {
  return emulator.state().streams.find((s) => s.callSid === callSid);
}

describe('recording the emulator’s Media Streams', () => {
  it('puts the customer on channel 1 and the agent on channel 2, with silence exactly where the emulator skipped frames', async () => {
    const agent = await emulator.placeInboundCall({
      from: '+15550000001',
      to: '+15550000000',
      twiml: `<Response>${conference('room-1')}</Response>`,
    });
    const customer = await emulator.placeInboundCall({
      from: '+15550001234',
      to: '+15550000000',
      twiml:
        `<Response><Start><Stream url="${receiver.url}" track="both_tracks" name="customer-leg">` +
        `<Parameter name="streamName" value="customer-leg"/></Stream></Start>${conference('room-1')}</Response>`,
    });
    const voiceOf = (callSid: string): number => {
      const call = emulator.state().calls.find((c) => c.sid === callSid);
      if (call === undefined) throw new Error(`no call ${callSid}`);
      return call.voice.frequencyHz;
    };
    const customerHz = voiceOf(customer.callSid);
    const agentHz = voiceOf(agent.callSid);
    expect(customerHz).not.toBe(agentHz);

    await waitFor(
      () => (streamOf(customer.callSid)?.framesByTrack.outbound ?? 0) >= 40,
      '800 ms of stream',
    );
    const stream = streamOf(customer.callSid);
    if (stream === undefined) throw new Error('no stream');
    const response = await fetch(`${emulator.url}/_emulator/streams/${stream.sid}/gap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ track: 'outbound', durationMs: 400 }),
    });
    expect(response.status).toBe(200);
    await waitFor(
      () => (streamOf(customer.callSid)?.skippedByTrack.outbound ?? 0) >= 20,
      'the gap',
    );
    const resumedAt = streamOf(customer.callSid)?.framesByTrack.outbound ?? 0;
    await waitFor(
      () => (streamOf(customer.callSid)?.framesByTrack.outbound ?? 0) >= resumedAt + 25,
      '500 ms after the gap',
    );
    await emulator.hangup(customer.callSid);
    await waitFor(() => stopped.length === 1, 'the recording to finish', 15_000);

    const final = streamOf(customer.callSid);
    const event = stopped[0];
    if (final === undefined || event === undefined) throw new Error('unreachable');
    expect(event.endReason).toBe('stop');
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({
      streamSid: final.sid,
      callSid: customer.callSid,
      accountSid: emulator.accountSid,
      streamName: 'customer-leg',
      tracks: ['inbound', 'outbound'],
      framesByTrack: final.framesByTrack,
      endReason: 'stop',
    });
    expect(event.wavPath.endsWith(`/${customer.callSid}/customer-leg.wav`)).toBe(true);

    // Length: every inbound frame the emulator sent, 20 ms each (± 40 ms).
    const expectedMs = (final.framesByTrack.inbound ?? 0) * 20;
    const wav = await readWav(event.wavPath);
    expect(Math.abs(wav.durationMs - expectedMs)).toBeLessThanOrEqual(40);
    const info = await soxInfo(event.wavPath);
    expect(info).toMatchObject({ channels: 2, sampleRate: 8000, samples: wav.durationMs * 8 });

    const [inbound, outbound] = wav.byChannel;
    if (inbound === undefined || outbound === undefined) throw new Error('expected stereo');
    // Channel 1: the customer, and only the customer, throughout.
    for (const w of detectTonesByWindow(decodeMulaw(inbound), ALL_TONES_HZ)) {
      expect(w.tones, `inbound at ${w.startMs} ms`).toEqual([customerHz]);
    }
    // Channel 2: never the customer; the agent wherever there is sound.
    const outboundWindows = detectTonesByWindow(decodeMulaw(outbound), ALL_TONES_HZ);
    expect(outboundWindows.filter((w) => w.tones.length > 0).length).toBeGreaterThan(10);
    for (const w of outboundWindows) {
      if (w.tones.length > 0) expect(w.tones, `outbound at ${w.startMs} ms`).toEqual([agentHz]);
    }
    // The gap: exactly the frames the emulator skipped, silent, with the agent on either side.
    expect(sidecar.gaps).toHaveLength(1);
    const gap = sidecar.gaps[0];
    if (gap === undefined) throw new Error('unreachable');
    expect(gap.track).toBe('outbound');
    expect(gap.durationMs).toBe((final.skippedByTrack.outbound ?? 0) * 20);
    const from = gap.atMs * 8;
    const to = (gap.atMs + gap.durationMs) * 8;
    expect(isSilent(outbound.subarray(from, to))).toBe(true);
    expect(detectTones(decodeMulaw(outbound.subarray(from - 160, from)), ALL_TONES_HZ)).toEqual([
      agentHz,
    ]);
    expect(detectTones(decodeMulaw(outbound.subarray(to, to + 160)), ALL_TONES_HZ)).toEqual([
      agentHz,
    ]);
  });

  it('records a REST-created stream through a warm transfer: the second agent joins channel 2, never channel 1', async () => {
    const client = twilio(emulator.accountSid, emulator.authToken, {
      httpClient: emulatorHttpClient(emulator.url),
    });
    const agentA = await emulator.placeInboundCall({
      from: '+15550000001',
      to: '+15550000000',
      twiml: `<Response>${conference('room-2')}</Response>`,
    });
    const customer = await emulator.placeInboundCall({
      from: '+15550001234',
      to: '+15550000000',
      twiml: `<Response>${conference('room-2')}</Response>`,
    });
    await waitFor(
      () => emulator.state().calls.find((c) => c.sid === customer.callSid)?.conferenceSid != null,
      'the customer to join',
    );
    // Official SDK, Twilio's parameter spelling (twilio-facts §2).
    const created = await client.calls(customer.callSid).streams.create({
      url: receiver.url,
      track: 'both_tracks',
      name: 'rest-stream',
      'parameter1.name': 'streamName',
      'parameter1.value': 'segment A+B',
    });
    await waitFor(() => (streamOf(customer.callSid)?.framesByTrack.inbound ?? 0) >= 30, '600 ms');
    const agentB = await emulator.placeInboundCall({
      from: '+15550000002',
      to: '+15550000000',
      twiml: `<Response>${conference('room-2')}</Response>`,
    });
    const joinedAt = streamOf(customer.callSid)?.framesByTrack.inbound ?? 0;
    await waitFor(
      () => (streamOf(customer.callSid)?.framesByTrack.inbound ?? 0) >= joinedAt + 30,
      '600 ms with both agents',
    );
    const updated = await client
      .calls(customer.callSid)
      .streams(created.sid)
      .update({ status: 'stopped' });
    expect(updated.status).toBe('stopped');
    await waitFor(() => stopped.length === 1, 'the recording to finish', 15_000);

    const event = stopped[0];
    const final = streamOf(customer.callSid);
    if (event === undefined || final === undefined) throw new Error('unreachable');
    expect(event.endReason).toBe('stop');
    expect(event.wavPath.endsWith(`/${customer.callSid}/segment_A_B.wav`)).toBe(true);
    const wav = await readWav(event.wavPath);
    expect(Math.abs(wav.durationMs - (final.framesByTrack.inbound ?? 0) * 20)).toBeLessThanOrEqual(
      40,
    );
    expect(await soxInfo(event.wavPath)).toMatchObject({
      channels: 2,
      samples: wav.durationMs * 8,
    });
    const state = emulator.state();
    const hz = (sid: string): number =>
      state.calls.find((c) => c.sid === sid)?.voice.frequencyHz ?? 0;
    const [inbound, outbound] = wav.byChannel;
    if (inbound === undefined || outbound === undefined) throw new Error('expected stereo');
    expect(
      toneRuns(detectTonesByWindow(decodeMulaw(inbound), ALL_TONES_HZ)).map((r) => r.tones),
    ).toEqual([[hz(customer.callSid)]]);
    expect(
      toneRuns(detectTonesByWindow(decodeMulaw(outbound), ALL_TONES_HZ)).map((r) =>
        [...r.tones].sort((a, b) => a - b),
      ),
    ).toEqual([
      [hz(agentA.callSid)],
      [hz(agentA.callSid), hz(agentB.callSid)].sort((a, b) => a - b),
    ]);
    // The call goes on after its stream stopped.
    expect(state.calls.find((c) => c.sid === customer.callSid)?.status).toBe('in-progress');
  });
});
