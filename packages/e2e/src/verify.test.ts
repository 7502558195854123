import type { Segment } from '@flex-streams/core';
import type { EmulatorEvent, EmulatorState } from '@flex-streams/emulator';
import { describe, expect, it } from 'vitest';
import { countDisruptions, countRequests, holdIntervals, verify, type Evidence } from './verify.js';

const CUSTOMER = `CA${'1'.repeat(32)}`;
const TASK = `WT${'2'.repeat(32)}`;
const WORKER = `WK${'3'.repeat(32)}`;
const RESERVATION = `WR${'4'.repeat(32)}`;

let seq = 0;
/** One event of the emulator's log (the fields the checks read). */
function event(type: string, fields: Record<string, unknown> = {}): EmulatorEvent {
  seq += 1;
  return { seq, at: new Date(0).toISOString(), type, ...fields };
}

function segment(overrides: Partial<Segment> = {}): Segment {
  return {
    id: 'SG1',
    version: 3,
    index: 0,
    previousSegmentId: null,
    customerCallSid: CUSTOMER,
    taskSid: TASK,
    reservationSid: RESERVATION,
    workerSid: WORKER,
    conferenceSid: null,
    workerCallSid: null,
    transferMode: 'none',
    state: 'ended',
    startedAt: 1_000,
    endedAt: 5_000,
    endReason: null,
    pauses: [],
    streams: [],
    errors: [],
    ...overrides,
  };
}

/** Evidence of a call the customer hung up at seq `hangupSeq`, with `events` and no recording. */
function evidence(events: EmulatorEvent[], overrides: Partial<Evidence> = {}): Evidence {
  const state = {
    accountSid: `AC${'0'.repeat(32)}`,
    calls: [{ sid: CUSTOMER, status: 'completed', voice: { frequencyHz: 600 } }],
    conferences: [],
    streams: [],
    taskrouter: { workers: [{ sid: WORKER, voiceHz: 750 }] },
  } as unknown as EmulatorState;
  return {
    strategy: 'rest',
    leg: 'customer',
    customerCallSid: CUSTOMER,
    taskSid: TASK,
    expectedWorkers: [WORKER],
    recordingsPerSegment: [1],
    agentNames: { [WORKER]: 'A' },
    segments: [segment()],
    recordings: [],
    sidecars: new Map(),
    ownRequests: {},
    state,
    events,
    hangupSeq: 100,
    ...overrides,
  };
}

const named = async (e: Evidence, name: string) => (await verify(e)).find((c) => c.name === name);

describe('verify', () => {
  it('customer-never-dropped fails when the conference ended before the customer hung up', async () => {
    const events = [event('conference.end', { friendlyName: TASK, reason: 'x' })];
    expect((await named(evidence(events), 'customer-never-dropped'))?.ok).toBe(false);
    expect((await named(evidence([]), 'customer-never-dropped'))?.ok).toBe(true);
    const hungUpEarly = [event('call.status', { callSid: CUSTOMER, status: 'completed' })];
    expect((await named(evidence(hungUpEarly), 'customer-never-dropped'))?.ok).toBe(false);
  });

  it('twilio-requests fails when the rest strategy redirects the customer', async () => {
    const stream = {
      continuation: 0,
      name: `fs-${RESERVATION}-0`,
      state: 'stopped',
      sid: `MZ${'5'.repeat(32)}`,
    };
    const segments = [segment({ streams: [stream] as Segment['streams'] })];
    const clean = [
      event('rest.request', { operation: 'CreateStream' }),
      event('rest.request', { operation: 'UpdateStream' }),
    ];
    expect((await named(evidence(clean, { segments }), 'twilio-requests'))?.ok).toBe(true);
    const redirect = [...clean, event('rest.request', { operation: 'UpdateCall' })];
    expect((await named(evidence(redirect, { segments }), 'twilio-requests'))?.ok).toBe(false);
    // A request the scenario made itself is not the controller's.
    expect(
      (
        await named(
          evidence(redirect, { segments, ownRequests: { UpdateCall: 1 } }),
          'twilio-requests',
        )
      )?.ok,
    ).toBe(true);
  });

  it('customer-disruptions counts leaves other than the conference ending; rest allows none', async () => {
    const events = [
      event('conference.leave', { callSid: CUSTOMER, reason: 'participant_updated_via_api' }),
      event('conference.leave', { callSid: CUSTOMER, reason: 'conference_ended' }),
      event('conference.hold', { callSid: CUSTOMER }),
    ];
    expect(countDisruptions(events, CUSTOMER)).toEqual({ leaves: 1, holdChanges: 1 });
    expect((await named(evidence(events), 'customer-disruptions'))?.ok).toBe(false);
    expect((await named(evidence(events, { strategy: 'twiml' }), 'customer-disruptions'))?.ok).toBe(
      false,
    );
  });

  it('no-stream-left-running fails on a live segment or a live emulator stream', async () => {
    expect((await named(evidence([]), 'no-stream-left-running'))?.ok).toBe(true);
    const open = evidence([], { segments: [segment({ state: 'active', endedAt: null })] });
    expect((await named(open, 'no-stream-left-running'))?.ok).toBe(false);
  });

  it('one-segment-per-agent and one-recording-per-segment fail for a missing agent or recording', async () => {
    const e = evidence([], { expectedWorkers: [WORKER, `WK${'9'.repeat(32)}`] });
    expect((await named(e, 'one-segment-per-agent'))?.ok).toBe(false);
    expect((await named(evidence([]), 'one-recording-per-segment'))?.ok).toBe(false);
  });

  it('countRequests skips excluded operations once each', () => {
    const events = [
      event('rest.request', { operation: 'CreateStream' }),
      event('rest.request', { operation: 'UpdateParticipant' }),
      event('rest.request', { operation: 'UpdateParticipant' }),
    ];
    expect(countRequests(events, { UpdateParticipant: 1 })).toEqual({
      total: 2,
      byOperation: { CreateStream: 1, UpdateParticipant: 1 },
    });
  });

  it('holdIntervals: from hold to unhold, or to a leave (a rejoin is unheld), or open', () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const events = [
      { ...event('conference.hold', { callSid: CUSTOMER }), at: at(1_000) },
      { ...event('conference.unhold', { callSid: CUSTOMER }), at: at(2_000) },
      { ...event('conference.hold', { callSid: CUSTOMER }), at: at(3_000) },
      { ...event('conference.leave', { callSid: CUSTOMER }), at: at(3_500) },
      { ...event('conference.hold', { callSid: `CA${'8'.repeat(32)}` }), at: at(3_600) },
      { ...event('conference.hold', { callSid: CUSTOMER }), at: at(4_000) },
    ];
    expect(holdIntervals(events, CUSTOMER)).toEqual([
      { from: 1_000, to: 2_000 },
      { from: 3_000, to: 3_500 },
      { from: 4_000, to: Number.POSITIVE_INFINITY },
    ]);
  });
});
