import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorEvent } from '../src/index.js';
import { recordingClient, waitFor } from './helpers/contract.js';
import { startWebhookServer } from './helpers/webhook-server.js';
import { startServer, type TestServer } from './media-harness.js';

let emu: Emulator;
let app: Awaited<ReturnType<typeof startWebhookServer>>;
let ws: TestServer;
let client: twilio.Twilio;

beforeAll(async () => {
  emu = await startEmulator();
  app = await startWebhookServer();
  ws = await startServer();
  ({ client } = recordingClient(emu));
});
afterAll(async () => {
  await emu.close();
  await app.close();
  await ws.close();
});

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${emu.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('control API under /_emulator/', () => {
  it('places an inbound call with a chosen voice that fetches its TwiML from a url, and hangs it up', async () => {
    app.route('/incoming', '<Response><Pause length="30"/></Response>');
    const placed = await control('POST', '/_emulator/calls', {
      from: '+15551112222',
      to: '+15553334444',
      url: `${app.url}/incoming`,
      voiceHz: 1234,
    });
    expect(placed.status).toBe(201);
    const callSid = placed.json.callSid as string;
    const fetchHit = await waitFor(
      () => app.received.find((r) => r.params.CallSid === callSid),
      Boolean,
      'TwiML fetch',
    );
    expect(fetchHit?.params).toMatchObject({
      Direction: 'inbound',
      From: '+15551112222',
      CallStatus: 'ringing',
    });
    const state = await control('GET', '/_emulator/state');
    const calls = state.json.calls as {
      sid: string;
      voice: { frequencyHz: number };
      direction: string;
      status: string;
    }[];
    expect(calls.find((c) => c.sid === callSid)).toMatchObject({
      voice: { frequencyHz: 1234 },
      direction: 'inbound',
      status: 'in-progress',
    });
    const hung = await control('POST', `/_emulator/calls/${callSid}/hangup`);
    expect(hung).toEqual({ status: 200, json: { callSid, status: 'completed' } });
    expect((await client.calls(callSid).fetch()).status).toBe('completed');
  });

  it('gives every call its own voice in creation order, shown in the state', async () => {
    const a = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      twiml: '<Response><Pause length="5"/></Response>',
    });
    const b = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      twiml: '<Response><Pause length="5"/></Response>',
    });
    const voices = emu
      .state()
      .calls.filter((c) => c.sid === a.callSid || c.sid === b.callSid)
      .map((c) => c.voice.frequencyHz);
    expect(new Set(voices).size).toBe(2);
    await emu.hangup(a.callSid);
    await emu.hangup(b.callSid);
  });

  it('keeps an ordered event log readable with ?since=, recording REST requests with their operation', async () => {
    const before = emu.events().at(-1)?.seq ?? 0;
    const call = await client.calls.create({
      to: '+1',
      from: '+2',
      twiml: '<Response><Say>hi</Say></Response>',
    });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === call.sid)?.status,
      (s) => s === 'completed',
      'the call to end',
    );
    const { json } = await control('GET', `/_emulator/events?since=${before}`);
    const events = json.events as EmulatorEvent[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => before + 1 + i));
    // A request is logged when its response is sent, after what its handler did.
    expect(events.filter((e) => e.type === 'rest.request')).toEqual([
      expect.objectContaining({ method: 'POST', operation: 'CreateCall', status: 201 }),
    ]);
    const mine = events
      .filter((e) => e.callSid === call.sid)
      .map((e) => (e.type === 'call.status' ? `${e.type}:${String(e.status)}` : e.type));
    expect(mine).toEqual([
      'call.created',
      'call.status:ringing',
      'call.status:in-progress',
      'twiml.verb',
      'call.status:completed',
    ]);
    expect(emu.events(before)).toEqual(events);
  });

  it('injects a gap into a running stream track and counts the frames left unsent', async () => {
    const { callSid } = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      twiml: '<Response><Pause length="30"/></Response>',
    });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === callSid)?.status,
      (s) => s === 'in-progress',
      'answer',
    );
    const stream = await client
      .calls(callSid)
      .streams.create({ url: `${ws.origin}/gap`, track: 'both_tracks' });
    await waitFor(
      () => emu.state().streams.find((s) => s.sid === stream.sid)?.state,
      (s) => s === 'streaming',
      'streaming',
    );
    const gap = await control('POST', `/_emulator/streams/${stream.sid}/gap`, {
      track: 'inbound',
      durationMs: 200,
    });
    expect(gap.status).toBe(200);
    await waitFor(
      () => emu.state().streams.find((s) => s.sid === stream.sid)?.skippedByTrack.inbound ?? 0,
      (n) => n >= 10,
      'skipped inbound frames',
    );
    expect(emu.state().streams.find((s) => s.sid === stream.sid)?.skippedByTrack.outbound).toBe(0);
    await emu.hangup(callSid);
  });

  it('answers bad control requests with a clear 400/404 and leaves other calls untouched', async () => {
    const { callSid } = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      twiml: '<Response><Pause length="30"/></Response>',
    });
    const cases: [string, string, unknown, number][] = [
      ['POST', '/_emulator/calls', { to: '+2', twiml: '<Response/>' }, 400],
      ['POST', '/_emulator/calls', { from: '+1', to: '+2' }, 400],
      [
        'POST',
        '/_emulator/calls',
        { from: '+1', to: '+2', twiml: '<Response/>', url: 'http://x' },
        400,
      ],
      [
        'POST',
        '/_emulator/calls',
        { from: '+1', to: '+2', twiml: '<Response/>', voiceHz: -5 },
        400,
      ],
      ['POST', '/_emulator/calls', { from: '+1', to: '+2', url: 'not a url' }, 400],
      ['POST', '/_emulator/calls/CA00000000000000000000000000000000/hangup', undefined, 404],
      [
        'POST',
        '/_emulator/streams/MZ00000000000000000000000000000000/gap',
        { track: 'inbound', durationMs: 5 },
        404,
      ],
      ['GET', '/_emulator/events?since=-1', undefined, 400],
      ['GET', '/_emulator/nothing-here', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const answer = await control(method, path, body);
      expect({ path, status: answer.status }).toEqual({ path, status });
      expect(typeof answer.json.message).toBe('string');
    }
    const malformed = await fetch(`${emu.url}/_emulator/calls`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"from":',
    });
    expect(malformed.status).toBe(400);
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === callSid)?.status,
      (s) => s === 'in-progress',
      'answer',
    );
    await emu.hangup(callSid);
  });

  it('sends a signed call status callback when an API-created call completes', async () => {
    const call = await client.calls.create({
      to: '+1',
      from: '+2',
      twiml: '<Response><Pause length="1"/></Response>',
      statusCallback: `${app.url}/call-status`,
    });
    const hit = await waitFor(
      () => app.received.find((r) => r.path === '/call-status' && r.params.CallSid === call.sid),
      Boolean,
      'call status callback',
    );
    expect(hit?.params).toMatchObject({
      CallStatus: 'completed',
      Direction: 'outbound-api',
    });
    expect(['1', '2']).toContain(hit?.params.CallDuration);
    expect(
      twilio.validateRequest(
        emu.authToken,
        hit?.signature ?? '',
        hit?.url ?? '',
        hit?.params ?? {},
      ),
    ).toBe(true);
  });

  it('keeps an enqueued call waiting with wait music until it is redirected', async () => {
    const { callSid } = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      twiml: '<Response><Enqueue workflowSid="WW1">support</Enqueue><Say>never</Say></Response>',
    });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === callSid)?.queueName,
      (q) => q === 'support',
      'enqueued',
    );
    await client.calls(callSid).update({ twiml: '<Response><Hangup/></Response>' });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === callSid)?.status,
      (s) => s === 'completed',
      'hangup',
    );
    const verbs = emu
      .events()
      .filter((e) => e.type === 'twiml.verb' && e.callSid === callSid)
      .map((e) => e.verb);
    expect(verbs).toEqual(['Enqueue', 'Hangup']);
  });

  it('answers an inbound call only once its TwiML arrived; a failing URL completes it with 11200', async () => {
    app.route('/inbound-broken', 'no', 503);
    const { callSid } = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      url: `${app.url}/inbound-broken`,
    });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === callSid)?.status,
      (s) => s === 'completed',
      'the end',
    );
    const statuses = emu
      .events()
      .filter((e) => e.type === 'call.status' && e.callSid === callSid)
      .map((e) => e.status);
    expect(statuses).toEqual(['in-progress', 'completed']);
    expect(emu.events().find((e) => e.type === 'twiml.error' && e.callSid === callSid)?.code).toBe(
      11200,
    );
  });

  it('sends the call progress events a call asked for with StatusCallbackEvent, in sequence', async () => {
    const call = await client.calls.create({
      to: '+1',
      from: '+2',
      twiml: '<Response><Hangup/></Response>',
      statusCallback: `${app.url}/progress`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    const hits = await waitFor(
      () => app.received.filter((r) => r.path === '/progress' && r.params.CallSid === call.sid),
      (list) => list.length === 4,
      'four progress callbacks',
    );
    const ordered = [...hits].sort(
      (a, b) => Number(a.params.SequenceNumber) - Number(b.params.SequenceNumber),
    );
    expect(ordered.map((r) => [r.params.SequenceNumber, r.params.CallStatus])).toEqual([
      ['0', 'queued'],
      ['1', 'ringing'],
      ['2', 'in-progress'],
      ['3', 'completed'],
    ]);
    for (const r of hits) {
      expect(twilio.validateRequest(emu.authToken, r.signature ?? '', r.url, r.params)).toBe(true);
    }
  });
});
