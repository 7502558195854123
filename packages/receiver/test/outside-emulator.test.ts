import {
  ALL_TONES_HZ,
  decodeMulaw,
  detectTonesByWindow,
  emulatorHttpClient,
  toneRuns,
  type Emulator,
} from '@flex-streams/emulator';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Receiver, type StreamStoppedEvent } from '../src/index.js';
import {
  closeEmulatorWorld,
  openEmulatorWorld,
  readSidecar,
  readWav,
  soxInfo,
  waitFor,
} from './helpers.js';

/**
 * From a new user's point of view, with real (emulated) calls: the warm-transfer recipe of the
 * Twilio Flex example (twilio-facts, appendix) runs stream B of the customer's call while stream A
 * is still open; both must be recorded in the call's folder, neither overwritten.
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

const room = `<Response><Dial><Conference beep="false" startConferenceOnEnter="true">wt</Conference></Dial></Response>`;

function framesOf(streamSid: string, track: 'inbound' | 'outbound'): number {
  return emulator.state().streams.find((s) => s.sid === streamSid)?.framesByTrack[track] ?? 0;
}

/** The tones heard on one channel, run by run. */
function runs(channel: Uint8Array | undefined): number[][] {
  if (channel === undefined) throw new Error('missing channel');
  return toneRuns(detectTonesByWindow(decodeMulaw(channel), ALL_TONES_HZ)).map((r) =>
    [...r.tones].sort((a, b) => a - b),
  );
}

describe('a warm transfer recorded as two overlapping streams of the same call', () => {
  it('records stream A and stream B side by side, each with its own voices, plus a mono outbound-only stream', async () => {
    const client = twilio(emulator.accountSid, emulator.authToken, {
      httpClient: emulatorHttpClient(emulator.url),
    });
    const agentA = await emulator.placeInboundCall({
      from: '+15550000001',
      to: '+15550000000',
      twiml: room,
    });
    const customer = await emulator.placeInboundCall({
      from: '+15550001234',
      to: '+15550000000',
      twiml: room,
    });
    await waitFor(
      () => emulator.state().calls.find((c) => c.sid === customer.callSid)?.conferenceSid != null,
      'the customer to join',
    );
    const streamA = await client.calls(customer.callSid).streams.create({
      url: receiver.url,
      track: 'both_tracks',
      name: 'A',
      'parameter1.name': 'streamName',
      'parameter1.value': 'segment',
    });
    await waitFor(() => framesOf(streamA.sid, 'inbound') >= 30, 'A: 600 ms');
    const agentB = await emulator.placeInboundCall({
      from: '+15550000002',
      to: '+15550000000',
      twiml: room,
    });
    // B starts while A still runs: same call, same streamName parameter.
    const streamB = await client.calls(customer.callSid).streams.create({
      url: receiver.url,
      track: 'both_tracks',
      name: 'B',
      'parameter1.name': 'streamName',
      'parameter1.value': 'segment',
    });
    await waitFor(() => framesOf(streamB.sid, 'inbound') >= 30, 'B: 600 ms');
    // Agent A leaves; stream A is stopped by name, as the recipe does.
    await client.calls(customer.callSid).streams('A').update({ status: 'stopped' });
    await emulator.hangup(agentA.callSid);
    await waitFor(
      () => emulator.state().calls.find((c) => c.sid === agentA.callSid)?.status === 'completed',
      'agent A to leave',
    );
    // What the customer hears now, mono: a third stream (the emulator forks at most 4 tracks).
    const listen = await client.calls(customer.callSid).streams.create({
      url: receiver.url,
      track: 'outbound_track',
      name: 'listen',
    });
    const before = framesOf(streamB.sid, 'inbound');
    await waitFor(() => framesOf(streamB.sid, 'inbound') >= before + 30, 'B alone: 600 ms');
    await emulator.hangup(customer.callSid);
    await waitFor(() => stopped.length === 3, 'three recordings', 15_000);

    const bySid = (sid: string): StreamStoppedEvent => {
      const event = stopped.find((e) => e.streamSid === sid);
      if (event === undefined) throw new Error(`no recording for ${sid}`);
      return event;
    };
    const a = bySid(streamA.sid);
    const b = bySid(streamB.sid);
    const l = bySid(listen.sid);
    expect((await readdir(join(dir, customer.callSid))).sort()).toEqual(
      [
        `${listen.sid}.json`,
        `${listen.sid}.wav`,
        'segment-2.json',
        'segment-2.wav',
        'segment.json',
        'segment.wav',
      ].sort(),
    );
    expect([a.endReason, b.endReason, l.endReason]).toEqual(['stop', 'stop', 'stop']);

    const state = emulator.state();
    const hz = (sid: string): number =>
      state.calls.find((c) => c.sid === sid)?.voice.frequencyHz ?? 0;
    const [cHz, aHz, bHz] = [hz(customer.callSid), hz(agentA.callSid), hz(agentB.callSid)];

    const wavA = await readWav(a.wavPath);
    expect(runs(wavA.byChannel[0])).toEqual([[cHz]]);
    expect(runs(wavA.byChannel[1])).toEqual([[aHz], [aHz, bHz].sort((x, y) => x - y)]);
    const wavB = await readWav(b.wavPath);
    expect(runs(wavB.byChannel[0])).toEqual([[cHz]]);
    expect(runs(wavB.byChannel[1])).toEqual([[aHz, bHz].sort((x, y) => x - y), [bHz]]);
    for (const [event, wav] of [
      [a, wavA],
      [b, wavB],
    ] as const) {
      const final = state.streams.find((s) => s.sid === event.streamSid);
      expect(
        Math.abs(wav.durationMs - (final?.framesByTrack.inbound ?? 0) * 20),
      ).toBeLessThanOrEqual(40);
      expect((await readSidecar(event.sidecarPath)).streamSid).toBe(event.streamSid);
    }

    const wavL = await readWav(l.wavPath);
    expect(wavL.channels).toBe(1);
    expect(await readSidecar(l.sidecarPath)).toMatchObject({
      tracks: ['outbound'],
      channels: { outbound: 1 },
    });
    expect(runs(wavL.byChannel[0])).toEqual([[bHz]]);
    expect(await soxInfo(l.wavPath)).toMatchObject({ channels: 1, samples: wavL.durationMs * 8 });
  });
});
