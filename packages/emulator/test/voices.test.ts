/**
 * Every party of one emulator — customer calls and workers alike — gets its own voice from one
 * allocator, so a test can tell from decoded audio alone who is heard where (style guide §11). An
 * agent's own call leg speaks with its worker's voice; running out of distinct voices is logged,
 * never silent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VOICE_FREQUENCIES_HZ, startEmulator, type Emulator } from '../src/index.js';
import { ok, pendingReservation, queuedCall, worker } from './helpers/flex.js';

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const longCall = '<Response><Pause length="60"/></Response>';

async function call(e: Emulator): Promise<string> {
  const { callSid } = await e.placeInboundCall({
    from: '+15550100',
    to: '+15550199',
    twiml: longCall,
  });
  return callSid;
}

/** Every party's voice: calls by CallSid, workers by WorkerSid. */
function voices(e: Emulator): Map<string, number> {
  const state = e.state();
  const map = new Map<string, number>();
  for (const c of state.calls) map.set(c.sid, c.voice.frequencyHz);
  for (const w of state.taskrouter.workers) map.set(w.sid, w.voiceHz);
  return map;
}

describe('party voices', () => {
  it('gives 16 interleaved calls and workers 16 distinct voices, then logs every reuse of a voice', async () => {
    emu = await startEmulator();
    const e = emu;
    const parties: string[] = [];
    // One worker first, then calls: with separate tables the ninth call sounded like the worker.
    parties.push(await worker(e, 'w0', 'voices'));
    for (let i = 0; i < 9; i++) parties.push(await call(e));
    for (let i = 1; i < 4; i++) {
      parties.push(await worker(e, `w${i}`, 'voices'));
      parties.push(await call(e));
    }
    expect(parties).toHaveLength(16);
    const first = voices(e);
    const distinct = new Set(parties.map((sid) => first.get(sid)));
    expect(distinct.size).toBe(16);
    for (const hz of distinct) expect(VOICE_FREQUENCIES_HZ).toContain(hz);
    expect(e.events().filter((ev) => ev.type === 'voice.reused')).toEqual([]);

    // Four more parties than the table holds: each still gets a voice, and each reuse is logged
    // with who already speaks with it.
    const extra = [await call(e), await worker(e, 'w4', 'voices'), await call(e), await call(e)];
    const after = voices(e);
    const reused = e.events().filter((ev) => ev.type === 'voice.reused');
    expect(reused.map((ev) => ev.party)).toEqual(extra);
    for (const ev of reused) {
      expect(ev.frequencyHz).toBe(after.get(String(ev.party)));
      expect(ev.sharedWith).toEqual(parties.filter((sid) => after.get(sid) === ev.frequencyHz));
    }
  });

  it("gives an agent's call leg its worker's voice, without spending a voice on it", async () => {
    emu = await startEmulator();
    const e = emu;
    const a = await worker(e, 'agent-a', 'legs');
    const { callSid: customer, taskSid } = await queuedCall(e, 'legs');
    const reservation = await pendingReservation(e, taskSid, a);
    await ok(e, `reservations/${reservation}/accept`, { workerSid: a });
    const state = e.state();
    const leg = state.taskrouter.reservations.find((r) => r.sid === reservation)?.workerCallSid;
    const all = voices(e);
    expect(leg).toBeTruthy();
    expect(all.get(String(leg))).toBe(all.get(a));
    expect(all.get(customer)).not.toBe(all.get(a));
    // The next party gets the third voice of the table: the leg took none.
    const next = await call(e);
    expect(voices(e).get(next)).toBe(VOICE_FREQUENCIES_HZ[2]);
  });

  it('never hands out a table voice that a party was given explicitly', async () => {
    emu = await startEmulator();
    const e = emu;
    const explicit = VOICE_FREQUENCIES_HZ[0] ?? 0;
    const { callSid: chosen } = await e.placeInboundCall({
      from: '+15550100',
      to: '+15550199',
      twiml: longCall,
      voiceHz: explicit,
    });
    const w = await worker(e, 'after-explicit', 'explicit');
    const c = await call(e);
    const all = voices(e);
    expect(all.get(chosen)).toBe(explicit);
    expect(all.get(w)).toBe(VOICE_FREQUENCIES_HZ[1]);
    expect(all.get(c)).toBe(VOICE_FREQUENCIES_HZ[2]);
  });
});
