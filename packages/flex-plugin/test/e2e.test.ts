/**
 * The plugin end to end: the real stack (Twilio emulator, controller service with only the plugin
 * API driving it, receiver), two agents' Flex desktops simulated over the emulator with the plugin
 * registered on each, a warm transfer A → B with a pause/resume on A. Checked from the emulator's
 * streams and webhook log and the controller's `GET /v1/calls/:sid`.
 */
import { startStack, type Stack } from '@flex-streams/e2e';
import { afterEach, describe, expect, it } from 'vitest';
import { registerFlexStreams, type FlexStreamsHandle } from '../src/index.js';
import { createFlexDesktop, until, type FlexDesktop } from './flex-desktop.js';
import { createRecordingLogger, type RecordingLogger } from './recording-logger.js';

interface SegmentView {
  reservationSid: string;
  workerSid: string;
  state: string;
  pauses: unknown[];
  streams: { name: string; state: string; sid: string | null; callSid: string }[];
}

interface Agent {
  readonly workerSid: string;
  readonly desktop: FlexDesktop;
  readonly plugin: FlexStreamsHandle;
  readonly logger: RecordingLogger;
  /** What each plugin request got back: `action status`. */
  readonly answers: string[];
  /** The JSON body of each plugin request. */
  readonly bodies: Record<string, unknown>[];
}

/** Two agents' Flex desktops with the plugin registered on each, and a queued customer call. */
function openCall(stack: Stack) {
  const emu = stack.emulator;
  const controllerUrl = stack.service.url;
  // Only the plugin's beforeAcceptTask may point conferences at the controller now.
  emu.updateSettings({ flexConferenceStatusCallback: null });

  const agent = (name: string): Agent => {
    const { sid: workerSid } = emu.taskrouter.createWorker({
      friendlyName: `agent-${name}`,
      identity: `agent-${name}`,
      activity: name === 'a' ? 'Available' : 'Offline',
    });
    const desktop = createFlexDesktop(emu, workerSid);
    const logger = createRecordingLogger();
    const answers: string[] = [];
    const bodies: Record<string, unknown>[] = [];
    const plugin = registerFlexStreams({
      actions: desktop.actions,
      getToken: () => emu.taskrouter.issueToken(workerSid).token,
      controllerUrl,
      logger,
      // A spy over the real fetch: every request still goes to the controller.
      fetch: async (input, init) => {
        if (typeof init?.body === 'string')
          bodies.push(JSON.parse(init.body) as Record<string, unknown>);
        const response = await fetch(input, init);
        answers.push(`${response.url.split('/').at(-1) ?? ''} ${response.status}`);
        return response;
      },
    });
    return { workerSid, desktop, plugin, logger, answers, bodies };
  };
  const a = agent('a');
  const b = agent('b');

  const { callSid } = emu.taskrouter.placeQueuedCall({
    from: '+15550100001',
    to: '+15550100002',
  });
  const offered = (workerSid: string) =>
    until(
      () =>
        emu
          .state()
          .taskrouter.reservations.find((r) => r.workerSid === workerSid && r.status === 'pending'),
      (r) => r !== undefined,
      `a reservation for ${workerSid}`,
    );
  const segments = async (): Promise<SegmentView[]> => {
    const response = await fetch(`${controllerUrl}/v1/calls/${callSid}`);
    if (response.status === 404) return [];
    return ((await response.json()) as { segments: SegmentView[] }).segments;
  };
  const segmentOf = async (reservationSid: string) =>
    (await segments()).find((s) => s.reservationSid === reservationSid);

  return { emu, controllerUrl, a, b, callSid, offered, segments, segmentOf };
}

describe('the Flex plugin on the real stack (plugin driver)', () => {
  let stack: Stack | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('rest: a warm transfer A → B with a pause on A: one stream per segment run, stops at wrap-up, conference callbacks from the plugin’s options', async () => {
    stack = await startStack({ strategy: 'rest', leg: 'customer', driver: 'plugin' });
    const { emu, controllerUrl, a, b, callSid, offered, segments, segmentOf } = openCall(stack);
    // A accepts: the plugin's conference options are what reaches the emulator's accept.
    const reservationA = (await offered(a.workerSid))?.sid ?? '';
    const taskA = await a.desktop.accept(reservationA);
    expect(a.desktop.acceptOptions).toEqual([
      {
        endConferenceOnExit: true,
        endConferenceOnCustomerExit: true,
        conferenceStatusCallback: `${controllerUrl}/v1/conferences/status`,
        conferenceStatusCallbackMethod: 'POST',
        conferenceStatusCallbackEvent: ['join', 'leave', 'end'],
      },
    ]);
    await until(
      () => segmentOf(reservationA),
      (s) => s?.streams[0]?.state === 'streaming',
      'A streaming',
    );
    // …and the emulator's conference callbacks reach the controller (signed for its URL: 204).
    await until(
      () =>
        emu
          .events()
          .filter(
            (e) => e.type === 'webhook' && e.url === `${controllerUrl}/v1/conferences/status`,
          ),
      (hooks) => hooks.some((h) => h.event === 'participant-join' && h.status === 204),
      'a participant-join callback answered 204 by the controller',
    );

    // A pauses (card number) and resumes: the stream stops, a continuation starts.
    expect((await a.plugin.pause(taskA, 'card number')).ok).toBe(true);
    await until(
      () => segmentOf(reservationA),
      (s) => s?.state === 'paused' && s.streams[0]?.state !== 'streaming',
      'A paused',
    );
    expect((await a.plugin.resume(taskA)).ok).toBe(true);
    await until(
      () => segmentOf(reservationA),
      (s) => s?.state === 'active' && s.streams[1]?.state === 'streaming',
      'A resumed',
    );

    // A warm-transfers to B: prepare-transfer is awaited before the transfer.
    emu.taskrouter.setActivity(b.workerSid, 'Available');
    await a.desktop.transfer(reservationA, b.workerSid, 'WARM');
    expect(a.answers).toContain('prepare-transfer 200');
    const reservationB = (await offered(b.workerSid))?.sid ?? '';
    await b.desktop.accept(reservationB);
    await until(
      () => segmentOf(reservationB),
      (s) => s?.streams[0]?.state === 'streaming',
      'B streaming',
    );

    // A leaves through wrap-up: A's segment ends, B's goes on.
    await a.desktop.wrapup(reservationA);
    expect(a.answers).toContain('stop 200');
    await until(
      () => segments(),
      (list) => {
        const [sa, sb] = [
          list.find((s) => s.reservationSid === reservationA),
          list.find((s) => s.reservationSid === reservationB),
        ];
        return (
          sa?.state === 'ended' &&
          sa.streams.every((st) => st.state !== 'streaming') &&
          sb?.state === 'active'
        );
      },
      "A's segment ended while B's streams",
    );
    expect((await segmentOf(reservationB))?.streams.map((s) => s.state)).toEqual(['streaming']);

    // B wraps up and both complete (CompleteTask with no task in its payload).
    await b.desktop.wrapup(reservationB);
    await a.desktop.complete(reservationA);
    await b.desktop.complete(reservationB);
    const final = await until(
      () => segments(),
      (list) =>
        list.length === 2 &&
        list.every((s) => s.state === 'ended' && s.streams.every((st) => st.state !== 'streaming')),
      'every segment ended',
    );

    // One stream per segment run: A's first and its continuation, then B's; nothing else.
    expect(final.map((s) => [s.workerSid, s.streams.length, s.pauses.length])).toEqual([
      [a.workerSid, 2, 1],
      [b.workerSid, 1, 0],
    ]);
    const emulated = await until(
      () => emu.state().streams.filter((s) => s.callSid === callSid),
      (list) => list.every((s) => s.status === 'stopped'),
      'every emulated stream stopped',
    );
    expect(emulated.map((s) => s.name).sort()).toEqual(
      final.flatMap((s) => s.streams.map((st) => st.name)).sort(),
    );
    expect(emulated.map((s) => s.sid).sort()).toEqual(
      final.flatMap((s) => s.streams.map((st) => st.sid)).sort(),
    );

    // Every plugin call succeeded at the first attempt; nothing logged as an error.
    expect(a.answers.every((line) => line.endsWith(' 200'))).toBe(true);
    expect(b.answers).toEqual(['start 200', 'stop 200', 'stop 200']);
    expect([...a.logger.at('error'), ...b.logger.at('error')]).toEqual([]);
    expect([...a.desktop.actions.listenerErrors, ...b.desktop.actions.listenerErrors]).toEqual([]);
  }, 60_000);
  it('twiml: a cold transfer A → B waits for prepare-transfer to protect the customer leg', async () => {
    stack = await startStack({ strategy: 'twiml', leg: 'customer', driver: 'plugin' });
    const { emu, a, b, callSid, offered, segments, segmentOf } = openCall(stack);
    const reservationA = (await offered(a.workerSid))?.sid ?? '';
    await a.desktop.accept(reservationA);
    await until(
      () => segmentOf(reservationA),
      (s) => s?.streams[0]?.state === 'streaming',
      'A streaming',
    );

    emu.taskrouter.setActivity(b.workerSid, 'Available');
    const before = emu.events().at(-1)?.seq ?? 0;
    await a.desktop.transfer(reservationA, b.workerSid, 'COLD');
    // Flex awaited the plugin's prepare-transfer: the controller's update of the customer's
    // participant (endConferenceOnExit=false, twiml strategy) precedes Flex's transfer.
    const events = emu.events().filter((e) => e.seq > before);
    const protect = events.findIndex(
      (e) =>
        e.type === 'rest.request' &&
        e.operation === 'UpdateParticipant' &&
        String(e.path).endsWith(`/Participants/${callSid}.json`) &&
        e.status === 200,
    );
    const transfer = events.findIndex((e) => e.type === 'flex.action' && e.action === 'transfer');
    expect(protect).toBeGreaterThanOrEqual(0);
    expect(transfer).toBeGreaterThan(protect);

    const reservationB = (await offered(b.workerSid))?.sid ?? '';
    await b.desktop.accept(reservationB);
    await until(
      () => segments(),
      (list) =>
        list.find((s) => s.reservationSid === reservationA)?.state === 'ended' &&
        list.find((s) => s.reservationSid === reservationB)?.streams[0]?.state === 'streaming',
      "A's segment ended and B's streaming",
    );

    // A's reservation wrapped when A left; A completes it after a reload (no task in the payload).
    await a.desktop.complete(reservationA);
    await b.desktop.wrapup(reservationB);
    await b.desktop.complete(reservationB);
    const final = await until(
      () => segments(),
      (list) =>
        list.length === 2 &&
        list.every((s) => s.state === 'ended' && s.streams.every((st) => st.state !== 'streaming')),
      'every segment ended',
    );
    expect(final.map((s) => [s.workerSid, s.streams.length])).toEqual([
      [a.workerSid, 1],
      [b.workerSid, 1],
    ]);
    expect(a.answers).toEqual(['start 200', 'prepare-transfer 200', 'stop 200']);
    expect(b.answers).toEqual(['start 200', 'stop 200', 'stop 200']);
    expect([...a.logger.at('error'), ...b.logger.at('error')]).toEqual([]);
  }, 60_000);
  it('rest, worker leg: the plugin names the agent’s own leg, and the stream is on it', async () => {
    stack = await startStack({ strategy: 'rest', leg: 'worker', driver: 'plugin' });
    const { emu, a, offered, segmentOf, segments } = openCall(stack);
    const reservationA = (await offered(a.workerSid))?.sid ?? '';
    await a.desktop.accept(reservationA);
    const leg = emu
      .state()
      .taskrouter.reservations.find((r) => r.sid === reservationA)?.workerCallSid;
    expect(leg).toMatch(/^CA/);
    const streaming = await until(
      () => segmentOf(reservationA),
      (s) => s?.streams[0]?.state === 'streaming',
      'A streaming on their leg',
    );
    expect(a.bodies[0]?.workerCallSid).toBe(leg);
    expect(streaming?.streams[0]?.callSid).toBe(leg);
    await a.desktop.wrapup(reservationA);
    await a.desktop.complete(reservationA);
    await until(
      () => segments(),
      (list) => list.length === 1 && list[0]?.state === 'ended',
      'the segment ended',
    );
    expect(a.answers).toEqual(['start 200', 'stop 200', 'stop 200']);
  }, 60_000);
});
