/**
 * The worker leg with the TaskRouter driver only (plugin API off), through the emulator's real
 * Flex flow: the workspace's EventCallbackUrl points at the service, a queued call is reserved for
 * an agent who accepts through `emu.taskrouter`. `reservation.accepted` carries no agent CallSid,
 * so the service must find the agent's leg itself: the stream must run on the agent's own call
 * (inbound = the agent's voice, decoded from the recording) and stop at wrap-up.
 */
import { readFile } from 'node:fs/promises';
import type { Segment } from '@flex-streams/core';
import { decodeMulaw, detectTones } from '@flex-streams/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASKROUTER_EVENTS_PATH } from '../src/index.js';
import { startWorld, waitFor, type World } from './service-harness.js';

let world: World;
beforeAll(async () => {
  world = await startWorld(
    { FLEX_STREAMS_LEG: 'worker', FLEX_STREAMS_PLUGIN_API: 'off' },
    { flex: true },
  );
  world.emu.taskrouter.updateWorkspace({
    eventCallbackUrl: world.publicUrl + TASKROUTER_EVENTS_PATH,
  });
});
afterAll(async () => {
  await world.close();
});

/** Channel `channel` (0 = inbound, 1 = outbound) of a stereo µ-law WAV the receiver wrote. */
async function channelOf(wavPath: string, channel: 0 | 1): Promise<Int16Array> {
  const file = await readFile(wavPath);
  const channels = file.readUInt16LE(22);
  const data = file.subarray(58);
  const mono = new Uint8Array(Math.floor(data.length / channels));
  for (let i = 0; i < mono.length; i += 1) mono[i] = data[i * channels + channel] ?? 0xff;
  return decodeMulaw(mono);
}

async function segmentsOf(callSid: string): Promise<Segment[]> {
  const response = await fetch(`${world.service.url}/v1/calls/${callSid}`);
  if (response.status === 404) return [];
  return ((await response.json()) as { segments: Segment[] }).segments;
}

describe('worker leg through the TaskRouter driver', () => {
  it("streams the agent's own call from the accept, and stops at wrap-up", async () => {
    const { emu } = world;
    const tr = emu.taskrouter;
    const agent = tr.createWorker({ friendlyName: 'worker-leg-agent', activity: 'Available' });
    const { callSid: customerCallSid } = tr.placeQueuedCall({
      from: '+15550001001',
      to: '+15550002002',
    });
    const offered = await waitFor(
      () => [...tr.reservations.values()].find((r) => r.workerSid === agent.sid),
      (r) => r !== undefined,
      'the reservation',
    );
    if (offered === undefined) throw new Error('unreachable');
    const accepted = tr.accept(offered.sid, agent.sid);
    const agentCallSid = accepted.workerCallSid;
    expect(agentCallSid).toMatch(/^CA/);

    const [stream] = await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === agentCallSid),
      (streams) => streams[0]?.status === 'in-progress',
      "a stream on the agent's call",
    );
    expect(stream?.name).toBe(`fs-${offered.sid}-0`);
    expect(emu.state().streams.filter((s) => s.callSid === customerCallSid)).toEqual([]);
    await waitFor(
      () => emu.state().streams.find((s) => s.sid === stream?.sid),
      (s) => (s?.framesByTrack.inbound ?? 0) >= 50,
      'a second of audio',
    );

    tr.wrapup(offered.sid, agent.sid);
    const stopped = await waitFor(
      () => world.received.stopped.find((e) => e.streamSid === stream?.sid),
      (e) => e !== undefined,
      'the recording',
    );
    const [segment] = await waitFor(
      () => segmentsOf(customerCallSid),
      (segments) => segments[0]?.state === 'ended',
      'the ended segment',
    );
    expect(segment).toMatchObject({
      reservationSid: offered.sid,
      workerSid: agent.sid,
      workerCallSid: agentCallSid,
      endReason: 'wrapup',
    });
    expect(emu.state().streams.find((s) => s.sid === stream?.sid)?.status).toBe('stopped');

    const calls = emu.state().calls;
    const agentHz = calls.find((c) => c.sid === agentCallSid)?.voice.frequencyHz ?? 0;
    const customerHz = calls.find((c) => c.sid === customerCallSid)?.voice.frequencyHz ?? 0;
    expect(agentHz).not.toBe(customerHz);
    expect(detectTones(await channelOf(stopped?.wavPath ?? '', 0), [agentHz, customerHz])).toEqual([
      agentHz,
    ]);
    expect(detectTones(await channelOf(stopped?.wavPath ?? '', 1), [agentHz, customerHz])).toEqual([
      customerHz,
    ]);
  });

  it("gives each agent of a warm transfer a stream on their own call, never the other's", async () => {
    const { emu } = world;
    const tr = emu.taskrouter;
    const alice = tr.createWorker({ friendlyName: 'warm-alice', activity: 'Available' });
    const { callSid: customerCallSid } = tr.placeQueuedCall({
      from: '+15550001003',
      to: '+15550002002',
    });
    const first = await waitFor(
      () => [...tr.reservations.values()].find((r) => r.workerSid === alice.sid),
      (r) => r !== undefined,
      "alice's reservation",
    );
    if (first === undefined) throw new Error('unreachable');
    const aliceLeg = tr.accept(first.sid, alice.sid).workerCallSid;
    await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === aliceLeg),
      (streams) => streams[0]?.status === 'in-progress',
      "alice's stream",
    );

    const bob = tr.createWorker({ friendlyName: 'warm-bob', activity: 'Available' });
    tr.transfer({ taskSid: first.taskSid, workerSid: alice.sid, to: bob.sid, mode: 'WARM' });
    const offered = await waitFor(
      () => [...tr.reservations.values()].find((r) => r.workerSid === bob.sid),
      (r) => r !== undefined,
      "bob's reservation",
    );
    const reservationSid = offered?.sid ?? '';
    const bobLeg = tr.accept(reservationSid, bob.sid).workerCallSid;
    const [bobStream] = await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === bobLeg),
      (streams) => streams[0]?.status === 'in-progress',
      "bob's stream on bob's call",
    );
    expect(bobStream?.name).toBe(`fs-${reservationSid}-0`);
    // Alice's call still has exactly her one stream: bob's accept did not land on her leg.
    expect(emu.state().streams.filter((s) => s.callSid === aliceLeg)).toHaveLength(1);

    tr.completeTransfer({ taskSid: first.taskSid, workerSid: alice.sid });
    await waitFor(
      () => emu.state().streams.filter((s) => s.callSid === aliceLeg),
      (streams) => streams[0]?.status === 'stopped',
      "alice's stream stopped when she left",
    );
    expect(emu.state().streams.find((s) => s.sid === bobStream?.sid)?.status).toBe('in-progress');
    const segments = await waitFor(
      () => segmentsOf(customerCallSid),
      (list) => list.length === 2 && list[0]?.state === 'ended',
      'both segments, the first ended',
    );
    expect(segments.map((s) => [s.workerSid, s.workerCallSid, s.state])).toEqual([
      [alice.sid, aliceLeg, 'ended'],
      [bob.sid, bobLeg, 'active'],
    ]);
    tr.wrapup(reservationSid, bob.sid);
    await waitFor(
      () => segmentsOf(customerCallSid),
      (list) => list[1]?.state === 'ended',
      "bob's segment ended at wrap-up",
    );
  });
});
