/**
 * Acceptance of the stream controller (issue 5) from the outside: the real service over HTTP, the
 * emulator's Voice API as the oracle (its state and event log), the real receiver, and synthetic
 * TaskRouter event forms signed with the emulator's auth token (twilio-facts §7). Each block runs
 * one deployment setting: `twiml` strategy, `worker` leg, a stream URL nobody answers, a Twilio that
 * answers 429/503 first, and the default (`rest`, customer leg, both_tracks).
 */
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeMulaw, detectTones, type EmulatorEvent } from '@flex-streams/emulator';
import twilio from 'twilio';
import { emulatorHttpClient } from '@flex-streams/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callInConference,
  freePort,
  plugin,
  postSigned,
  reservationEvent,
  segmentsOf,
  sid,
  startWorld,
  waitFor,
  type World,
} from './service-harness.js';

const EVENTS = '/v1/taskrouter/events';

function ofType(world: World, type: string): EmulatorEvent[] {
  return world.emu.events().filter((e) => e.type === type);
}

function field(event: EmulatorEvent, key: string): unknown {
  return (event as unknown as Record<string, unknown>)[key];
}

interface Ids {
  taskSid: string;
  reservationSid: string;
  workerSid: string;
  customerCallSid: string;
}

async function send(world: World, eventType: string, ids: Ids): Promise<void> {
  const response = await postSigned(
    world,
    EVENTS,
    reservationEvent(eventType, ids, world.emu.accountSid),
  );
  expect(response.status).toBe(204);
}

/** Channel `channel` (0 = inbound, 1 = outbound when stereo) of a µ-law WAV the receiver wrote. */
async function channelOf(wavPath: string, channel: 0 | 1): Promise<Int16Array> {
  const file = await readFile(wavPath);
  const channels = file.readUInt16LE(22);
  const data = file.subarray(58);
  const mono = new Uint8Array(Math.floor(data.length / channels));
  for (let i = 0; i < mono.length; i += 1) mono[i] = data[i * channels + channel] ?? 0xff;
  return decodeMulaw(mono);
}

/** How many `reservation-accepted` use cases the TaskRouter driver has finished (any outcome). */
async function acceptedEventsHandled(world: World): Promise<number> {
  const metric = await world.service.registry
    .getSingleMetric('flex_streams_controller_use_case_outcomes_total')
    ?.get();
  return (metric?.values ?? [])
    .filter((v) => v.labels.use_case === 'reservation-accepted')
    .reduce((sum, v) => sum + v.value, 0);
}

describe('twiml strategy through the service', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_STRATEGY: 'twiml' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('protects the held customer, redirects them back into the task conference, re-holds them; the conference never ends', async () => {
    const { emu } = world;
    const taskSid = sid('WT');
    // As Flex builds it: the customer leaving ends the conference (endConferenceOnExit=true).
    const { callSid: customerCallSid } = await emu.placeInboundCall({
      from: '+15550001001',
      to: '+15550002002',
      twiml: `<Response><Dial><Conference endConferenceOnExit="true">${taskSid}</Conference></Dial></Response>`,
    });
    await emu.placeInboundCall({
      from: 'client:alice',
      to: '+15550002002',
      twiml: `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`,
    });
    const conference = await waitFor(
      () => emu.state().conferences.find((c) => c.friendlyName === taskSid),
      (c) => c?.status === 'in-progress' && c.participants.length === 2,
      'the task conference',
    );
    const conferenceSid = conference?.sid ?? '';
    const client = twilio(emu.accountSid, emu.authToken, {
      httpClient: emulatorHttpClient(emu.url),
    });
    await client.conferences(conferenceSid).participants(customerCallSid).update({ hold: true });
    const since = emu.events().at(-1)?.seq ?? 0;

    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    await send(world, 'reservation.accepted', ids);
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the TwiML-started stream to be streaming',
      12_000,
    );
    const held = await waitFor(
      () =>
        emu
          .state()
          .conferences.find((c) => c.sid === conferenceSid)
          ?.participants.find((p) => p.callSid === customerCallSid),
      (p) => p?.hold === true,
      'the customer back in the same conference, held',
    );
    // Back with endConferenceOnExit=true, as issue 5 specifies for the re-join `<Conference>`.
    expect(held?.endConferenceOnExit).toBe(true);
    const [stream] = emu.state().streams.filter((s) => s.callSid === customerCallSid);
    expect(stream).toMatchObject({ name: `fs-${ids.reservationSid}-0`, status: 'in-progress' });

    await send(world, 'reservation.wrapup', ids);
    await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === customerCallSid),
      (streams) => streams.every((s) => s.status === 'stopped'),
      'the stream to stop by <Stop><Stream>',
      12_000,
    );
    await waitFor(
      () =>
        emu
          .state()
          .conferences.find((c) => c.sid === conferenceSid)
          ?.participants.find((p) => p.callSid === customerCallSid),
      (p) => p?.hold === true,
      'the customer re-held after the stop redirect',
    );
    const events = emu.events(since);
    expect(events.filter((e) => e.type === 'conference.end')).toEqual([]);
    const leaves = events.filter(
      (e) => e.type === 'conference.leave' && field(e, 'callSid') === customerCallSid,
    );
    // One redirect to start, one to stop: two customer-leg disruptions, each a leave and a rejoin.
    expect(leaves).toHaveLength(2);
    expect(
      events.filter((e) => e.type === 'conference.join' && field(e, 'callSid') === customerCallSid),
    ).toHaveLength(2);
    expect(emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe('in-progress');
    expect(emu.state().conferences.find((c) => c.sid === conferenceSid)?.status).toBe(
      'in-progress',
    );
    // The segment had its stream for its time (± 200 ms, issue 5), redirects included: a start
    // is ListParticipant, UpdateParticipant (its answer verifies the flag) and the redirect
    // (plus ListConference the first time), a stop the same three.
    const [segment] = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.state === 'ended',
      'the segment to be stored ended',
    );
    const at = (type: string) =>
      Date.parse(
        events.find((e) => e.type === type && field(e, 'streamSid') === stream?.sid)?.at ?? '',
      );
    expect(Math.abs(at('stream.started') - (segment?.startedAt ?? 0))).toBeLessThanOrEqual(200);
    expect(Math.abs(at('stream.stopped') - (segment?.endedAt ?? 0))).toBeLessThanOrEqual(200);
  });

  it('waits (bounded) for the customer to reach the task conference when accepted comes first', async () => {
    const { emu } = world;
    const taskSid = sid('WT');
    // Still waiting in the queue when TaskRouter reports the reservation accepted.
    const { callSid: customerCallSid } = await emu.placeInboundCall({
      from: '+15550001001',
      to: '+15550002002',
      twiml: '<Response><Pause length="30"/></Response>',
    });
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === customerCallSid)?.status,
      (status) => status === 'in-progress',
      'the customer call to be answered',
    );
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const since = emu.events().at(-1)?.seq ?? 0;
    await send(world, 'reservation.accepted', ids);
    // The controller has looked for the conference before anyone is in it.
    await waitFor(
      () => emu.events(since),
      (events) =>
        events.some((e) => e.type === 'rest.request' && field(e, 'operation') === 'ListConference'),
      'the controller to look for the conference',
    );
    const dial = `<Response><Dial><Conference endConferenceOnExit="true">${taskSid}</Conference></Dial></Response>`;
    await emu.placeInboundCall({
      from: 'client:alice',
      to: '+15550002002',
      twiml: `<Response><Dial><Conference>${taskSid}</Conference></Dial></Response>`,
    });
    const client = twilio(emu.accountSid, emu.authToken, {
      httpClient: emulatorHttpClient(emu.url),
    });
    await client.calls(customerCallSid).update({ twiml: dial });
    const segments = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the stream once the customer joined',
      12_000,
    );
    expect(segments[0]?.errors).toEqual([]);
    expect(
      emu
        .state()
        .conferences.find((c) => c.friendlyName === taskSid)
        ?.participants.map((p) => p.callSid),
    ).toContain(customerCallSid);
  });
});

describe('worker leg with rest', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_LEG: 'worker' });
  });
  afterAll(async () => {
    await world.close();
  });

  it("streams the agent's own call: inbound is the agent's voice", async () => {
    const { emu } = world;
    const { customerCallSid, agentCallSid, taskSid } = await callInConference(emu);
    const reservationSid = sid('WR');
    const started = await plugin(
      world,
      'start',
      { reservationSid, taskSid, customerCallSid, workerCallSid: agentCallSid },
      'token-alice',
    );
    expect(started.status).toBe(200);
    const [stream] = await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === agentCallSid),
      (streams) => streams[0]?.status === 'in-progress',
      "the stream on the agent's call",
    );
    expect(emu.state().streams.filter((s) => s.callSid === customerCallSid)).toEqual([]);
    await waitFor(
      () => emu.state().streams.find((s) => s.sid === stream?.sid),
      (s) => (s?.framesByTrack.inbound ?? 0) >= 50,
      'a second of audio',
    );
    expect((await plugin(world, 'stop', { reservationSid }, 'token-alice')).status).toBe(200);
    const stopped = await waitFor(
      () => world.received.stopped.find((e) => e.streamSid === stream?.sid),
      (e) => e !== undefined,
      'the recording',
    );
    const calls = emu.state().calls;
    const agentHz = calls.find((c) => c.sid === agentCallSid)?.voice.frequencyHz ?? 0;
    const customerHz = calls.find((c) => c.sid === customerCallSid)?.voice.frequencyHz ?? 0;
    const inbound = await channelOf(stopped?.wavPath ?? '', 0);
    expect(detectTones(inbound, [agentHz, customerHz])).toEqual([agentHz]);
    const outbound = await channelOf(stopped?.wavPath ?? '', 1);
    expect(detectTones(outbound, [agentHz, customerHz])).toEqual([customerHz]);
  });

  it("ends the agent's segment when the agent's own call ends; the customer stays", async () => {
    const { emu } = world;
    const { customerCallSid, agentCallSid, taskSid } = await callInConference(emu);
    const reservationSid = sid('WR');
    await plugin(
      world,
      'start',
      { reservationSid, taskSid, customerCallSid, workerCallSid: agentCallSid },
      'token-alice',
    );
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the worker-leg stream',
    );
    await emu.hangup(agentCallSid);
    const [segment] = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.state === 'ended',
      'the segment to end with the agent leg',
    );
    expect(segment).toMatchObject({ endReason: 'worker-left' });
    expect(segment?.streams.map((t) => t.state)).toEqual(['stopped']);
    expect(emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe('in-progress');
  });
});

describe.each([
  { strategy: 'rest', leg: 'customer' },
  { strategy: 'twiml', leg: 'customer' },
  { strategy: 'rest', leg: 'worker' },
])(
  'stream-error self-heal through a real status callback ($strategy, $leg leg)',
  ({ strategy, leg }) => {
    let world: World;
    beforeAll(async () => {
      const deadPort = await freePort();
      world = await startWorld(
        {
          FLEX_STREAMS_STREAM_URL: `ws://127.0.0.1:${deadPort}/media`,
          FLEX_STREAMS_MAX_STREAM_RESTARTS: '2',
          FLEX_STREAMS_STRATEGY: strategy,
          FLEX_STREAMS_LEG: leg,
        },
        // The worker leg is found through TaskRouter's view of the conference.
        { flex: leg === 'worker' },
      );
    });
    afterAll(async () => {
      await world.close();
    });

    it('restarts a refused stream as the next continuation, at most maxStreamRestarts times', async () => {
      const { customerCallSid, agentCallSid, taskSid } = await callInConference(world.emu);
      // The worker leg's stream forks the agent's own call (found in the conference).
      const forked = leg === 'worker' ? agentCallSid : customerCallSid;
      const ids = {
        taskSid,
        reservationSid: sid('WR'),
        workerSid: world.workers.alice,
        customerCallSid,
      };
      await send(world, 'reservation.accepted', ids);
      const segments = await waitFor(
        () => segmentsOf(world, customerCallSid),
        (s) =>
          s[0]?.streams.length === 3 &&
          s[0].errors.some((e) => e.code === 'FS_ERR_STREAM_RESTARTS_EXHAUSTED'),
        'three failed runs and restarts exhausted',
        15_000,
      );
      expect(segments[0]?.streams.map((s) => [s.continuation, s.state, s.stopReason])).toEqual([
        [0, 'failed', 'stream-error'],
        [1, 'failed', 'stream-error'],
        [2, 'failed', 'stream-error'],
      ]);
      expect(segments[0]?.streams[0]?.error?.message).toMatch(/^319\d\d/);
      expect(
        ofType(world, 'stream.create').filter((e) => field(e, 'callSid') === forked),
      ).toHaveLength(3);
      expect(world.emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe(
        'in-progress',
      );
    });
  },
);

/** A Twilio in front of the emulator: answers the first CreateStream requests itself. */
async function startFlakyTwilio(
  target: { url: string },
  script: { status: number; code: number; retryAfter?: string }[],
): Promise<{ url: string; createStreams: number; close(): Promise<void> }> {
  const state = { createStreams: 0 };
  const server: Server = createServer((req, res) => {
    const upstream = new URL(target.url);
    const isCreate =
      req.method === 'POST' && /\/Calls\/CA[0-9a-f]{32}\/Streams\.json$/.test(req.url ?? '');
    if (isCreate) {
      state.createStreams += 1;
      const answer = script.shift();
      if (answer !== undefined) {
        req.resume();
        res.writeHead(answer.status, {
          'Content-Type': 'application/json',
          ...(answer.retryAfter === undefined ? {} : { 'Retry-After': answer.retryAfter }),
        });
        res.end(
          JSON.stringify({
            code: answer.code,
            message: 'scripted',
            more_info: `https://www.twilio.com/docs/errors/${answer.code}`,
            status: answer.status,
          }),
        );
        return;
      }
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get createStreams() {
      return state.createStreams;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

describe('Twilio errors', () => {
  let world: World;
  let flaky: Awaited<ReturnType<typeof startFlakyTwilio>>;
  const script: { status: number; code: number; retryAfter?: string }[] = [];
  beforeAll(async () => {
    const target = { url: '' };
    flaky = await startFlakyTwilio(target, script);
    world = await startWorld({ TWILIO_API_BASE_URL: flaky.url });
    target.url = world.emu.url;
  });
  afterAll(async () => {
    await world.close();
    await flaky.close();
  });

  it('retries 429 and 503 with backoff, then starts exactly one stream', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    script.push({ status: 429, code: 20429, retryAfter: '0' }, { status: 503, code: 20500 });
    const before = flaky.createStreams;
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    await send(world, 'reservation.accepted', ids);
    const segments = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the stream after two refusals',
    );
    expect(flaky.createStreams - before).toBe(3);
    expect(segments[0]?.errors).toEqual([]);
    expect(world.emu.state().streams.filter((s) => s.callSid === customerCallSid)).toHaveLength(1);
  });

  it('gives up after the bounded retries: the run fails with FS_ERR_TWILIO_UNAVAILABLE, nothing else changes', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    script.push(...Array.from({ length: 4 }, () => ({ status: 503, code: 20500 })));
    const before = flaky.createStreams;
    const reservationSid = sid('WR');
    const answer = await plugin(
      world,
      'start',
      { reservationSid, taskSid, customerCallSid },
      'token-alice',
    );
    expect(answer.status).toBe(503);
    const body = (await answer.json()) as { error: { code: string; twilioCode?: number } };
    expect(body.error).toMatchObject({ code: 'FS_ERR_TWILIO_UNAVAILABLE', twilioCode: 20500 });
    expect(flaky.createStreams - before).toBe(4);
    const [segment] = await segmentsOf(world, customerCallSid);
    expect(segment).toMatchObject({ state: 'active' });
    expect(segment?.streams.map((t) => [t.state, t.stopReason])).toEqual([
      ['failed', 'start-failed'],
    ]);
    expect(world.emu.state().streams.filter((t) => t.callSid === customerCallSid)).toEqual([]);
    expect(world.emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe(
      'in-progress',
    );
    // The plugin retries its start once Twilio is back: the segment gets its stream.
    const retried = await plugin(
      world,
      'start',
      { reservationSid, taskSid, customerCallSid },
      'token-alice',
    );
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { outcome: string }).outcome).toBe('applied');
    const [healed] = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[1]?.state === 'streaming',
      'the second run to stream',
    );
    expect(healed?.streams.map((t) => t.continuation)).toEqual([0, 1]);
  });

  it('ends the segments of a call that already ended (21220), and the service goes on', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    await world.emu.hangup(customerCallSid);
    await waitFor(
      () => world.emu.state().calls.find((c) => c.sid === customerCallSid)?.status,
      (status) => status === 'completed',
      'the customer to hang up',
    );
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    await send(world, 'reservation.accepted', ids);
    const segments = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.state === 'ended',
      'the segment to end with the call',
    );
    expect(segments[0]).toMatchObject({ endReason: 'call-ended' });
    expect(segments[0]?.errors[0]).toMatchObject({ code: 'FS_ERR_CALL_GONE', twilioCode: 21220 });
    expect((await fetch(`${world.service.url}/healthz`)).status).toBe(200);
  });
});

describe.each(['rest', 'twiml'])('%s, customer leg, both_tracks', (strategy) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_STRATEGY: strategy });
  });
  afterAll(async () => {
    await world.close();
  });

  function streamsOn(callSid: string) {
    return world.emu.state().streams.filter((s) => s.callSid === callSid);
  }

  it('never creates two streams for one segment when both drivers and replays race', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const body = { reservationSid: ids.reservationSid, taskSid, customerCallSid };
    const before = await acceptedEventsHandled(world);
    const answers = await Promise.all([
      postSigned(
        world,
        EVENTS,
        reservationEvent('reservation.accepted', ids, world.emu.accountSid),
      ),
      plugin(world, 'start', body, 'token-alice'),
      postSigned(
        world,
        EVENTS,
        reservationEvent('reservation.accepted', ids, world.emu.accountSid),
      ),
      plugin(world, 'start', body, 'token-alice'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([204, 200, 204, 200]);
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the stream',
    );
    await waitFor(
      () => acceptedEventsHandled(world),
      (n) => n >= before + 2,
      'both TaskRouter events to be handled',
    );
    const creates = ofType(world, 'stream.create').filter(
      (e) => field(e, 'callSid') === customerCallSid,
    );
    expect(creates).toHaveLength(1);
    expect(await segmentsOf(world, customerCallSid)).toHaveLength(1);
  });

  it('wrapup before accepted: the segment ends and no stream ever starts', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    await send(world, 'reservation.wrapup', ids);
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.state === 'ended',
      'the ended segment',
    );
    await send(world, 'reservation.accepted', ids);
    const startAgain = await plugin(
      world,
      'start',
      { reservationSid: ids.reservationSid, taskSid, customerCallSid },
      'token-alice',
    );
    expect(startAgain.status).toBe(200);
    expect(((await startAgain.json()) as { outcome: string }).outcome).toBe('ignored');
    const segments = await segmentsOf(world, customerCallSid);
    expect(segments).toHaveLength(1);
    expect(segments[0]).toMatchObject({ state: 'ended', endReason: 'wrapup', streams: [] });
    expect(streamsOn(customerCallSid)).toEqual([]);
  });

  it('defers a third both_tracks segment with a reason, and starts it once a slot frees', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const a = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const b = { ...a, reservationSid: sid('WR'), workerSid: world.workers.bob };
    const c = { ...a, reservationSid: sid('WR'), workerSid: sid('WK') };
    await send(world, 'reservation.accepted', a);
    await send(world, 'reservation.accepted', b);
    await waitFor(
      () => streamsOn(customerCallSid),
      (s) => s.length === 2,
      'A and B streams',
    );
    await send(world, 'reservation.accepted', c);
    const deferred = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[2]?.streams[0]?.state === 'deferred',
      'C deferred',
    );
    expect(deferred[2]?.streams[0]?.deferredReason).toMatch(/track budget: 4 of 4/);
    expect(streamsOn(customerCallSid)).toHaveLength(2);
    await send(world, 'reservation.wrapup', a);
    const started = await waitFor(
      () => streamsOn(customerCallSid),
      (s) => s.some((t) => t.name === `fs-${c.reservationSid}-0` && t.status === 'in-progress'),
      'C stream once A stopped',
    );
    expect(started.filter((s) => s.status === 'in-progress')).toHaveLength(2);
  });

  it('customer hang-up during a warm transfer ends both segments when their streams stop', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const a = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const b = { ...a, reservationSid: sid('WR'), workerSid: world.workers.bob };
    await send(world, 'reservation.accepted', a);
    await send(world, 'reservation.accepted', b);
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s.length === 2 && s.every((t) => t.streams[0]?.state === 'streaming'),
      'A and B streaming',
    );
    const hangupSeq = world.emu.events().at(-1)?.seq ?? 0;
    await world.emu.hangup(customerCallSid);
    const segments = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s.every((t) => t.state === 'ended'),
      'both segments to end with the call',
    );
    expect(segments.map((t) => [t.index, t.transferMode, t.previousSegmentId])).toEqual([
      [0, 'none', null],
      [1, 'warm', segments[0]?.id],
    ]);
    const events = world.emu.events();
    for (const segment of segments) {
      expect(segment).toMatchObject({ endReason: 'call-ended' });
      expect(segment.streams.map((t) => t.state)).toEqual(['stopped']);
      const stopped = events.find(
        (e) => e.type === 'stream.stopped' && field(e, 'streamSid') === segment.streams[0]?.sid,
      );
      expect(Math.abs(Date.parse(stopped?.at ?? '') - (segment.endedAt ?? 0))).toBeLessThanOrEqual(
        200,
      );
    }
    // Nothing was asked of Twilio for a call that is gone, beyond reading its status.
    const after = world.emu
      .events(hangupSeq)
      .filter((e) => e.type === 'rest.request')
      .map((e) => String(field(e, 'operation')));
    expect(after.filter((op) => op !== 'FetchCall')).toEqual([]);
  });

  it('answers bad input on every endpoint with a 4xx and a stable code, and changes nothing', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const a = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    await send(world, 'reservation.accepted', a);
    const [live] = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'A streaming',
    );
    const snapshot = async () => ({
      segments: await segmentsOf(world, customerCallSid),
      streams: world.emu
        .state()
        .streams.filter((t) => t.callSid === customerCallSid)
        .map((t) => [t.sid, t.name, t.status]),
      conference: world.emu.state().conferences.find((c) => c.friendlyName === taskSid),
    });
    const before = await snapshot();
    const restBefore = ofType(world, 'rest.request').length;
    const wrapup = reservationEvent('reservation.wrapup', a, world.emu.accountSid);
    const stopped = {
      AccountSid: world.emu.accountSid,
      CallSid: customerCallSid,
      StreamSid: live?.streams[0]?.sid ?? '',
      StreamName: live?.streams[0]?.name ?? '',
      StreamEvent: 'stream-stopped',
      Timestamp: new Date().toISOString(),
    };
    const raw = (path: string, type: string, body: string, token = 'token-alice') =>
      fetch(world.service.url + path, {
        method: 'POST',
        headers: { 'Content-Type': type, Authorization: `Bearer ${token}` },
        body,
      });
    const mine = { reservationSid: a.reservationSid };
    const cases: [string, Promise<Response>, number, string][] = [
      [
        'TaskRouter event signed with another token',
        postSigned(world, EVENTS, wrapup, { authToken: 'not-the-auth-token' }),
        403,
        'FS_ERR_BAD_SIGNATURE',
      ],
      [
        'TaskRouter event without a signature',
        postSigned(world, EVENTS, wrapup, { signature: '' }),
        403,
        'FS_ERR_BAD_SIGNATURE',
      ],
      [
        'stream status with a forged signature',
        postSigned(world, '/v1/streams/status', stopped, { signature: 'AAAA' }),
        403,
        'FS_ERR_BAD_SIGNATURE',
      ],
      [
        'signed TaskRouter event with a malformed SID',
        postSigned(world, EVENTS, { ...wrapup, ReservationSid: 'WR123' }),
        400,
        'FS_ERR_INVALID_INPUT',
      ],
      [
        'signed stream status with an unknown StreamEvent',
        postSigned(world, '/v1/streams/status', { ...stopped, StreamEvent: 'stream-paused' }),
        400,
        'FS_ERR_INVALID_INPUT',
      ],
      [
        'plugin JSON that does not parse',
        raw('/v1/plugin/segments/stop', 'application/json', '{"reservationSid":'),
        400,
        'FS_ERR_MALFORMED_BODY',
      ],
      [
        'plugin form with a malformed SID',
        raw('/v1/plugin/segments/pause', 'application/x-www-form-urlencoded', 'reservationSid=x'),
        400,
        'FS_ERR_MALFORMED_BODY',
      ],
      [
        'plugin body of an unsupported type',
        raw('/v1/plugin/segments/stop', 'text/plain', a.reservationSid),
        400,
        'FS_ERR_MALFORMED_BODY',
      ],
      [
        'plugin JSON array',
        raw('/v1/plugin/segments/stop', 'application/json', '[1,2]'),
        400,
        'FS_ERR_MALFORMED_BODY',
      ],
      [
        'an unknown reservation',
        plugin(world, 'pause', { reservationSid: sid('WR') }, 'token-alice'),
        404,
        'FS_ERR_SEGMENT_NOT_FOUND',
      ],
      ['a refused token', plugin(world, 'stop', mine, 'token-nobody'), 401, 'FS_ERR_BAD_TOKEN'],
      ['an expired token', plugin(world, 'stop', mine, 'expired'), 401, 'FS_ERR_TOKEN_EXPIRED'],
      [
        'a Flex user who is not a worker',
        plugin(world, 'stop', mine, 'token-supervisor'),
        403,
        'FS_ERR_NOT_A_WORKER',
      ],
      ...(['stop', 'pause', 'resume', 'prepare-transfer'] as const).map(
        (action): [string, Promise<Response>, number, string] => [
          `another worker's ${action}`,
          plugin(world, action, mine, 'token-bob'),
          403,
          'FS_ERR_NOT_SEGMENT_OWNER',
        ],
      ),
      [
        "another worker's start of the same reservation",
        plugin(world, 'start', { ...mine, taskSid, customerCallSid }, 'token-bob'),
        403,
        'FS_ERR_NOT_SEGMENT_OWNER',
      ],
    ];
    for (const [what, answer, status, code] of cases) {
      const response = await answer;
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      expect([what, response.status, body.error?.code]).toEqual([what, status, code]);
      expect(body.error?.message?.length ?? 0).toBeGreaterThan(10);
    }
    const malformedCall = await fetch(`${world.service.url}/v1/calls/CA-not-a-sid`);
    expect(malformedCall.status).toBe(400);
    const unknownCall = await fetch(`${world.service.url}/v1/calls/${sid('CA')}`);
    expect(((await unknownCall.json()) as { error: { code: string } }).error.code).toBe(
      'FS_ERR_CALL_NOT_FOUND',
    );
    // A signed status callback for a stream that is not ours is accepted and ignored.
    const foreign = await postSigned(world, '/v1/streams/status', {
      ...stopped,
      StreamSid: sid('MZ'),
      StreamName: 'someone-else',
    });
    expect(foreign.status).toBe(204);
    expect(await snapshot()).toEqual(before);
    expect(ofType(world, 'rest.request').length).toBe(restBefore);
  });

  it('keeps every pause on the segment (who, when, how long) and resumes on a continuation', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const reservationSid = sid('WR');
    await plugin(world, 'start', { reservationSid, taskSid, customerCallSid }, 'token-alice');
    await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[0]?.state === 'streaming',
      'the first run',
    );
    const pause = { reservationSid, reason: 'card number', idempotencyKey: 'pause-1' };
    expect((await plugin(world, 'pause', pause, 'token-alice')).status).toBe(200);
    await waitFor(
      () => world.emu.state().streams.filter((t) => t.callSid === customerCallSid),
      (t) => t[0]?.status === 'stopped',
      'the paused run to stop',
    );
    // The pause lasts at least 300 ms, so its recorded duration can be checked.
    const at = Date.now();
    await waitFor(
      () => Date.now() - at,
      (ms) => ms >= 300,
      '300 ms of pause',
    );
    const resume = { reservationSid, idempotencyKey: 'resume-1' };
    expect((await plugin(world, 'resume', resume, 'token-alice')).status).toBe(200);
    // Replays of both requests change nothing.
    const replays = await Promise.all([
      plugin(world, 'pause', pause, 'token-alice'),
      plugin(world, 'resume', resume, 'token-alice'),
    ]);
    for (const replay of replays) {
      expect(((await replay.json()) as { outcome: string }).outcome).toBe('duplicate');
    }
    const [segment] = await waitFor(
      () => segmentsOf(world, customerCallSid),
      (s) => s[0]?.streams[1]?.state === 'streaming',
      'the continuation',
    );
    expect(segment?.pauses).toHaveLength(1);
    const [record] = segment?.pauses ?? [];
    expect(record).toMatchObject({
      state: 'closed',
      by: world.workers.alice,
      reason: 'card number',
      pauseKey: 'pause-1',
      resumeKey: 'resume-1',
    });
    expect(record?.durationMs).toBe((record?.endedAt ?? 0) - (record?.startedAt ?? 0));
    expect(record?.durationMs).toBeGreaterThanOrEqual(300);
    expect(segment?.streams.map((t) => [t.continuation, t.stopReason])).toEqual([
      [0, 'paused'],
      [1, null],
    ]);
    const emuStreams = world.emu.state().streams.filter((t) => t.callSid === customerCallSid);
    expect(emuStreams.map((t) => [t.name, t.status])).toEqual([
      [`fs-${reservationSid}-0`, 'stopped'],
      [`fs-${reservationSid}-1`, 'in-progress'],
    ]);
    const second = await waitFor(
      () => world.received.started.find((e) => e.streamSid === segment?.streams[1]?.sid),
      (e) => e !== undefined,
      'the receiver to see the continuation',
    );
    expect(second?.customParameters).toMatchObject({ continuation: '1', reservationSid });
    const metrics = await (await fetch(`${world.service.url}/metrics`)).text();
    expect(metrics).toMatch(/use_case="pause",outcome="applied"} [1-9]/);
    expect(metrics).toMatch(/use_case="pause",outcome="duplicate"} [1-9]/);
  });

  it('answers the events of chat tasks 204 and acts on none of them', async () => {
    const rest = ofType(world, 'rest.request').length;
    for (const eventType of ['reservation.accepted', 'reservation.wrapup', 'task.completed']) {
      const form = {
        ...reservationEvent(
          eventType,
          {
            taskSid: sid('WT'),
            reservationSid: sid('WR'),
            workerSid: world.workers.alice,
            customerCallSid: sid('CA'),
          },
          world.emu.accountSid,
        ),
        TaskChannelUniqueName: 'chat',
        TaskAttributes: JSON.stringify({ channelType: 'web', conversationSid: sid('CH') }),
      };
      expect((await postSigned(world, EVENTS, form)).status).toBe(204);
    }
    await waitFor(
      async () =>
        /use_case="not-handled",outcome="not-handled"} (\d+)/.exec(
          await (await fetch(`${world.service.url}/metrics`)).text(),
        ),
      (match) => Number(match?.[1] ?? 0) >= 3,
      'three not-handled events',
    );
    expect(ofType(world, 'rest.request').length).toBe(rest);
  });

  it('each segment has exactly its stream for exactly its time (± 200 ms)', async () => {
    await expectStreamsMatchSegments(world);
  });
});

/**
 * A warm transfer A→B driven by TaskRouter events: each segment has exactly one stream, which
 * started and stopped within 200 ms of the segment's start and end (issue 5), by the emulator's
 * clock of the fork and the controller's clock of the segment (one machine, one clock).
 */
async function expectStreamsMatchSegments(world: World): Promise<void> {
  const streamsOn = (w: World, callSid: string) =>
    w.emu.state().streams.filter((t) => t.callSid === callSid);
  const { customerCallSid, taskSid } = await callInConference(world.emu);
  const a = {
    taskSid,
    reservationSid: sid('WR'),
    workerSid: world.workers.alice,
    customerCallSid,
  };
  const b = { ...a, reservationSid: sid('WR'), workerSid: world.workers.bob };
  await send(world, 'reservation.accepted', a);
  await waitFor(
    () => streamsOn(world, customerCallSid),
    (s) => s.length === 1,
    'A stream',
  );
  await send(world, 'reservation.accepted', b);
  await waitFor(
    () => streamsOn(world, customerCallSid),
    (s) => s.length === 2,
    'B stream',
  );
  await send(world, 'reservation.wrapup', a);
  await waitFor(
    () => segmentsOf(world, customerCallSid),
    (s) => s[0]?.state === 'ended',
    'A ended',
  );
  await send(world, 'reservation.wrapup', b);
  const segments = await waitFor(
    () => segmentsOf(world, customerCallSid),
    (s) =>
      s[1]?.state === 'ended' &&
      streamsOn(world, customerCallSid).every((t) => t.status === 'stopped'),
    'B ended',
  );
  const events = world.emu.events();
  for (const segment of segments) {
    const [stream, ...others] = segment.streams;
    expect(others).toEqual([]);
    const startedAt = events.find(
      (e) => e.type === 'stream.started' && field(e, 'streamSid') === stream?.sid,
    );
    const stoppedAt = events.find(
      (e) => e.type === 'stream.stopped' && field(e, 'streamSid') === stream?.sid,
    );
    expect(
      Math.abs(Date.parse(startedAt?.at ?? '') - (segment.startedAt ?? 0)),
    ).toBeLessThanOrEqual(200);
    expect(Math.abs(Date.parse(stoppedAt?.at ?? '') - (segment.endedAt ?? 0))).toBeLessThanOrEqual(
      200,
    );
  }
}

describe('twiml: the ± 200 ms of issue 5', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ FLEX_STREAMS_STRATEGY: 'twiml' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('each segment has exactly its stream for exactly its time (± 200 ms)', async () => {
    await expectStreamsMatchSegments(world);
  });
});
