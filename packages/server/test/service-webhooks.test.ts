/**
 * The controller service driven by TaskRouter's workspace event callbacks against the emulator:
 * signed `reservation.accepted` starts the segment's stream through the `rest` strategy (the
 * official twilio SDK adapter), the emulator's stream status callback marks it streaming,
 * `reservation.wrapup` stops it; duplicates, bad signatures and malformed events change nothing;
 * a restart on the same data directory still stops the right stream.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Segment } from '@flex-streams/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServiceError, loadServiceConfig, startService } from '../src/index.js';
import {
  callInConference,
  postSigned,
  reservationEvent,
  sid,
  startWorld,
  waitFor,
  type ErrorAnswer,
  type World,
} from './service-harness.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

const EVENTS = '/v1/taskrouter/events';

async function segmentsOf(callSid: string): Promise<{ status: number; segments: Segment[] }> {
  const response = await fetch(`${world.service.url}/v1/calls/${callSid}`);
  const body = (await response.json()) as { segments?: Segment[] };
  return { status: response.status, segments: body.segments ?? [] };
}

function streamsOn(callSid: string) {
  return world.emu.state().streams.filter((s) => s.callSid === callSid);
}

describe('POST /v1/taskrouter/events', () => {
  it('starts a stream on accepted, ignores the duplicate, and stops it on wrapup', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const accepted = reservationEvent('reservation.accepted', ids, world.emu.accountSid);

    const first = await postSigned(world, EVENTS, accepted);
    expect(first.status).toBe(204);
    const [stream] = await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.length === 1 && streams[0]?.status === 'in-progress',
      'the segment stream in the emulator',
    );
    expect(stream).toMatchObject({
      name: `fs-${ids.reservationSid}-0`,
      track: 'both_tracks',
      url: world.receiver.url,
    });
    // The emulator's signed stream-started callback reaches POST /v1/streams/status.
    const streaming = await waitFor(
      () => segmentsOf(customerCallSid),
      ({ segments }) => segments[0]?.streams[0]?.state === 'streaming',
      'the segment to be streaming',
    );
    expect(streaming.segments).toHaveLength(1);
    expect(streaming.segments[0]).toMatchObject({
      reservationSid: ids.reservationSid,
      workerSid: ids.workerSid,
      taskSid,
      state: 'active',
      transferMode: 'none',
    });
    expect(streaming.segments[0]?.streams[0]?.sid).toBe(stream?.sid);
    // The real receiver accepted the stream (signed upgrade) with the segment's custom parameters.
    const atReceiver = await waitFor(
      () => world.received.started.find((e) => e.streamSid === stream?.sid),
      (event) => event !== undefined,
      'the receiver to record the stream',
    );
    expect(atReceiver?.customParameters).toMatchObject({
      taskSid,
      reservationSid: ids.reservationSid,
      workerSid: ids.workerSid,
      customerCallSid,
      segmentIndex: '0',
      leg: 'customer',
      strategy: 'rest',
      continuation: '0',
    });

    // TaskRouter (or a replay) sends the same event again: nothing changes.
    expect((await postSigned(world, EVENTS, accepted)).status).toBe(204);
    const version = streaming.segments[0]?.version;
    await waitFor(
      () =>
        world.service.registry.getSingleMetricAsString(
          'flex_streams_controller_use_case_outcomes_total',
        ),
      (text) => text.includes('use_case="reservation-accepted",outcome="duplicate"'),
      'the duplicate to be processed',
    );
    expect(streamsOn(customerCallSid)).toHaveLength(1);
    expect((await segmentsOf(customerCallSid)).segments[0]?.version).toBe(version);

    expect(
      (
        await postSigned(
          world,
          EVENTS,
          reservationEvent('reservation.wrapup', ids, world.emu.accountSid),
        )
      ).status,
    ).toBe(204);
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams[0]?.status === 'stopped',
      'the stream to stop',
    );
    const ended = await waitFor(
      () => segmentsOf(customerCallSid),
      ({ segments }) => segments[0]?.state === 'ended',
      'the segment to end',
    );
    expect(ended.segments[0]).toMatchObject({ endReason: 'wrapup' });
    await waitFor(
      () => world.received.stopped.find((e) => e.streamSid === stream?.sid),
      (event) => event !== undefined,
      'the receiver to finish the recording',
    );
    expect(ended.segments[0]?.streams[0]).toMatchObject({
      state: 'stopped',
      stopReason: 'segment-ended',
    });
    // The customer is still on the call.
    expect(world.emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe(
      'in-progress',
    );
  });

  it('warm transfer A→B: A wrapup stops only A stream, task.canceled ends B', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const a = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const b = { ...a, reservationSid: sid('WR'), workerSid: world.workers.bob };
    const account = world.emu.accountSid;
    await postSigned(world, EVENTS, reservationEvent('reservation.accepted', a, account));
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.length === 1,
      'A stream',
    );
    await postSigned(world, EVENTS, reservationEvent('reservation.accepted', b, account));
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.length === 2 && streams.every((s) => s.status === 'in-progress'),
      'A and B streaming together',
    );
    await postSigned(world, EVENTS, reservationEvent('reservation.wrapup', a, account));
    const afterA = await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.some((s) => s.status === 'stopped'),
      'A stream to stop',
    );
    expect(afterA.map((s) => [s.name, s.status])).toEqual([
      [`fs-${a.reservationSid}-0`, 'stopped'],
      [`fs-${b.reservationSid}-0`, 'in-progress'],
    ]);
    // The emulator shows the stop as soon as Twilio answers it; the controller stores the ended
    // segment right after, so wait for that rather than racing it.
    const { segments } = await waitFor(
      () => segmentsOf(customerCallSid),
      (answer) => answer.segments[0]?.state === 'ended',
      'A segment to end',
    );
    expect(segments.map((s) => [s.workerSid, s.transferMode, s.state])).toEqual([
      [a.workerSid, 'none', 'ended'],
      [b.workerSid, 'warm', 'active'],
    ]);

    await postSigned(world, EVENTS, {
      ...reservationEvent('task.canceled', a, account),
      ResourceType: 'task',
      ResourceSid: taskSid,
    });
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.every((s) => s.status === 'stopped'),
      'B stream to stop with the task',
    );
    const ended = await waitFor(
      () => segmentsOf(customerCallSid),
      (answer) => answer.segments[1]?.state === 'ended',
      'B segment to end',
    );
    expect(ended.segments[1]?.endReason).toBe('task-canceled');
    expect(world.emu.state().calls.find((c) => c.sid === customerCallSid)?.status).toBe(
      'in-progress',
    );
  });

  it('refuses a bad or missing signature with 403 FS_ERR_BAD_SIGNATURE and starts nothing', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    const accepted = reservationEvent('reservation.accepted', ids, world.emu.accountSid);
    for (const options of [{ authToken: 'not-the-token' }, { signature: '' }]) {
      const response = await postSigned(world, EVENTS, accepted, options);
      expect(response.status).toBe(403);
      const body = (await response.json()) as ErrorAnswer;
      expect(body.error.code).toBe('FS_ERR_BAD_SIGNATURE');
      expect(body.error.message).toMatch(/X-Twilio-Signature/);
    }
    // A valid signature over other parameters does not pass either.
    const tampered = await postSigned(world, EVENTS, accepted, {
      signature: (await import('@flex-streams/emulator')).twilioSignature(
        world.emu.authToken,
        world.publicUrl + EVENTS,
        { ...accepted, WorkerSid: world.workers.bob },
      ),
    });
    expect(tampered.status).toBe(403);
    expect((await segmentsOf(customerCallSid)).status).toBe(404);
    expect(streamsOn(customerCallSid)).toHaveLength(0);
  });

  it('answers a malformed event 400 with every problem named, and a non-handled event 204', async () => {
    const response = await postSigned(world, EVENTS, {
      EventType: 'reservation.accepted',
      ReservationSid: 'WR-nope',
      TaskAttributes: '{not json',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorAnswer;
    expect(body.error.code).toBe('FS_ERR_INVALID_INPUT');
    expect(body.error.message).toMatch(/ReservationSid[\s\S]*TaskSid[\s\S]*TaskAttributes/);

    const created = await postSigned(world, EVENTS, {
      EventType: 'reservation.created',
      AccountSid: world.emu.accountSid,
    });
    expect(created.status).toBe(204);
  });

  it('keeps segments across a restart: the next wrapup stops the right stream', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const ids = {
      taskSid,
      reservationSid: sid('WR'),
      workerSid: world.workers.alice,
      customerCallSid,
    };
    await postSigned(
      world,
      EVENTS,
      reservationEvent('reservation.accepted', ids, world.emu.accountSid),
    );
    await waitFor(
      () => segmentsOf(customerCallSid),
      ({ segments }) => segments[0]?.streams[0]?.state === 'streaming',
      'the segment to be streaming before the restart',
    );

    await world.restart();

    expect((await segmentsOf(customerCallSid)).segments[0]?.state).toBe('active');
    await postSigned(
      world,
      EVENTS,
      reservationEvent('reservation.wrapup', ids, world.emu.accountSid),
    );
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.length === 1 && streams[0]?.status === 'stopped',
      'the stream started before the restart to stop',
    );
    const ended = await waitFor(
      () => segmentsOf(customerCallSid),
      ({ segments }) => segments[0]?.state === 'ended',
      'the segment to end after the restart',
    );
    expect(ended.segments[0]?.streams).toHaveLength(1);
    expect(ended.segments[0]?.streams[0]?.state).toBe('stopped');
  });
});

describe('GET endpoints', () => {
  it('answers 404 for an unknown call, 400 for a malformed SID, 404 for an unknown path', async () => {
    const unknown = await fetch(`${world.service.url}/v1/calls/${sid('CA')}`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorAnswer).error.code).toBe('FS_ERR_CALL_NOT_FOUND');
    const malformed = await fetch(`${world.service.url}/v1/calls/CA..%2Fetc`);
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorAnswer).error.code).toBe('FS_ERR_INVALID_INPUT');
    const nowhere = await fetch(`${world.service.url}/v2/anything`);
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as ErrorAnswer).error.code).toBe('FS_ERR_ROUTE_NOT_FOUND');
  });

  it('serves /healthz and Prometheus /metrics counting requests and refusals', async () => {
    const health = await fetch(`${world.service.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    await postSigned(world, EVENTS, { EventType: 'task.created' }, { signature: 'forged' });
    const metrics = await fetch(`${world.service.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(
      /flex_streams_controller_http_requests_total\{route="\/healthz",method="GET",status="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /flex_streams_controller_rejections_total\{endpoint="\/v1\/taskrouter\/events",code="FS_ERR_BAD_SIGNATURE"\} [1-9]/,
    );
  });
});

describe('startService', () => {
  it('refuses to start on a corrupt call file, naming it', async () => {
    const dataDir = join(world.dataDir, 'corrupt');
    await mkdir(join(dataDir, 'calls'), { recursive: true });
    const file = join(dataDir, 'calls', `${sid('CA')}.json`);
    await writeFile(file, 'not json at all');
    const config = loadServiceConfig({
      TWILIO_ACCOUNT_SID: world.emu.accountSid,
      TWILIO_AUTH_TOKEN: world.emu.authToken,
      TWILIO_API_BASE_URL: world.emu.url,
      FLEX_STREAMS_STREAM_URL: world.receiver.url,
      FLEX_STREAMS_PUBLIC_URL: 'http://127.0.0.1:1',
      FLEX_STREAMS_PORT: '0',
      FLEX_STREAMS_DATA_DIR: dataDir,
    });
    const error: unknown = await startService(config, { logger: pino({ level: 'silent' }) }).catch(
      (e: unknown) => e,
    );
    expect(isServiceError(error, 'FS_ERR_STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(file);
  });
});
