import { describe, expect, it } from 'vitest';
import { createControllerConfig, type ControllerConfigInput } from './config.js';
import { createStreamController, type UseCaseResult } from './controller.js';
import { isFsError } from './errors.js';
import { createMemorySegmentStore } from './memory-store.js';
import type { Segment } from './model.js';
import type { Logger } from './ports.js';
import { createFakeClock, createFakeVoice, makeSid } from './testing/index.js';

interface Agent {
  worker: string;
  reservation: string;
  callSid: string;
}

function setup(overrides: Partial<ControllerConfigInput> = {}) {
  const voice = createFakeVoice();
  const clock = createFakeClock();
  const store = createMemorySegmentStore();
  const logs: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const log =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      logs.push({ level, fields, message });
    };
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
  let ids = 0;
  const config = createControllerConfig({
    streamUrl: 'wss://receiver.example.com/streams',
    statusCallbackUrl: 'https://controller.example.com/v1/stream-status',
    ...overrides,
  });
  const controller = createStreamController({
    voice,
    store,
    clock,
    logger,
    config,
    newId: () => `SG${String(++ids).padStart(4, '0')}`,
    random: () => 0.5,
  });
  const customer = makeSid('CA', 1);
  const task = makeSid('WT', 1);
  const conference = makeSid('CF', 1);
  const agent = (n: number): Agent => {
    const callSid = makeSid('CA', 100 + n);
    voice.addCall(callSid);
    return { worker: makeSid('WK', n), reservation: makeSid('WR', n), callSid };
  };
  const [a, b, c] = [agent(1), agent(2), agent(3)];
  voice.addCall(customer);
  // As Flex builds it: the customer ends the conference on exit, so does the first agent (§6).
  voice.addConference(conference, task, [
    { callSid: customer, endConferenceOnExit: true },
    { callSid: a.callSid, endConferenceOnExit: true },
  ]);
  const run = <T>(promise: Promise<T>): Promise<T> => clock.drive(promise);
  const accept = (who: Agent, transferMode: 'none' | 'warm' | 'cold' = 'none') =>
    run(
      controller.reservationAccepted({
        reservationSid: who.reservation,
        taskSid: task,
        workerSid: who.worker,
        customerCallSid: customer,
        workerCallSid: who.callSid,
        conferenceSid: conference,
        transferMode,
      }),
    );
  const end = (who: Agent, event: 'wrapup' | 'completed' | 'canceled' = 'wrapup') =>
    run(
      controller.reservationEnded({
        reservationSid: who.reservation,
        taskSid: task,
        workerSid: who.worker,
        customerCallSid: customer,
        event,
      }),
    );
  /** Feeds the status callbacks the fake Twilio produced back into the controller. */
  const deliverCallbacks = async (): Promise<UseCaseResult[]> => {
    const results: UseCaseResult[] = [];
    for (const event of voice.takeStatusEvents()) {
      results.push(await run(controller.streamStatus(event)));
    }
    return results;
  };
  const segments = (): Promise<Segment[]> => controller.segmentsOfCall(customer);
  const running = () => voice.streams(customer, 'in-progress').map((s) => s.name);
  const ops = () => voice.requests.map((r) => r.op);
  return {
    voice,
    clock,
    store,
    logs,
    controller,
    customer,
    task,
    conference,
    a,
    b,
    c,
    run,
    accept,
    end,
    deliverCallbacks,
    segments,
    running,
    ops,
  };
}

const nameOf = (agent: Agent, continuation = 0): string =>
  `fs-${agent.reservation}-${continuation}`;

describe('rest strategy (default)', () => {
  it('warm transfer A→B: the seed five steps, with REST requests only', async () => {
    const t = setup();
    const first = await t.accept(t.a);
    expect(first.outcome).toBe('applied');
    expect(t.running()).toEqual([nameOf(t.a)]);
    const started = t.voice.streams(t.customer)[0];
    expect(started?.track).toBe('both_tracks');
    expect(started?.url).toBe('wss://receiver.example.com/streams');
    expect(started?.parameters).toEqual({
      streamName: nameOf(t.a),
      taskSid: t.task,
      reservationSid: t.a.reservation,
      workerSid: t.a.worker,
      customerCallSid: t.customer,
      segmentId: 'SG0001',
      segmentIndex: '0',
      transferMode: 'none',
      leg: 'customer',
      strategy: 'rest',
      continuation: '0',
    });
    await t.deliverCallbacks();

    expect(
      (await t.run(t.controller.prepareTransfer({ reservationSid: t.a.reservation }))).detail,
    ).toBe('customer leg not-needed');
    await t.accept(t.b, 'warm');
    expect(t.running()).toEqual([nameOf(t.a), nameOf(t.b)]);
    expect(t.voice.tracksInUse(t.customer)).toBe(4);
    await t.end(t.a);
    expect(t.running()).toEqual([nameOf(t.b)]);
    await t.deliverCallbacks();

    const [segA, segB] = await t.segments();
    expect(segA).toMatchObject({ state: 'ended', endReason: 'wrapup', index: 0 });
    expect(segA?.streams.map((s) => [s.state, s.stopReason])).toEqual([
      ['stopped', 'segment-ended'],
    ]);
    expect(segB).toMatchObject({
      state: 'active',
      index: 1,
      transferMode: 'warm',
      previousSegmentId: segA?.id,
    });
    expect(segB?.streams[0]?.state).toBe('streaming');
    // One request per start and one per stop; the customer's TwiML and flags are never touched.
    expect(t.ops()).toEqual(['createStream', 'createStream', 'stopStream']);
    expect(t.voice.conference(t.conference).status).toBe('in-progress');
  });

  it('cold transfer: A leaves before B accepts; each segment has its own stream in turn', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.end(t.a);
    expect(t.running()).toEqual([]);
    await t.accept(t.b, 'cold');
    expect(t.running()).toEqual([nameOf(t.b)]);
    const [segA, segB] = await t.segments();
    expect(segB).toMatchObject({
      transferMode: 'cold',
      previousSegmentId: segA?.id,
      state: 'active',
    });
  });

  it('A→B→C warm transfers keep at most two both_tracks streams and stop each at its end', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.end(t.a);
    await t.accept(t.c, 'warm');
    expect(t.running()).toEqual([nameOf(t.b), nameOf(t.c)]);
    await t.end(t.b);
    expect(t.running()).toEqual([nameOf(t.c)]);
    const all = await t.segments();
    expect(all.map((s) => [s.index, s.state, s.previousSegmentId])).toEqual([
      [0, 'ended', null],
      [1, 'ended', 'SG0001'],
      [2, 'active', 'SG0002'],
    ]);
    expect(all.every((s) => s.streams.every((x) => x.state !== 'deferred'))).toBe(true);
  });

  it('transfer to a queue: A wraps up, the next agent from the queue gets a new linked segment', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.end(t.a, 'wrapup');
    await t.end(t.a, 'completed');
    await t.accept(t.c, 'cold');
    const [segA, segC] = await t.segments();
    expect(segA).toMatchObject({ endReason: 'wrapup', state: 'ended' });
    expect(segC).toMatchObject({ workerSid: t.c.worker, previousSegmentId: segA?.id, index: 1 });
    expect(t.running()).toEqual([nameOf(t.c)]);
  });

  it('derives the transfer mode when the driver does not know it', async () => {
    const t = setup();
    const accept = (who: Agent) =>
      t.run(
        t.controller.reservationAccepted({
          reservationSid: who.reservation,
          taskSid: t.task,
          workerSid: who.worker,
          customerCallSid: t.customer,
        }),
      );
    await accept(t.a);
    await accept(t.b);
    await t.end(t.a);
    await t.end(t.b);
    await accept(t.c);
    expect((await t.segments()).map((s) => s.transferMode)).toEqual(['none', 'warm', 'cold']);
  });

  it('duplicate events from both drivers create one stream and stop it once', async () => {
    const t = setup();
    const results = await Promise.all([t.accept(t.a), t.accept(t.a)]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['applied', 'duplicate']);
    expect(t.ops()).toEqual(['createStream']);
    const ended = await Promise.all([t.end(t.a), t.end(t.a)]);
    expect(ended.map((r) => r.outcome).sort()).toEqual(['applied', 'duplicate']);
    // A replayed accepted after the end changes nothing.
    expect((await t.accept(t.a)).outcome).toBe('ignored');
    expect(t.ops()).toEqual(['createStream', 'stopStream']);
    expect((await t.segments()).length).toBe(1);
    // Replayed status callbacks are duplicates too.
    const first = await t.deliverCallbacks();
    expect(first.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate']);
  });

  it('wrapup seen before accepted: the segment ends with no stream, the late accept starts none', async () => {
    const t = setup();
    const early = await t.end(t.a);
    expect(early.outcome).toBe('applied');
    const late = await t.accept(t.a);
    expect(late.outcome).toBe('ignored');
    expect(t.ops()).toEqual([]);
    const [seg] = await t.segments();
    expect(seg).toMatchObject({
      state: 'ended',
      endReason: 'wrapup',
      startedAt: null,
      streams: [],
    });
  });

  it('pause and resume: the stream stops, the pause is kept, resume starts continuation 1', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.clock.advance(1000);
    const paused = await t.run(
      t.controller.pause({
        reservationSid: t.a.reservation,
        actorWorkerSid: t.a.worker,
        reason: 'card number',
        idempotencyKey: 'p1',
      }),
    );
    expect(paused.outcome).toBe('applied');
    expect(t.running()).toEqual([]);
    const again = await t.run(
      t.controller.pause({ reservationSid: t.a.reservation, idempotencyKey: 'p1' }),
    );
    expect(again.outcome).toBe('duplicate');
    await t.clock.advance(4500);
    await t.run(t.controller.resume({ reservationSid: t.a.reservation, idempotencyKey: 'r1' }));
    expect(t.running()).toEqual([nameOf(t.a, 1)]);
    expect(
      (await t.run(t.controller.resume({ reservationSid: t.a.reservation, idempotencyKey: 'r1' })))
        .outcome,
    ).toBe('duplicate');
    const [seg] = await t.segments();
    expect(seg?.state).toBe('active');
    expect(seg?.pauses).toEqual([
      expect.objectContaining({
        state: 'closed',
        by: t.a.worker,
        reason: 'card number',
        durationMs: 4500,
      }),
    ]);
    expect(seg?.streams.map((s) => [s.continuation, s.state, s.stopReason])).toEqual([
      [0, 'stopped', 'paused'],
      [1, 'starting', null],
    ]);
    expect(t.voice.streams(t.customer)[1]?.parameters.continuation).toBe('1');
    // The pause request replayed after the resume changes nothing.
    const replay = await t.run(
      t.controller.pause({ reservationSid: t.a.reservation, idempotencyKey: 'p1' }),
    );
    expect(replay.outcome).toBe('duplicate');
    expect(t.running()).toEqual([nameOf(t.a, 1)]);
  });

  it("refuses a worker acting on another worker's segment, changing nothing", async () => {
    const t = setup();
    await t.accept(t.a);
    const attempt = t.controller.pause({
      reservationSid: t.a.reservation,
      actorWorkerSid: t.b.worker,
    });
    await expect(attempt).rejects.toSatisfy((e) => isFsError(e, 'FS_ERR_NOT_SEGMENT_OWNER'));
    expect(t.running()).toEqual([nameOf(t.a)]);
    expect((await t.segments())[0]?.state).toBe('active');
  });

  it('stream-error restarts the same segment with the next continuation, bounded', async () => {
    const t = setup({ maxStreamRestarts: 2 });
    await t.accept(t.a);
    await t.deliverCallbacks();
    for (let round = 0; round < 3; round += 1) {
      const live = t.voice.streams(t.customer, 'in-progress')[0];
      if (live === undefined) throw new Error('expected a running stream');
      t.voice.failStream(live.sid);
      await t.deliverCallbacks();
    }
    expect(t.running()).toEqual([]);
    const [seg] = await t.segments();
    expect(seg?.streams.map((s) => [s.continuation, s.state, s.stopReason])).toEqual([
      [0, 'failed', 'stream-error'],
      [1, 'failed', 'stream-error'],
      [2, 'failed', 'stream-error'],
    ]);
    expect(seg?.errors.map((e) => e.code)).toEqual(['FS_ERR_STREAM_RESTARTS_EXHAUSTED']);
    expect(seg?.state).toBe('active');
  });

  it('retries 429/5xx with backoff and jitter on the clock, then succeeds', async () => {
    const t = setup({ retry: { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5000 } });
    t.voice.failNext(1, { status: 503, code: null });
    t.voice.failNext(1, { status: 429, code: 20429 });
    const started = t.clock.now();
    const result = await t.accept(t.a);
    expect(result.outcome).toBe('applied');
    expect(t.ops()).toEqual(['createStream', 'createStream', 'createStream']);
    // random() = 0.5: half of 200 · 2^0, then half of 200 · 2^1.
    expect(t.clock.sleeps).toEqual([100, 200]);
    expect(t.clock.now() - started).toBe(300);
    expect(t.running()).toEqual([nameOf(t.a)]);
  });

  it('gives up after maxAttempts, records the failure on the segment and throws nothing', async () => {
    const t = setup({ retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } });
    t.voice.failNext(10, { status: 500, code: null });
    const result = await t.accept(t.a);
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('FS_ERR_TWILIO_UNAVAILABLE');
    expect(t.ops()).toEqual(['createStream', 'createStream', 'createStream']);
    const [seg] = await t.segments();
    expect(seg?.state).toBe('active');
    expect(seg?.streams[0]).toMatchObject({ state: 'failed', stopReason: 'start-failed' });
    expect(seg?.errors[0]).toMatchObject({ code: 'FS_ERR_TWILIO_UNAVAILABLE', httpStatus: 500 });
  });

  it('other Twilio errors are recorded, not retried, not thrown', async () => {
    const t = setup();
    t.voice.failNext(1, { status: 400, code: 31923 });
    const result = await t.accept(t.a);
    expect(result).toMatchObject({
      outcome: 'failed',
      error: { code: 'FS_ERR_TWILIO_REJECTED', twilioCode: 31923 },
    });
    expect(t.ops()).toEqual(['createStream']);
  });

  it('call gone (20404): the customer hung up during a transfer; every segment ends cleanly', async () => {
    const t = setup();
    await t.accept(t.a);
    t.voice.hangUp(t.customer);
    const result = await t.accept(t.b, 'warm');
    expect(result.error?.code).toBe('FS_ERR_CALL_GONE');
    const all = await t.segments();
    expect(all.map((s) => [s.state, s.endReason])).toEqual([
      ['ended', 'call-ended'],
      ['ended', 'call-ended'],
    ]);
    expect(all.flatMap((s) => s.streams.map((x) => x.state))).toEqual(['stopped', 'stopped']);
    // Nothing left to stop: A's wrapup afterwards is a duplicate and makes no request.
    const before = t.voice.requests.length;
    expect((await t.end(t.a)).outcome).toBe('duplicate');
    expect(t.voice.requests.length).toBe(before);
  });

  it('a stop answered 20404 (stream already gone, callback lost) ends only that segment', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.voice.stopStream(t.customer, nameOf(t.a));
    t.voice.takeStatusEvents();
    const result = await t.end(t.a);
    expect(result.outcome).toBe('applied');
    const [segA, segB] = await t.segments();
    expect(segA).toMatchObject({ state: 'ended', endReason: 'wrapup', errors: [] });
    expect(segA?.streams[0]).toMatchObject({
      state: 'stopped',
      stopReason: 'segment-ended',
      error: { twilioCode: 20404 },
    });
    expect(segB).toMatchObject({ state: 'active', endReason: null });
    expect(t.running()).toEqual([nameOf(t.b)]);
  });

  it('a stop that keeps failing leaves the stream counted against the budget', async () => {
    const t = setup({ retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    t.voice.failNext(2, { status: 503, code: null }, 'stopStream');
    const result = await t.end(t.a);
    expect(result.error?.code).toBe('FS_ERR_TWILIO_UNAVAILABLE');
    expect((await t.segments())[0]?.streams[0]?.state).toBe('starting');
    // Twilio still runs A's stream, so C must wait rather than overflow the call's 4 tracks.
    expect((await t.accept(t.c, 'warm')).detail).toMatch(/^stream deferred/);
  });

  it('call ended (hang-up callback) ends live segments without any Twilio request', async () => {
    const t = setup();
    await t.accept(t.a);
    const result = await t.run(t.controller.callEnded({ customerCallSid: t.customer }));
    expect(result.outcome).toBe('applied');
    expect((await t.segments())[0]).toMatchObject({ state: 'ended', endReason: 'call-ended' });
    expect(t.ops()).toEqual(['createStream']);
  });

  it('track budget: a third both_tracks stream is deferred, then starts when a slot frees', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    const third = await t.accept(t.c, 'warm');
    expect(third.detail).toMatch(/track budget: 4 of 4 forked tracks already in use/);
    expect(t.running()).toEqual([nameOf(t.a), nameOf(t.b)]);
    expect((await t.segments())[2]?.streams[0]?.state).toBe('deferred');
    await t.end(t.a);
    expect(t.running()).toEqual([nameOf(t.b), nameOf(t.c)]);
    const segC = (await t.segments())[2];
    expect(segC?.streams[0]).toMatchObject({ state: 'starting', deferredReason: null });
    expect(t.ops().filter((op) => op === 'createStream')).toHaveLength(3);
  });

  it('a deferred segment that ends costs no Twilio request', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.accept(t.c, 'warm');
    const before = t.voice.requests.length;
    await t.end(t.c, 'canceled');
    expect(t.voice.requests.length).toBe(before);
    expect((await t.segments())[2]?.streams[0]).toMatchObject({ state: 'stopped' });
  });

  it('task ended and worker leg ended end the right segments', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.run(
      t.controller.workerLegEnded({ customerCallSid: t.customer, workerCallSid: t.a.callSid }),
    );
    expect(t.running()).toEqual([nameOf(t.b)]);
    await t.run(
      t.controller.taskEnded({ taskSid: t.task, customerCallSid: t.customer, event: 'completed' }),
    );
    expect((await t.segments()).map((s) => s.endReason)).toEqual(['worker-left', 'task-completed']);
    expect(t.running()).toEqual([]);
  });

  it('task ended still ends every segment when stopping the first one fails', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    t.voice.failNext(1, { status: 400, code: 21610 }, 'stopStream');
    const result = await t.run(
      t.controller.taskEnded({ taskSid: t.task, customerCallSid: t.customer, event: 'canceled' }),
    );
    expect(result).toMatchObject({ outcome: 'failed', error: { twilioCode: 21610 } });
    expect((await t.segments()).map((s) => s.endReason)).toEqual([
      'task-canceled',
      'task-canceled',
    ]);
    expect(t.running()).toEqual([nameOf(t.a)]);
  });

  it('counts the track budget per forked call: worker legs do not share it', async () => {
    const t = setup({ leg: 'worker' });
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.accept(t.c, 'warm');
    for (const who of [t.a, t.b, t.c]) {
      expect(t.voice.streams(who.callSid, 'in-progress').map((s) => s.name)).toEqual([nameOf(who)]);
    }
  });

  it('streams the worker leg when configured, on each agent own call', async () => {
    const t = setup({ leg: 'worker', track: 'inbound_track' });
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    expect(t.voice.streams(t.a.callSid, 'in-progress').map((s) => s.name)).toEqual([nameOf(t.a)]);
    expect(t.voice.streams(t.b.callSid, 'in-progress')[0]?.parameters.leg).toBe('worker');
    expect(t.running()).toEqual([]);
  });

  it('two controller processes sharing a store never start two streams for one segment', async () => {
    const t = setup();
    const config = createControllerConfig({ streamUrl: 'wss://receiver.example.com/streams' });
    const quiet: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    // A second process: same store and Twilio, its own lock.
    const other = createStreamController({
      voice: t.voice,
      store: t.store,
      clock: t.clock,
      logger: quiet,
      config,
      newId: () => 'SG-other',
      random: () => 0.5,
    });
    const input = {
      reservationSid: t.a.reservation,
      taskSid: t.task,
      workerSid: t.a.worker,
      customerCallSid: t.customer,
    };
    const outcomes = await Promise.allSettled([
      t.run(t.controller.reservationAccepted(input)),
      t.run(other.reservationAccepted(input)),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = outcomes.find((o) => o.status === 'rejected');
    expect(isFsError(rejected?.reason, 'FS_ERR_STORE_CONFLICT')).toBe(true);
    // One stream; then the winner reads the task's conference, which the event did not name.
    expect(t.ops()).toEqual(['createStream', 'findInProgressConference']);
    expect((await t.segments())[0]?.conferenceSid).toBe(t.conference);
    // The driver retries the rejected event: now it is a duplicate.
    expect((await t.run(other.reservationAccepted(input))).outcome).toBe('duplicate');
  });

  it('a worker leg that is gone ends only that agent segment', async () => {
    const t = setup({ leg: 'worker', track: 'inbound_track' });
    await t.accept(t.a);
    t.voice.hangUp(t.b.callSid);
    const result = await t.accept(t.b, 'warm');
    expect(result.error?.code).toBe('FS_ERR_CALL_GONE');
    expect((await t.segments()).map((s) => [s.state, s.endReason])).toEqual([
      ['active', null],
      ['ended', 'worker-left'],
    ]);
    expect(t.voice.streams(t.a.callSid, 'in-progress')).toHaveLength(1);
  });

  it('rejects malformed input with FS_ERR_INVALID_INPUT and stores nothing', async () => {
    const t = setup();
    const bad = t.controller.reservationAccepted({
      reservationSid: 'WR123',
      taskSid: t.task,
      workerSid: t.a.worker,
      customerCallSid: t.customer,
    });
    await expect(bad).rejects.toSatisfy((e) => isFsError(e, 'FS_ERR_INVALID_INPUT'));
    const badEvent = t.controller.reservationEnded({
      reservationSid: t.a.reservation,
      taskSid: t.task,
      workerSid: t.a.worker,
      customerCallSid: t.customer,
      event: 'exploded' as 'wrapup',
    });
    await expect(badEvent).rejects.toThrow(/event must be one of/);
    await expect(
      t.controller.pause({ reservationSid: t.b.reservation, reason: 'x'.repeat(201) }),
    ).rejects.toThrow(/reason must be a string of at most 200/);
    await expect(
      t.controller.pause({ reservationSid: t.b.reservation, actorWorkerSid: 'bob' }),
    ).rejects.toThrow(/actorWorkerSid must be a Twilio SID/);
    await expect(t.controller.resume({ reservationSid: t.b.reservation })).rejects.toSatisfy((e) =>
      isFsError(e, 'FS_ERR_SEGMENT_NOT_FOUND'),
    );
    expect(await t.segments()).toEqual([]);
    expect(t.ops()).toEqual([]);
  });

  it('a stream Twilio stopped because the customer hung up ends every live segment of the call', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.deliverCallbacks();
    await t.clock.advance(5_000);
    t.voice.hangUp(t.customer);
    await t.deliverCallbacks();
    const segments = await t.segments();
    expect(segments.map((s) => [s.state, s.endReason, s.endedAt])).toEqual([
      ['ended', 'call-ended', t.clock.now()],
      ['ended', 'call-ended', t.clock.now()],
    ]);
    expect(segments.map((s) => s.streams.map((x) => [x.state, x.stopReason]))).toEqual([
      [['stopped', 'call-ended']],
      [['stopped', 'call-ended']],
    ]);
    // One status read; nothing is stopped on a call that is gone.
    expect(t.ops().filter((op) => op === 'fetchCallStatus')).toHaveLength(1);
    expect(t.ops()).not.toContain('stopStream');
  });

  it('a stream stopped by someone else on a live call leaves the segment active', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.deliverCallbacks();
    await t.voice.stopStream(t.customer, nameOf(t.a));
    await t.deliverCallbacks();
    const [segment] = await t.segments();
    expect(segment?.state).toBe('active');
    expect(segment?.streams.map((x) => [x.state, x.stopReason])).toEqual([
      ['stopped', 'stopped-externally'],
    ]);
  });

  it("on the worker leg, the agent's own call ending ends only their segment", async () => {
    const t = setup({ leg: 'worker' });
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    await t.deliverCallbacks();
    t.voice.hangUp(t.a.callSid);
    await t.deliverCallbacks();
    const segments = await t.segments();
    expect(segments.map((s) => [s.state, s.endReason])).toEqual([
      ['ended', 'worker-left'],
      ['active', null],
    ]);
    expect(t.voice.streams(t.b.callSid, 'in-progress')).toHaveLength(1);
  });

  it('when the call status cannot be read, the error is recorded and the segment stays', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.deliverCallbacks();
    t.voice.failNext(4, { status: 503, code: null }, 'fetchCallStatus');
    t.voice.hangUp(t.customer);
    await t.deliverCallbacks();
    const [segment] = await t.segments();
    expect(segment?.state).toBe('active');
    expect(segment?.errors.map((e) => e.code)).toEqual(['FS_ERR_TWILIO_UNAVAILABLE']);
    expect(segment?.streams[0]?.stopReason).toBe('stopped-externally');
  });

  it('a repeated accept after a failed start starts the segment again, bounded by maxStreamRestarts', async () => {
    const t = setup({ maxStreamRestarts: 1 });
    t.voice.failNext(4, { status: 503, code: null }, 'createStream');
    expect((await t.accept(t.a)).error?.code).toBe('FS_ERR_TWILIO_UNAVAILABLE');
    t.voice.failNext(1, { status: 400, code: 31960 }, 'createStream');
    const second = await t.accept(t.a);
    expect(second).toMatchObject({ outcome: 'failed', error: { code: 'FS_ERR_TWILIO_REJECTED' } });
    // Two failed starts, one restart allowed: the next accept is a plain duplicate.
    const third = await t.accept(t.a);
    expect(third.outcome).toBe('duplicate');
    expect(t.running()).toEqual([]);

    const u = setup();
    u.voice.failNext(4, { status: 503, code: null }, 'createStream');
    await u.accept(u.a);
    expect((await u.accept(u.a)).outcome).toBe('applied');
    expect(u.running()).toEqual([`fs-${u.a.reservation}-1`]);
    expect((await u.accept(u.a)).outcome).toBe('duplicate');
  });

  it('ignores status callbacks for streams that are not ours', async () => {
    const t = setup();
    const result = await t.run(
      t.controller.streamStatus({
        callSid: t.customer,
        streamSid: makeSid('MZ', 99),
        streamName: 'someone-else',
        event: 'stream-stopped',
      }),
    );
    expect(result.outcome).toBe('ignored');
  });
});

describe('twiml strategy', () => {
  const twiml = { strategy: 'twiml', protect: { pollIntervalMs: 200, maxPolls: 5 } } as const;

  it('protects, verifies, redirects, then re-holds a held customer, in that order', async () => {
    const t = setup(twiml);
    t.voice.setHold(t.conference, t.customer, true);
    t.voice.setReadLag(2);
    const result = await t.accept(t.a);
    expect(result.outcome).toBe('applied');
    expect(
      t.voice.requests.map((r) => [r.op, r.detail.endConferenceOnExit ?? r.detail.hold ?? '']),
    ).toEqual([
      // One list tells who is in the conference, the customer's hold and flag.
      ['listParticipants', ''],
      ['updateParticipant', false],
      // The update's answer and two reads are stale; the third read shows false.
      ['fetchParticipant', ''],
      ['fetchParticipant', ''],
      ['fetchParticipant', ''],
      ['updateCallTwiml', ''],
      ['updateParticipant', true],
    ]);
    // Each read-back waits one poll interval.
    expect(t.clock.sleeps).toEqual([200, 200, 200]);
    const conference = t.voice.conference(t.conference);
    expect(conference.status).toBe('in-progress');
    expect(conference.participants).toContainEqual({
      callSid: t.a.callSid,
      hold: false,
      endConferenceOnExit: true,
    });
    expect(conference.participants).toContainEqual({
      callSid: t.customer,
      hold: true,
      endConferenceOnExit: true,
    });
    expect(t.voice.streams(t.customer)[0]).toMatchObject({ startedBy: 'twiml', name: nameOf(t.a) });
    // The SID arrives with the stream-started callback.
    await t.deliverCallbacks();
    const stream = (await t.segments())[0]?.streams[0];
    expect(stream).toMatchObject({ state: 'streaming', sid: t.voice.streams(t.customer)[0]?.sid });
  });

  it('never redirects when endConferenceOnExit=false cannot be verified (bounded polling)', async () => {
    const t = setup(twiml);
    t.voice.ignoreEndConferenceOnExitUpdates();
    const result = await t.accept(t.a);
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('FS_ERR_PROTECT_UNVERIFIED');
    expect(t.ops()).not.toContain('updateCallTwiml');
    expect(t.ops().filter((op) => op === 'fetchParticipant')).toHaveLength(5);
    expect(t.voice.conference(t.conference).status).toBe('in-progress');
  });

  it('warm transfer A→B: the conference survives every redirect and A stops by <Stop>', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    const prepared = await t.run(t.controller.prepareTransfer({ reservationSid: t.a.reservation }));
    expect(prepared.detail).toBe('customer leg protected');
    await t.accept(t.b, 'warm');
    expect(t.running()).toEqual([nameOf(t.a), nameOf(t.b)]);
    await t.end(t.a);
    expect(t.running()).toEqual([nameOf(t.b)]);
    expect(t.voice.conference(t.conference).status).toBe('in-progress');
    const redirects = t.voice.requests.filter((r) => r.op === 'updateCallTwiml');
    expect(redirects).toHaveLength(3);
    expect(String(redirects[2]?.detail.twiml)).toContain(
      `<Stop><Stream name="${nameOf(t.a)}"/></Stop>`,
    );
    expect(t.ops()).not.toContain('createStream');
  });

  it('cold transfer: A stops by REST while the customer waits alone, so the conference survives', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    // A cold transfer: Flex first clears A's endConferenceOnExit (twilio-facts §6), then A leaves
    // at once and the customer is alone, waiting for B.
    await t.voice.updateParticipant(t.conference, t.a.callSid, { endConferenceOnExit: false });
    t.voice.hangUp(t.a.callSid);
    await t.end(t.a);
    expect(t.running()).toEqual([]);
    // A redirect now would empty the conference and end it (with the pending transfer): none.
    expect(t.ops().filter((op) => op === 'updateCallTwiml')).toHaveLength(1);
    expect(t.voice.requests.filter((r) => r.op === 'stopStream')).toHaveLength(1);
    const conference = t.voice.conference(t.conference);
    expect(conference.status).toBe('in-progress');
    expect(conference.participants.map((p) => p.callSid)).toEqual([t.customer]);
  });

  it('does not redirect a customer who is not in the conference, and does not end the call', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    t.voice.hangUp(t.customer);
    const before = t.ops().length;
    const sleeps = t.clock.sleeps.length;
    const result = await t.accept(t.b, 'warm');
    expect(result.error?.code).toBe('FS_ERR_CONFERENCE_NOT_FOUND');
    // Looked for, bounded: the customer may still be on their way from the queue. B's segment
    // knows the task's conference from A's; it lists nobody (it ended with the customer), so
    // the task's conference is looked up again on each later look.
    expect(t.ops().slice(before)).toEqual([
      'listParticipants',
      ...Array<string>(5).fill('findInProgressConference'),
    ]);
    expect(t.clock.sleeps.slice(sleeps)).toEqual(Array<number>(5).fill(200));
    expect(t.voice.requests.filter((r) => r.op === 'updateCallTwiml')).toHaveLength(1);
    // Only the hang-up callback ends the call's segments.
    expect((await t.segments()).map((s) => s.state)).toEqual(['active', 'active']);
    await t.run(t.controller.callEnded({ customerCallSid: t.customer }));
    expect((await t.segments()).map((s) => s.endReason)).toEqual(['call-ended', 'call-ended']);
  });

  it('waits for the agent leg before redirecting a lone customer, then starts on reconcile', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    // A cold transfer: A has left, the customer waits alone for B, whose accept comes first.
    await t.voice.updateParticipant(t.conference, t.a.callSid, { endConferenceOnExit: false });
    t.voice.hangUp(t.a.callSid);
    await t.end(t.a);
    const before = t.ops().length;
    const result = await t.accept(t.b, 'cold');
    expect(result.outcome).toBe('applied');
    expect(result.detail).toMatch(/stream deferred: .*alone in conference/);
    const waiting = (await t.segments())[1]?.streams[0];
    expect(waiting).toMatchObject({ state: 'deferred', deferredFor: 'agent-leg' });
    // Looked at, bounded (maxPolls 5 → 6 looks), and never redirected.
    expect(t.ops().slice(before)).toEqual(Array<string>(6).fill('listParticipants'));
    expect(t.voice.conference(t.conference).status).toBe('in-progress');
    // Still alone: reconcile tries once more (bounded) and leaves it waiting.
    const still = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(still.outcome).toBe('ignored');
    expect(t.ops()).not.toContain('createStream');
    expect(t.ops().filter((op) => op === 'updateCallTwiml')).toHaveLength(1);
    // B's leg joins: the next reconcile redirects the customer with B's stream.
    t.voice.joinConference(t.conference, { callSid: t.b.callSid, endConferenceOnExit: false });
    const started = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(started).toMatchObject({ outcome: 'applied', detail: '0 ended, 1 started' });
    expect(t.running()).toEqual([nameOf(t.b)]);
    expect(t.voice.conference(t.conference).status).toBe('in-progress');
  });

  it('a repeated accept or a conference join starts a run that waits for the agent leg', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    await t.voice.updateParticipant(t.conference, t.a.callSid, { endConferenceOnExit: false });
    t.voice.hangUp(t.a.callSid);
    await t.end(t.a);
    await t.accept(t.b, 'cold');
    expect((await t.segments())[1]?.streams[0]?.state).toBe('deferred');
    // Still alone: a repeated accept tries once more (bounded) and says it still waits.
    const again = await t.accept(t.b, 'cold');
    expect(again).toMatchObject({ outcome: 'applied' });
    expect(again.detail).toMatch(/still deferred/);
    // A join of someone else than the customer: the conference callback starts it.
    t.voice.joinConference(t.conference, { callSid: t.b.callSid, endConferenceOnExit: false });
    const joined = await t.run(
      t.controller.conferenceEvent({
        conferenceSid: t.conference,
        friendlyName: t.task,
        event: 'participant-join',
        callSid: t.b.callSid,
      }),
    );
    expect(joined.outcome).toBe('applied');
    expect(t.running()).toEqual([nameOf(t.b)]);
    // Once it runs, a repeated accept is a plain duplicate again.
    expect((await t.accept(t.b, 'cold')).outcome).toBe('duplicate');
  });

  it('a stop whose customer left between the list and the protection stops by REST', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    t.voice.joinConference(t.conference, { callSid: t.b.callSid, endConferenceOnExit: false });
    // The customer's flag reads true, so the stop must protect them: make that update find
    // nobody, as when the customer hangs up right after the list.
    t.voice.failNext(1, { status: 404, code: 20404 }, 'updateParticipant');
    const result = await t.end(t.a);
    expect(result.outcome).toBe('applied');
    expect(t.running()).toEqual([]);
    expect(t.ops().slice(-2)).toEqual(['updateParticipant', 'stopStream']);
  });

  it('skips the protection when the customer is already protected (after prepare-transfer)', async () => {
    const t = setup(twiml);
    await t.accept(t.a);
    await t.run(t.controller.prepareTransfer({ reservationSid: t.a.reservation }));
    t.voice.joinConference(t.conference, { callSid: t.b.callSid, endConferenceOnExit: false });
    // The redirect re-joined the customer with endConferenceOnExit=true; prepare set it false.
    const before = t.ops().length;
    await t.accept(t.b, 'warm');
    expect(t.ops().slice(before)).toEqual(['listParticipants', 'updateCallTwiml']);
  });

  it('records TwiML over 4000 characters before touching the call', async () => {
    const t = setup({ ...twiml, streamUrl: `wss://rx.example.com/${'a'.repeat(3900)}` });
    const result = await t.accept(t.a);
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'FS_ERR_TWIML_TOO_LONG' } });
    expect(t.ops()).toEqual([]);
    expect((await t.segments())[0]?.streams[0]?.state).toBe('failed');
  });

  it('looks the conference up by task SID when it is not known', async () => {
    const t = setup(twiml);
    await t.run(
      t.controller.reservationAccepted({
        reservationSid: t.a.reservation,
        taskSid: t.task,
        workerSid: t.a.worker,
        customerCallSid: t.customer,
      }),
    );
    expect(t.ops()[0]).toBe('findInProgressConference');
    expect((await t.segments())[0]?.conferenceSid).toBe(t.conference);
    expect(t.running()).toEqual([nameOf(t.a)]);
  });
});

describe('call end drivers: call and conference status callbacks, reconcile', () => {
  const pauseA = (t: ReturnType<typeof setup>) =>
    t.run(t.controller.pause({ reservationSid: t.a.reservation, actorWorkerSid: t.a.worker }));

  it('a final customer call status ends a paused segment with no Twilio request', async () => {
    const t = setup();
    await t.accept(t.a);
    await pauseA(t);
    const before = t.ops().length;
    const ringing = await t.run(
      t.controller.callStatus({ callSid: t.customer, callStatus: 'in-progress' }),
    );
    expect(ringing.outcome).toBe('ignored');
    // `initiated` (outbound legs' callbacks) is a status too, not bad input.
    const initiated = await t.run(
      t.controller.callStatus({ callSid: t.customer, callStatus: 'initiated' }),
    );
    expect(initiated.outcome).toBe('ignored');
    const ended = await t.run(
      t.controller.callStatus({ callSid: t.customer, callStatus: 'completed' }),
    );
    expect(ended).toMatchObject({ outcome: 'applied' });
    expect(t.ops().slice(before)).toEqual([]);
    const [segment] = await t.segments();
    expect(segment).toMatchObject({ state: 'ended', endReason: 'call-ended' });
    expect(segment?.pauses[0]?.state).toBe('closed');
    const again = await t.run(
      t.controller.callStatus({ callSid: t.customer, callStatus: 'completed' }),
    );
    expect(again.outcome).toBe('duplicate');
  });

  it("a final status of an agent's leg ends only that agent's segment", async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    const result = await t.run(
      t.controller.callStatus({ callSid: t.a.callSid, callStatus: 'completed' }),
    );
    expect(result.outcome).toBe('applied');
    expect((await t.segments()).map((s) => [s.state, s.endReason])).toEqual([
      ['ended', 'worker-left'],
      ['active', null],
    ]);
    expect(t.running()).toEqual([nameOf(t.b)]);
    const unknown = await t.run(
      t.controller.callStatus({ callSid: makeSid('CA', 999), callStatus: 'completed' }),
    );
    expect(unknown.outcome).toBe('ignored');
    expect(unknown.detail).toMatch(/not one of ours/);
  });

  it('refuses a call status that is not Twilio’s, and changes nothing', async () => {
    const t = setup();
    await t.accept(t.a);
    await expect(
      t.controller.callStatus({ callSid: t.customer, callStatus: 'hung-up' as 'completed' }),
    ).rejects.toSatisfy((e) => isFsError(e, 'FS_ERR_INVALID_INPUT'));
    await expect(
      t.controller.callStatus({ callSid: 'CA-nope', callStatus: 'completed' }),
    ).rejects.toSatisfy((e) => isFsError(e, 'FS_ERR_INVALID_INPUT'));
    expect((await t.segments())[0]?.state).toBe('active');
  });

  it("a customer's leave carrying ParticipantCallStatus needs no call read", async () => {
    const t = setup();
    await t.accept(t.a);
    await pauseA(t);
    const leave = {
      conferenceSid: t.conference,
      friendlyName: t.task,
      event: 'participant-leave' as const,
      callSid: t.customer,
    };
    const before = t.ops().length;
    const redirected = await t.run(
      t.controller.conferenceEvent({ ...leave, participantCallStatus: 'in-progress' }),
    );
    expect(redirected.outcome).toBe('ignored');
    const hungUp = await t.run(
      t.controller.conferenceEvent({ ...leave, participantCallStatus: 'completed' }),
    );
    expect(hungUp.outcome).toBe('applied');
    expect(t.ops().slice(before)).toEqual([]);
    expect((await t.segments())[0]?.endReason).toBe('call-ended');
  });

  it('the customer leaving the conference ends nothing while the call goes on (a redirect)', async () => {
    const t = setup();
    await t.accept(t.a);
    await pauseA(t);
    const leave = {
      conferenceSid: t.conference,
      friendlyName: t.task,
      event: 'participant-leave' as const,
      callSid: t.customer,
    };
    const ongoing = await t.run(t.controller.conferenceEvent(leave));
    expect(ongoing.outcome).toBe('ignored');
    expect(ongoing.detail).toMatch(/goes on/);
    expect(t.ops().at(-1)).toBe('fetchCallStatus');
    expect((await t.segments())[0]?.state).toBe('paused');
    t.voice.hangUp(t.customer);
    const over = await t.run(t.controller.conferenceEvent(leave));
    expect(over.outcome).toBe('applied');
    expect((await t.segments())[0]).toMatchObject({ state: 'ended', endReason: 'call-ended' });
  });

  it("an agent's leg leaving the conference ends that agent's segment; conference-end checks the call", async () => {
    const t = setup();
    await t.accept(t.a);
    await t.accept(t.b, 'warm');
    const left = await t.run(
      t.controller.conferenceEvent({
        conferenceSid: t.conference,
        friendlyName: t.task,
        event: 'participant-leave',
        callSid: t.a.callSid,
      }),
    );
    expect(left.outcome).toBe('applied');
    expect((await t.segments()).map((s) => s.endReason)).toEqual(['worker-left', null]);
    const end = {
      conferenceSid: t.conference,
      friendlyName: t.task,
      event: 'conference-end' as const,
    };
    expect((await t.run(t.controller.conferenceEvent(end))).outcome).toBe('ignored');
    t.voice.hangUp(t.customer);
    expect((await t.run(t.controller.conferenceEvent(end))).outcome).toBe('applied');
    expect((await t.segments()).map((s) => s.endReason)).toEqual(['worker-left', 'call-ended']);
    await expect(
      t.controller.conferenceEvent({ ...end, event: 'participant-leave' }),
    ).rejects.toSatisfy((e) => isFsError(e, 'FS_ERR_INVALID_INPUT'));
  });

  it('reconcile reads the status of calls with no running stream only, and ends a call that is over', async () => {
    const t = setup();
    await t.accept(t.a);
    await t.deliverCallbacks();
    expect((await t.segments())[0]?.streams[0]?.state).toBe('streaming');
    const before = t.ops().length;
    const quiet = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(quiet).toMatchObject({ outcome: 'ignored', detail: 'every live segment is streaming' });
    expect(t.ops().slice(before)).toEqual([]);
    await pauseA(t);
    expect(await t.controller.liveCalls()).toEqual([t.customer]);
    const stillOn = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(stillOn.outcome).toBe('ignored');
    expect(t.ops().at(-1)).toBe('fetchCallStatus');
    // The customer hangs up while the stream is paused: no stream, so no callback tells.
    t.voice.hangUp(t.customer);
    const over = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(over.outcome).toBe('applied');
    expect((await t.segments())[0]).toMatchObject({ state: 'ended', endReason: 'call-ended' });
    expect(await t.controller.liveCalls()).toEqual([]);
  });

  it('reconcile starts again a segment whose start failed after its retries, bounded', async () => {
    const t = setup({ maxStreamRestarts: 1 });
    t.voice.failNext(4, { status: 503, code: null }, 'createStream');
    expect((await t.accept(t.a)).error?.code).toBe('FS_ERR_TWILIO_UNAVAILABLE');
    t.voice.failNext(4, { status: 503, code: null }, 'createStream');
    const again = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(again.outcome).toBe('failed');
    // Two failed starts, one restart allowed: reconcile leaves it from now on.
    const after = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(after.outcome).toBe('ignored');
    expect(t.running()).toEqual([]);

    const u = setup();
    u.voice.failNext(4, { status: 503, code: null }, 'createStream');
    await u.accept(u.a);
    const healed = await u.run(u.controller.reconcile({ customerCallSid: u.customer }));
    expect(healed).toMatchObject({ outcome: 'applied', detail: '0 ended, 1 started' });
    expect(u.running()).toEqual([`fs-${u.a.reservation}-1`]);
  });

  it('reconcile ends the segment of an agent whose leg is over (worker leg)', async () => {
    const t = setup({ leg: 'worker' });
    await t.accept(t.a);
    await pauseA(t);
    t.voice.hangUp(t.a.callSid);
    const result = await t.run(t.controller.reconcile({ customerCallSid: t.customer }));
    expect(result).toMatchObject({ outcome: 'applied', detail: '1 ended, 0 started' });
    expect((await t.segments())[0]).toMatchObject({ state: 'ended', endReason: 'worker-left' });
  });
});
