import { createServer } from 'node:net';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_TONES_HZ,
  SOUNDS,
  decodeMulawBase64,
  detectTones,
  startEmulator,
  toneName,
  type Emulator,
} from '../src/index.js';
import { contractViolations, recordingClient, waitFor, type Exchange } from './helpers/contract.js';
import { startWebhookServer } from './helpers/webhook-server.js';
import { startServer, type ServerConnection, type TestServer } from './media-harness.js';

let emu: Emulator;
let app: Awaited<ReturnType<typeof startWebhookServer>>;
let ws: TestServer;
let client: twilio.Twilio;
let exchanges: Exchange[];

beforeAll(async () => {
  emu = await startEmulator();
  app = await startWebhookServer();
  ws = await startServer();
  ({ client, exchanges } = recordingClient(emu));
});
afterAll(async () => {
  await emu.close();
  await app.close();
  await ws.close();
});
afterEach(() => {
  // splice: each test answers for its own exchanges.
  expect(contractViolations(exchanges.splice(0))).toEqual([]);
});

const callOf = (sid: string) => emu.state().calls.find((c) => c.sid === sid);
const streamOf = (sid: string) => emu.state().streams.find((s) => s.sid === sid);

async function restError(promise: Promise<unknown>): Promise<{ status: number; code: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status: number; code: number };
    return { status: e.status, code: e.code };
  }
  throw new Error('expected the SDK to throw');
}

/** An in-progress inbound call running `twiml` (a long pause by default). */
async function liveCall(twiml = '<Response><Pause length="30"/></Response>'): Promise<string> {
  const { callSid } = await emu.placeInboundCall({ from: '+15550001', to: '+15550002', twiml });
  await waitFor(
    () => callOf(callSid)?.status,
    (s) => s === 'in-progress',
    'answer',
  );
  return callSid;
}

/** The WebSocket connection whose `start` names `streamSid`. */
function connectionOf(streamSid: string): Promise<ServerConnection> {
  return waitFor(
    () =>
      ws.connections.find((c) =>
        c.messages.some((m) => m.event === 'start' && m.streamSid === streamSid),
      ),
    (c): c is ServerConnection => c !== undefined,
    `the start of ${streamSid}`,
  ) as Promise<ServerConnection>;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('Streams through the official SDK', () => {
  it('creates a stream (200), streams it, and stops it by URL-encoded name with signed callbacks', async () => {
    const callSid = await liveCall();
    const stream = await client.calls(callSid).streams.create({
      url: `${ws.origin}/media`,
      name: 'Stream WK a',
      track: 'both_tracks',
      statusCallback: `${app.url}/stream-events`,
      'parameter1.name': 'workerSid',
      'parameter1.value': 'WKa',
    });
    expect(stream.sid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(stream.status).toBe('in-progress');
    expect(stream.name).toBe('Stream WK a');
    const connection = await connectionOf(stream.sid);
    const start = connection.messages.find((m) => m.event === 'start') as {
      start: Record<string, unknown>;
    };
    expect(start.start).toMatchObject({
      callSid,
      tracks: ['inbound', 'outbound'],
      customParameters: { workerSid: 'WKa' },
    });
    await waitFor(
      () => connection.messages.filter((m) => m.event === 'media').length,
      (n) => n >= 30,
      'media',
    );

    const stopped = await client
      .calls(callSid)
      .streams('Stream WK a')
      .update({ status: 'stopped' });
    expect(stopped.sid).toBe(stream.sid);
    expect(stopped.status).toBe('stopped');
    await waitFor(
      () => connection.messages.at(-1)?.event,
      (e) => e === 'stop',
      'the stop message',
    );
    const callbacks = await waitFor(
      () =>
        app.received.filter(
          (r) => r.path === '/stream-events' && r.params.StreamSid === stream.sid,
        ),
      (list) => list.length === 2,
      'stream-started and stream-stopped',
    );
    expect(callbacks.map((r) => r.params.StreamEvent).sort()).toEqual([
      'stream-started',
      'stream-stopped',
    ]);
    for (const r of callbacks) {
      expect(r.params).toMatchObject({
        AccountSid: emu.accountSid,
        CallSid: callSid,
        StreamName: 'Stream WK a',
      });
      expect(twilio.validateRequest(emu.authToken, r.signature ?? '', r.url, r.params)).toBe(true);
    }
    const stoppedEvent = await waitFor(
      () => emu.events().find((e) => e.type === 'stream.stopped' && e.streamSid === stream.sid),
      Boolean,
      'stream.stopped event',
    );
    const frames = stoppedEvent?.framesByTrack as { inbound: number; outbound: number };
    expect(frames.inbound).toBeGreaterThanOrEqual(10);
    expect(frames.outbound).toBeGreaterThanOrEqual(10);
    expect(
      await restError(client.calls(callSid).streams('Stream WK a').update({ status: 'stopped' })),
    ).toEqual({
      status: 404,
      code: 20404,
    });
    await emu.hangup(callSid);
  });

  it('refuses a 5th forked track and a duplicate name, by REST and by TwiML, without touching the call', async () => {
    const callSid = await liveCall();
    const url = `${ws.origin}/limit`;
    await client.calls(callSid).streams.create({ url, name: 'a', track: 'both_tracks' });
    const b = await client
      .calls(callSid)
      .streams.create({ url, name: 'b', track: 'inbound_track' });
    expect(await restError(client.calls(callSid).streams.create({ url, name: 'a' }))).toEqual({
      status: 400,
      code: 31961,
    });
    await client.calls(callSid).streams.create({ url, name: 'c', track: 'outbound_track' });
    expect(await restError(client.calls(callSid).streams.create({ url, name: 'd' }))).toEqual({
      status: 400,
      code: 31960,
    });
    await client.calls(callSid).update({
      twiml: `<Response><Start><Stream url="${url}" name="e"/></Start><Pause length="30"/></Response>`,
    });
    await waitFor(
      () => emu.events().find((e) => e.type === 'stream.refused' && e.name === 'e'),
      Boolean,
      'the TwiML fork to be refused',
    );
    expect(callOf(callSid)?.status).toBe('in-progress');
    // Stopping one stream (here by its MZ SID) frees its tracks.
    const stoppedB = await client.calls(callSid).streams(b.sid).update({ status: 'stopped' });
    expect(stoppedB).toMatchObject({ sid: b.sid, name: 'b', status: 'stopped' });
    await client.calls(callSid).streams.create({ url, name: 'd' });
    expect(
      emu.state().streams.filter((s) => s.callSid === callSid && s.status === 'in-progress'),
    ).toHaveLength(3);
    expect(
      await restError(client.calls(callSid).streams.create({ url, track: 'sideways' as never })),
    ).toEqual({
      status: 400,
      code: 20001,
    });
    expect(
      await restError(client.calls('CA00000000000000000000000000000000').streams.create({ url })),
    ).toEqual({
      status: 404,
      code: 20404,
    });
    await emu.hangup(callSid);
    expect(await restError(client.calls(callSid).streams.create({ url }))).toEqual({
      status: 400,
      code: 21220,
    });
  });

  it('sends stream-error with a 319xx code when the WebSocket server refuses the connection', async () => {
    const bystander = await liveCall();
    const callSid = await liveCall();
    const port = await closedPort();
    const stream = await client.calls(callSid).streams.create({
      url: `ws://127.0.0.1:${port}/nobody`,
      statusCallback: `${app.url}/stream-errors`,
    });
    const callback = await waitFor(
      () =>
        app.received.find((r) => r.path === '/stream-errors' && r.params.StreamSid === stream.sid),
      Boolean,
      'stream-error',
    );
    expect(callback?.params.StreamEvent).toBe('stream-error');
    expect(callback?.params.StreamError).toMatch(/^319\d\d: /);
    expect(
      twilio.validateRequest(
        emu.authToken,
        callback?.signature ?? '',
        callback?.url ?? '',
        callback?.params ?? {},
      ),
    ).toBe(true);
    expect(streamOf(stream.sid)?.status).toBe('stopped');
    expect(callOf(callSid)?.status).toBe('in-progress');
    expect(callOf(bystander)?.status).toBe('in-progress');
    await emu.hangup(callSid);
    await emu.hangup(bystander);
  });

  it('keeps streams across a TwiML redirect, stops one with <Stop><Stream>, and the rest when the call ends', async () => {
    const url = `${ws.origin}/twiml`;
    const callSid = await liveCall(
      `<Response><Start><Stream url="${url}" name="A"><Parameter name="who" value="a"/></Stream></Start><Pause length="30"/></Response>`,
    );
    const a = await waitFor(
      () => emu.state().streams.find((s) => s.callSid === callSid && s.name === 'A'),
      Boolean,
      'A',
    );
    const connA = await connectionOf(a?.sid ?? '');
    await client.calls(callSid).update({
      twiml: `<Response><Start><Stream url="${url}" name="B"/></Start><Pause length="30"/></Response>`,
    });
    const b = await waitFor(
      () => emu.state().streams.find((s) => s.callSid === callSid && s.name === 'B'),
      Boolean,
      'B',
    );
    const connB = await connectionOf(b?.sid ?? '');
    expect(streamOf(a?.sid ?? '')?.status).toBe('in-progress');
    await client.calls(callSid).update({
      twiml: '<Response><Stop><Stream name="A"/></Stop><Pause length="30"/></Response>',
    });
    await waitFor(
      () => connA.messages.at(-1)?.event,
      (e) => e === 'stop',
      'A to stop',
    );
    expect(streamOf(b?.sid ?? '')?.status).toBe('in-progress');
    await emu.hangup(callSid);
    await waitFor(
      () => connB.messages.at(-1)?.event,
      (e) => e === 'stop',
      'B to stop with the call',
    );
    expect(streamOf(b?.sid ?? '')?.status).toBe('stopped');
  });
});

/** The tones present in some `track` frames, decoded, as readable names, sorted. */
function tonesOf(frames: readonly Record<string, unknown>[]): string[] {
  const payloads = frames.map((m) => decodeMulawBase64((m.media as { payload: string }).payload));
  const samples = new Int16Array(payloads.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of payloads) {
    samples.set(p, offset);
    offset += p.length;
  }
  return detectTones(samples, ALL_TONES_HZ).map(toneName).sort();
}

/**
 * Waits until `track`, among the frames received after message index `from`, carries exactly the
 * `expected` tones: in its latest `window` frames (a lasting state), or with `transient` in any
 * window (a beep). Polling, not sleeping, keeps it stable on a loaded machine; frames that were
 * in flight when the state changed cannot make it pass with the wrong tones, because the match is
 * exact.
 */
async function hears(
  connection: ServerConnection,
  from: number,
  track: 'inbound' | 'outbound',
  expected: readonly string[],
  options: { window?: number; transient?: boolean } = {},
): Promise<void> {
  const window = options.window ?? 10;
  const want = [...expected].sort().join(',');
  let last: string[] = [];
  await waitFor(
    () => {
      const frames = connection.messages
        .slice(from)
        .filter((m) => m.event === 'media' && (m.media as { track: string }).track === track);
      if (frames.length < window) return false;
      if (options.transient !== true) {
        last = tonesOf(frames.slice(-window));
        return last.join(',') === want;
      }
      for (let i = 0; i + window <= frames.length; i++) {
        last = tonesOf(frames.slice(i, i + window));
        if (last.join(',') === want) return true;
      }
      return false;
    },
    (ok) => ok,
    `${track} to carry [${want}]`,
    10_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; last heard [${last.join(',')}]`);
  });
}

describe('what a stream carries, proven from decoded audio', () => {
  it('inbound is the customer; outbound is the mix minus the customer, hold music, mute and a redirect', async () => {
    const room = 'WTaudio';
    const url = `${ws.origin}/audio`;
    const customer = await liveCall(
      `<Response><Start><Stream url="${url}" name="cust" track="both_tracks"/></Start><Dial><Conference beep="false">${room}</Conference></Dial></Response>`,
    );
    const agentA = await liveCall(
      `<Response><Dial><Conference beep="false">${room}</Conference></Dial></Response>`,
    );
    const stream = await waitFor(
      () => emu.state().streams.find((s) => s.callSid === customer),
      Boolean,
      'stream',
    );
    const connection = await connectionOf(stream?.sid ?? '');
    const voice = (sid: string): string => toneName(callOf(sid)?.voice.frequencyHz ?? 0);
    const sid = emu.state().conferences.find((c) => c.friendlyName === room)?.sid ?? '';
    const mark = (): number => connection.messages.length;

    await waitFor(
      () => callOf(agentA)?.conferenceSid,
      (s) => s === sid,
      'agent A to join',
    );
    let at = mark();
    await hears(connection, at, 'inbound', [voice(customer)]);
    await hears(connection, at, 'outbound', [voice(agentA)]);

    // A second agent joins with a beep: the customer hears both agents and the beep.
    at = mark();
    const agentB = await liveCall(
      `<Response><Dial><Conference>${room}</Conference></Dial></Response>`,
    );
    await waitFor(
      () => callOf(agentB)?.conferenceSid,
      (s) => s === sid,
      'agent B to join',
    );
    const beep = toneName(SOUNDS.beep.frequencyHz);
    await hears(connection, at, 'outbound', [voice(agentA), voice(agentB), beep], {
      window: 5,
      transient: true,
    });
    await hears(connection, at, 'outbound', [voice(agentA), voice(agentB)]);

    await client.conferences(sid).participants(customer).update({ hold: true });
    at = mark();
    await hears(connection, at, 'outbound', [toneName(SOUNDS.holdMusic.frequencyHz)]);
    await hears(connection, at, 'inbound', [voice(customer)]);

    await client.conferences(sid).participants(customer).update({ hold: false });
    await client.conferences(sid).participants(agentB).update({ muted: true });
    at = mark();
    await hears(connection, at, 'outbound', [voice(agentA)]);

    await client.conferences(sid).participants(agentA).update({ hold: true });
    at = mark();
    await hears(connection, at, 'outbound', []);

    // Redirected out of the conference to <Say>: the stream survives and carries the Say audio.
    await client
      .calls(customer)
      .update({ twiml: '<Response><Say loop="0">hello</Say></Response>' });
    at = mark();
    await hears(connection, at, 'outbound', [toneName(SOUNDS.say.frequencyHz)]);
    await hears(connection, at, 'inbound', [voice(customer)]);
    expect(streamOf(stream?.sid ?? '')?.status).toBe('in-progress');

    await emu.hangup(customer);
    await waitFor(
      () => connection.messages.at(-1)?.event,
      (e) => e === 'stop',
      'stop',
    );
    await emu.hangup(agentA);
    await emu.hangup(agentB);
  });
});
