/**
 * The core's stream controller driven through this package's voice port against the emulator:
 * proves the adapter fits the core for both strategies (not the controller's own scenarios, which
 * live with the controller and the e2e suites).
 */
import { randomUUID } from 'node:crypto';
import {
  createControllerConfig,
  createMemorySegmentStore,
  createStreamController,
  streamNameFor,
  type Logger,
  type StrategyName,
} from '@flex-streams/core';
import { startEmulator, type Emulator } from '@flex-streams/emulator';
import type twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioClient, createTwilioVoicePort } from '../src/index.js';
import { startStreamReceiver, waitFor, type StreamReceiver } from './helpers.js';

let emu: Emulator;
let receiver: StreamReceiver;
let client: twilio.Twilio;

beforeAll(async () => {
  emu = await startEmulator();
  receiver = await startStreamReceiver();
  client = createTwilioClient(
    { accountSid: emu.accountSid, authToken: emu.authToken },
    { apiBaseUrl: emu.url },
  );
});
afterAll(async () => {
  await emu.close();
  await receiver.close();
});

/** Records what the controller logs, so a test can check no error was logged. */
const logged: { level: string; message: string }[] = [];
const recording: Logger = {
  debug: (_fields, message) => logged.push({ level: 'debug', message }),
  info: (_fields, message) => logged.push({ level: 'info', message }),
  warn: (_fields, message) => logged.push({ level: 'warn', message }),
  error: (_fields, message) => logged.push({ level: 'error', message }),
};

function controllerFor(strategy: StrategyName) {
  return createStreamController({
    voice: createTwilioVoicePort(client),
    store: createMemorySegmentStore(),
    clock: {
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    logger: recording,
    newId: randomUUID,
    config: createControllerConfig({
      streamUrl: `${receiver.origin}/streams`,
      strategy,
      protect: { pollIntervalMs: 20, maxPolls: 10 },
    }),
  });
}

const hex = () => randomUUID().replaceAll('-', '');

/**
 * A Flex-like call: the customer in the task's conference with endConferenceOnExit=true (Flex's
 * endConferenceOnCustomerExit, twilio-facts §6) and an agent leg added by REST.
 */
async function flexCall(): Promise<{ customerCallSid: string; taskSid: string }> {
  const taskSid = `WT${hex()}`;
  const { callSid } = await emu.placeInboundCall({
    from: '+15550001',
    to: '+15550002',
    twiml: `<Response><Dial><Conference endConferenceOnExit="true">${taskSid}</Conference></Dial></Response>`,
  });
  await waitFor(
    () => emu.state().conferences.find((c) => c.friendlyName === taskSid)?.status,
    (status) => status === 'in-progress',
    'the conference',
  );
  await client.conferences(taskSid).participants.create({ from: '+15550002', to: '+15550003' });
  return { customerCallSid: callSid, taskSid };
}

const streamNamed = (name: string) => emu.state().streams.find((s) => s.name === name);

describe.each<StrategyName>(['rest', 'twiml'])(
  'the %s strategy through the twilio voice port',
  (strategy) => {
    it('starts the agent segment stream on accept and stops it on wrapup; the customer stays', async () => {
      const controller = controllerFor(strategy);
      const { customerCallSid, taskSid } = await flexCall();
      const reservationSid = `WR${hex()}`;
      const workerSid = `WK${hex()}`;
      const name = streamNameFor(reservationSid, 0);

      const accepted = await controller.reservationAccepted({
        reservationSid,
        taskSid,
        workerSid,
        customerCallSid,
      });
      expect(accepted.outcome).toBe('applied');
      await waitFor(
        () => streamNamed(name)?.status,
        (status) => status === 'in-progress',
        `stream ${name}`,
      );
      expect(streamNamed(name)).toMatchObject({ callSid: customerCallSid, track: 'both_tracks' });
      const start = await waitFor(
        () =>
          receiver.messages.find(
            (m) => m.event === 'start' && m.streamSid === streamNamed(name)?.sid,
          ),
        (m) => m !== undefined,
        'the stream start',
      );
      expect(start).toMatchObject({
        start: { customParameters: { reservationSid, workerSid, strategy } },
      });

      const ended = await controller.reservationEnded({
        reservationSid,
        taskSid,
        workerSid,
        customerCallSid,
        event: 'wrapup',
      });
      expect(ended.outcome).toBe('applied');
      await waitFor(
        () => streamNamed(name)?.status,
        (status) => status === 'stopped',
        `stream ${name} stopped`,
      );
      // Never dropped: the customer is still on the call, back in (or still in) the task's conference.
      const customer = emu.state().calls.find((c) => c.sid === customerCallSid);
      expect(customer?.status).toBe('in-progress');
      const conference = emu
        .state()
        .conferences.find((c) => c.friendlyName === taskSid && c.status === 'in-progress');
      expect(customer?.conferenceSid).toBe(conference?.sid);
      expect(logged.filter((entry) => entry.level === 'error')).toEqual([]);
    });
  },
);
