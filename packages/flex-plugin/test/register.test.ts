/**
 * The plugin's core against the fake Flex Actions framework and a real HTTP server answering like
 * the controller (port 0): what each Flex action sends, and how failures are retried and logged
 * without ever blocking the agent.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  registerFlexStreams,
  type FlexStreamsDeps,
  type FlexStreamsHandle,
  type FlexTask,
} from '../src/index.js';
import { startFakeController, type FakeController } from './controller-server.js';
import { FakeFlexActions } from './fake-flex-actions.js';
import { createRecordingLogger, type RecordingLogger } from './recording-logger.js';

const RESERVATION = 'WR' + 'a'.repeat(32);
const TASK = 'WT' + 'b'.repeat(32);
const WORKER = 'WK' + 'c'.repeat(32);
const CUSTOMER = 'CA' + '1'.repeat(32);
const MY_LEG = 'CA' + '2'.repeat(32);
const OLD_LEG = 'CA' + '3'.repeat(32);
const OTHER_LEG = 'CA' + '4'.repeat(32);
const ATTR_LEG = 'CA' + '5'.repeat(32);
const CONFERENCE = 'CF' + 'd'.repeat(32);

function voiceTask(overrides: Partial<FlexTask> = {}): FlexTask {
  return {
    sid: RESERVATION,
    taskSid: TASK,
    workerSid: WORKER,
    taskChannelUniqueName: 'voice',
    attributes: {
      call_sid: CUSTOMER,
      conference: {
        sid: 'CF' + 'e'.repeat(32),
        participants: { customer: CUSTOMER, worker: ATTR_LEG },
      },
    },
    conference: {
      sid: TASK,
      conferenceSid: CONFERENCE,
      participants: [
        { callSid: CUSTOMER, participantType: 'customer', status: 'joined' },
        // The list keeps those who left (facts §6): an earlier leg of the same worker.
        { callSid: OLD_LEG, participantType: 'worker', status: 'left', workerSid: WORKER },
        {
          callSid: OTHER_LEG,
          participantType: 'worker',
          status: 'joined',
          workerSid: 'WK' + '9'.repeat(32),
        },
        {
          callSid: MY_LEG,
          participantType: 'worker',
          status: 'joined',
          workerSid: WORKER,
          isCurrentWorker: true,
        },
      ],
    },
    ...overrides,
  };
}

describe('registerFlexStreams', () => {
  let controller: FakeController;
  let actions: FakeFlexActions;
  let logger: RecordingLogger;
  let token: string;
  let sleeps: number[];
  let conferenceOptionsAtAccept: unknown[];
  let transfers: string[];
  let ids: number;

  const register = (extra: Partial<FlexStreamsDeps> = {}): FlexStreamsHandle =>
    registerFlexStreams({
      actions,
      getToken: () => token,
      controllerUrl: controller.url,
      logger,
      retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 300 },
      // The backoff's wait is a port: recorded, not slept, so no test waits a fixed time.
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      randomId: () => `key-${(ids += 1)}`,
      ...extra,
    });

  beforeEach(async () => {
    controller = await startFakeController();
    actions = new FakeFlexActions();
    logger = createRecordingLogger();
    token = 'flex-token-1';
    sleeps = [];
    conferenceOptionsAtAccept = [];
    transfers = [];
    ids = 0;
    // Flex's own implementations: what reaches reservation.conference() and task.transfer().
    actions.registerAction('AcceptTask', (payload) => {
      conferenceOptionsAtAccept.push(structuredClone(payload.conferenceOptions));
    });
    actions.registerAction('TransferTask', (payload) => {
      transfers.push(String(payload.targetSid));
    });
    actions.registerAction('WrapupTask', () => undefined);
    actions.registerAction('CompleteTask', () => undefined);
  });

  afterEach(async () => {
    await controller.close();
  });

  it('registers the five listeners and removes them on unregister', () => {
    const handle = register();
    const names = [
      'beforeAcceptTask',
      'afterAcceptTask',
      'beforeTransferTask',
      'afterWrapupTask',
      'afterCompleteTask',
    ];
    expect(names.map((n) => actions.listenerCount(n))).toEqual([1, 1, 1, 1, 1]);
    handle.unregister();
    expect(names.map((n) => actions.listenerCount(n))).toEqual([0, 0, 0, 0, 0]);
  });

  it('refuses an unusable controller URL at registration', () => {
    expect(() => register({ controllerUrl: 'ftp://x' })).toThrow(/FS_PLUGIN_ERR_CONFIG|http\(s\)/);
    expect(() => register({ controllerUrl: '' })).toThrow(/controllerUrl/);
  });

  it('beforeAcceptTask points the conference status callback at the controller', async () => {
    register();
    await actions.invokeAction('AcceptTask', {
      task: voiceTask(),
      conferenceOptions: { endConferenceOnExit: true, endConferenceOnCustomerExit: true },
    });
    expect(conferenceOptionsAtAccept).toEqual([
      {
        endConferenceOnExit: true,
        endConferenceOnCustomerExit: true,
        conferenceStatusCallback: `${controller.url}/v1/conferences/status`,
        conferenceStatusCallbackMethod: 'POST',
        conferenceStatusCallbackEvent: ['join', 'leave', 'end'],
      },
    ]);
  });

  it('keeps a conference callback the deployment set, and merges events of its own URL', async () => {
    register();
    await actions.invokeAction('AcceptTask', {
      task: voiceTask(),
      conferenceOptions: {
        conferenceStatusCallback: 'https://elsewhere.example/cb',
        conferenceStatusCallbackEvent: 'start',
      },
    });
    await actions.invokeAction('AcceptTask', {
      task: voiceTask(),
      conferenceOptions: {
        conferenceStatusCallback: `${controller.url}/v1/conferences/status`,
        conferenceStatusCallbackEvent: 'start,leave',
      },
    });
    expect(conferenceOptionsAtAccept).toEqual([
      {
        conferenceStatusCallback: 'https://elsewhere.example/cb',
        conferenceStatusCallbackEvent: 'start',
      },
      {
        conferenceStatusCallback: `${controller.url}/v1/conferences/status`,
        conferenceStatusCallbackMethod: 'POST',
        conferenceStatusCallbackEvent: ['start', 'leave', 'join', 'end'],
      },
    ]);
    expect(logger.at('warn').map((l) => l.fields.conferenceStatusCallback)).toEqual([
      'https://elsewhere.example/cb',
    ]);
  });

  it('afterAcceptTask starts the segment with the reservation, call, conference and own leg', async () => {
    register();
    await actions.invokeAction('AcceptTask', { task: voiceTask(), conferenceOptions: {} });
    expect(controller.requests).toHaveLength(1);
    const [start] = controller.requests;
    expect(start?.path).toBe('/v1/plugin/segments/start');
    expect(start?.contentType).toBe('application/json');
    expect(start?.authorization).toBe('Bearer flex-token-1');
    expect(start?.body).toEqual({
      reservationSid: RESERVATION,
      taskSid: TASK,
      customerCallSid: CUSTOMER,
      conferenceSid: CONFERENCE,
      workerCallSid: MY_LEG,
    });
  });

  it('falls back to the task attributes, but not to a transferred task’s worker attribute', async () => {
    register();
    const bare = voiceTask({ conference: undefined });
    await actions.invokeAction('AcceptTask', { task: bare, conferenceOptions: {} });
    await actions.invokeAction('AcceptTask', {
      task: { ...bare, incomingTransferObject: { mode: 'WARM', status: 'INITIATED' } },
      conferenceOptions: {},
    });
    expect(controller.requests.map((r) => r.body)).toEqual([
      {
        reservationSid: RESERVATION,
        taskSid: TASK,
        customerCallSid: CUSTOMER,
        conferenceSid: 'CF' + 'e'.repeat(32),
        workerCallSid: ATTR_LEG,
      },
      {
        reservationSid: RESERVATION,
        taskSid: TASK,
        customerCallSid: CUSTOMER,
        conferenceSid: 'CF' + 'e'.repeat(32),
      },
    ]);
  });

  it('leaves other channels alone, and logs a voice task without call_sid', async () => {
    register();
    const chat = voiceTask({ taskChannelUniqueName: 'chat' });
    await actions.invokeAction('AcceptTask', { task: chat, conferenceOptions: {} });
    await actions.invokeAction('TransferTask', { task: chat, targetSid: WORKER });
    await actions.invokeAction('WrapupTask', { task: chat, sid: chat.sid });
    await actions.invokeAction('AcceptTask', {
      task: voiceTask({ attributes: {} }),
      conferenceOptions: {},
    });
    expect(controller.requests).toEqual([]);
    expect(conferenceOptionsAtAccept[0]).toEqual({});
    expect(logger.at('error').map((l) => l.fields.code)).toEqual(['FS_PLUGIN_ERR_BAD_TASK']);
    expect(transfers).toEqual([WORKER]);
  });

  it('reads the token fresh for every request', async () => {
    register();
    await actions.invokeAction('AcceptTask', { task: voiceTask(), conferenceOptions: {} });
    token = 'flex-token-2';
    await actions.invokeAction('WrapupTask', { task: voiceTask(), sid: RESERVATION });
    expect(controller.requests.map((r) => r.authorization)).toEqual([
      'Bearer flex-token-1',
      'Bearer flex-token-2',
    ]);
  });

  it('beforeTransferTask holds the transfer until prepare-transfer is answered', async () => {
    register();
    let open = (): void => undefined;
    controller.script('prepare-transfer', { gate: new Promise<void>((o) => (open = o)) });
    const invoked = actions.invokeAction('TransferTask', {
      task: voiceTask(),
      targetSid: WORKER,
      options: { mode: 'WARM' },
    });
    const [prepare] = await controller.waitForRequests('prepare-transfer', 1);
    expect(prepare?.body).toEqual({ reservationSid: RESERVATION });
    expect(transfers).toEqual([]);
    open();
    expect(await invoked).toEqual({ aborted: false });
    expect(transfers).toEqual([WORKER]);
  });

  it('a failed prepare-transfer is logged and never blocks the transfer', async () => {
    register();
    controller.script('prepare-transfer', { status: 503 }, { status: 503 }, { status: 503 });
    expect(
      await actions.invokeAction('TransferTask', { task: voiceTask(), targetSid: WORKER }),
    ).toEqual({ aborted: false });
    expect(transfers).toEqual([WORKER]);
    // Flex holds the transfer meanwhile: prepare-transfer gets two tries, not the full budget.
    expect(controller.requests.filter((r) => r.action === 'prepare-transfer')).toHaveLength(2);
    expect(actions.listenerErrors).toEqual([]);
    const [error] = logger.at('error');
    expect(error?.fields).toMatchObject({
      action: 'prepare-transfer',
      code: 'FS_PLUGIN_ERR_UNAVAILABLE',
      serviceCode: 'FS_ERR_X',
      status: 503,
      attempts: 2,
    });
  });

  it('never throws into Flex on odd task data, and still lets the action run', async () => {
    register();
    const odd = [
      { ...voiceTask(), conference: { conferenceSid: 'CFx', participants: {} } },
      { ...voiceTask(), conference: { conferenceSid: 'CFx', participants: [null, 7] } },
    ];
    for (const task of odd) {
      expect(await actions.invokeAction('AcceptTask', { task })).toEqual({ aborted: false });
    }
    expect(
      await actions.invokeAction('AcceptTask', { task: voiceTask(), conferenceOptions: 'x' }),
    ).toEqual({ aborted: false });
    expect(actions.listenerErrors).toEqual([]);
  });

  it('wrap-up and complete stop the segment, with the payload sid when task is absent', async () => {
    register();
    await actions.invokeAction('WrapupTask', { task: voiceTask(), sid: RESERVATION });
    await actions.invokeAction('CompleteTask', { sid: RESERVATION });
    expect(controller.requests.map((r) => [r.action, r.body])).toEqual([
      ['stop', { reservationSid: RESERVATION, event: 'wrapup' }],
      ['stop', { reservationSid: RESERVATION, event: 'completed' }],
    ]);
  });

  it('a stop the controller has no segment for is logged at info, not as an error', async () => {
    register();
    controller.script('stop', { status: 404, code: 'FS_ERR_SEGMENT_NOT_FOUND' });
    await actions.invokeAction('CompleteTask', { sid: RESERVATION });
    expect(controller.requests).toHaveLength(1);
    expect(logger.at('error')).toEqual([]);
    expect(logger.at('info').map((l) => l.fields.serviceCode)).toEqual([
      'FS_ERR_SEGMENT_NOT_FOUND',
    ]);
  });

  it('retries 503 and 429 with growing backoff, honouring Retry-After up to the cap', async () => {
    register();
    controller.script('start', { status: 503 }, { status: 429, retryAfter: '60' });
    await actions.invokeAction('AcceptTask', { task: voiceTask(), conferenceOptions: {} });
    expect(controller.requests.map((r) => r.action)).toEqual(['start', 'start', 'start']);
    expect(sleeps).toEqual([100, 300]);
    expect(logger.at('error')).toEqual([]);
    expect(logger.at('info').at(-1)?.fields).toMatchObject({ action: 'start', attempts: 3 });
  });

  it('does not retry a 4xx, and logs the service’s error code', async () => {
    register();
    controller.script('start', { status: 403, code: 'FS_ERR_NOT_SEGMENT_OWNER' });
    await actions.invokeAction('AcceptTask', { task: voiceTask(), conferenceOptions: {} });
    expect(controller.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(logger.at('error')[0]?.fields).toMatchObject({
      code: 'FS_PLUGIN_ERR_REFUSED',
      serviceCode: 'FS_ERR_NOT_SEGMENT_OWNER',
      twilioCode: 20404,
      status: 403,
      reservationSid: RESERVATION,
    });
  });

  it('retries a request that times out, then logs FS_PLUGIN_ERR_NETWORK', async () => {
    register({ timeoutMs: 150 });
    controller.script('stop', { hang: true }, { hang: true }, { hang: true });
    await actions.invokeAction('WrapupTask', { sid: RESERVATION });
    expect(controller.requests).toHaveLength(3);
    expect(logger.at('error')[0]?.fields).toMatchObject({
      code: 'FS_PLUGIN_ERR_NETWORK',
      attempts: 3,
    });
  });

  it('retries a refused connection, and an empty token sends nothing', async () => {
    const closed = createServer();
    await new Promise<void>((l) => closed.listen(0, '127.0.0.1', l));
    const address = closed.address();
    await new Promise<void>((c) => {
      closed.close(() => {
        c();
      });
    });
    if (address === null || typeof address === 'string') throw new Error('no port');
    register({ controllerUrl: `http://127.0.0.1:${address.port}` });
    await actions.invokeAction('CompleteTask', { sid: RESERVATION });
    expect(sleeps).toEqual([100, 200]);
    expect(logger.at('error')[0]?.fields).toMatchObject({
      code: 'FS_PLUGIN_ERR_NETWORK',
      attempts: 3,
    });

    actions = new FakeFlexActions();
    actions.registerAction('CompleteTask', () => undefined);
    token = '';
    register();
    await actions.invokeAction('CompleteTask', { sid: RESERVATION });
    expect(controller.requests).toEqual([]);
    expect(logger.at('error')[1]?.fields).toMatchObject({ code: 'FS_PLUGIN_ERR_NO_TOKEN' });
  });

  it('pause and resume carry one idempotency key per click, kept across retries', async () => {
    const handle = register();
    controller.script('pause', { status: 502 });
    const paused = await handle.pause(voiceTask(), 'card number');
    expect(paused.ok).toBe(true);
    const resumed = await handle.resume(voiceTask());
    expect(resumed.ok).toBe(true);
    expect(controller.requests.map((r) => [r.action, r.body])).toEqual([
      ['pause', { reservationSid: RESERVATION, idempotencyKey: 'key-1', reason: 'card number' }],
      ['pause', { reservationSid: RESERVATION, idempotencyKey: 'key-1', reason: 'card number' }],
      ['resume', { reservationSid: RESERVATION, idempotencyKey: 'key-2' }],
    ]);
  });

  it('a second click while a pause is in flight gets the first one’s result', async () => {
    const handle = register();
    let open = (): void => undefined;
    controller.script('pause', { gate: new Promise<void>((o) => (open = o)) });
    const first = handle.pause(voiceTask());
    await controller.waitForRequests('pause', 1);
    const second = handle.pause(voiceTask());
    open();
    const [a, b] = await Promise.all([first, second]);
    expect(b).toBe(a);
    expect(controller.requests).toHaveLength(1);
    // Once settled, a new click is a new pause.
    await handle.pause(voiceTask());
    expect(controller.requests.map((r) => r.body.idempotencyKey)).toEqual(['key-1', 'key-2']);
  });

  it('pause of a task that is not a call, or not a task, sends nothing and does not throw', async () => {
    const handle = register();
    const result = await handle.pause(voiceTask({ taskChannelUniqueName: 'sms' }));
    expect(result.ok).toBe(false);
    const garbage = await handle.resume(undefined as unknown as FlexTask);
    expect(garbage.ok ? null : garbage.error.code).toBe('FS_PLUGIN_ERR_BAD_TASK');
    expect(controller.requests).toEqual([]);
  });
});
