/**
 * Decoded audio of a warm transfer: a REST stream on the customer leg (`outbound_track`, what the
 * customer hears) proves that the agents' own voices reach the customer — A alone, hold music while
 * Flex holds the customer for the transfer, A and B together once unheld, B alone after A leaves.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_TONES_HZ,
  SOUNDS,
  decodeMulawBase64,
  detectTones,
  emulatorHttpClient,
  startEmulator,
  toneName,
  type Emulator,
} from '../src/index.js';
import { waitFor } from './helpers/contract.js';
import { legOf, ok, pendingReservation, queuedCall, worker } from './helpers/flex.js';
import {
  connectionOf,
  startServer,
  type ServerConnection,
  type TestServer,
} from './media-harness.js';

let emu: Emulator;
let ws: TestServer;

beforeAll(async () => {
  emu = await startEmulator();
  ws = await startServer();
});
afterAll(async () => {
  await emu.close();
  await ws.close();
});

/** The tones in the latest `window` outbound frames of a connection, named, sorted. */
function heard(connection: ServerConnection, from: number, window = 10): string[] | null {
  const frames = connection.messages
    .slice(from)
    .filter((m) => m.event === 'media' && (m.media as { track: string }).track === 'outbound')
    .slice(-window);
  if (frames.length < window) return null;
  const payloads = frames.map((m) => decodeMulawBase64((m.media as { payload: string }).payload));
  const samples = new Int16Array(payloads.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of payloads) {
    samples.set(p, offset);
    offset += p.length;
  }
  return detectTones(samples, ALL_TONES_HZ).map(toneName).sort();
}

/** Waits (polling, never sleeping a fixed time) until the customer hears exactly `expected`. */
async function customerHears(connection: ServerConnection, expected: string[]): Promise<void> {
  const from = connection.messages.length;
  const want = [...expected].sort().join(',');
  let last: string[] | null = null;
  await waitFor(
    () => (last = heard(connection, from)),
    (tones) => tones?.join(',') === want,
    `the customer to hear [${want}]`,
    10_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; last heard [${last?.join(',') ?? ''}]`);
  });
}

describe('what the customer hears during a warm transfer', () => {
  it('A, then hold music, then A and B together, then B', async () => {
    const client = twilio(emu.accountSid, emu.authToken, {
      httpClient: emulatorHttpClient(emu.url),
    });
    const a = await worker(emu, 'voice-a', 'voice');
    const b = await worker(emu, 'voice-b', 'voice');
    const { callSid: customer, taskSid } = await queuedCall(emu, 'voice');
    await ok(emu, `reservations/${await pendingReservation(emu, taskSid, a)}/accept`, {
      workerSid: a,
      conferenceOptions: { beep: false, beepOnCustomerEntrance: false },
    });
    const voiceOf = (callSid: string): string =>
      toneName(emu.state().calls.find((c) => c.sid === callSid)?.voice.frequencyHz ?? 0);
    const voiceA = voiceOf(legOf(emu, taskSid, a));
    const workers = emu.state().taskrouter.workers;
    // Each worker's leg speaks with the worker's own voice.
    expect(voiceA).toBe(toneName(workers.find((w) => w.sid === a)?.voiceHz ?? 0));
    expect(voiceA).not.toBe(voiceOf(customer));

    await client
      .calls(customer)
      .streams.create({ url: `${ws.origin}/customer`, track: 'outbound_track' });
    const connection = await connectionOf(ws);
    await customerHears(connection, [voiceA]);

    const transfer = await ok(emu, `tasks/${taskSid}/transfer`, {
      workerSid: a,
      to: b,
      mode: 'WARM',
    });
    await customerHears(connection, [toneName(SOUNDS.holdMusic.frequencyHz)]);
    await ok(emu, `reservations/${String(transfer.reservationSid)}/accept`, {
      workerSid: b,
      conferenceOptions: { beep: false },
    });
    const voiceB = voiceOf(legOf(emu, taskSid, b));
    expect(voiceB).not.toBe(voiceA);
    await ok(emu, `tasks/${taskSid}/unhold`, { workerSid: a });
    await customerHears(connection, [voiceA, voiceB]);

    await ok(emu, `tasks/${taskSid}/complete-transfer`, { workerSid: a });
    await customerHears(connection, [voiceB]);
    await ok(emu, `tasks/${taskSid}/hangup`, { party: 'customer' });
  });
});
