/**
 * Verification of one scenario run from what an outsider can see: the recordings on disk (WAV and
 * sidecar, decoded and checked by content with the emulator's tone detectors, style §11), the
 * emulator's state and ordered event log (packages/emulator README "Event log", "Counting what a
 * strategy cost"), and the controller's segments.
 */
import { readFile } from 'node:fs/promises';
import { STREAM_PARAMETER_KEYS, type Segment } from '@flex-streams/core';
import {
  decodeMulaw,
  detectTonesByWindow,
  SOUNDS,
  type EmulatorEvent,
  type EmulatorState,
} from '@flex-streams/emulator';
import { readWavHeader, WAV_HEADER_BYTES, type Sidecar } from '@flex-streams/receiver';
import type { Leg, Strategy } from './stack.js';

/** One verification: a name, whether it held, and what was seen. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A recording the receiver finished. */
export interface RecordingInfo {
  readonly path: string;
  readonly sidecarPath: string;
  readonly streamName: string | null;
  readonly reservationSid: string | null;
  readonly continuation: number | null;
  readonly durationMs: number;
  readonly channels: number;
  readonly startedAt: number;
  readonly endedAt: number | null;
}

/** Everything the checks read. */
export interface Evidence {
  readonly strategy: Strategy;
  readonly leg: Leg;
  readonly customerCallSid: string;
  readonly taskSid: string;
  /** Worker SIDs, in the order the scenario expects segments. */
  readonly expectedWorkers: readonly string[];
  readonly recordingsPerSegment: readonly number[];
  /** Agent name of each worker SID, for messages. */
  readonly agentNames: Readonly<Record<string, string>>;
  readonly segments: readonly Segment[];
  readonly recordings: readonly RecordingInfo[];
  readonly sidecars: ReadonlyMap<string, Sidecar>;
  readonly state: EmulatorState;
  /** Events since the stack was set up (the controller's requests only). */
  readonly events: readonly EmulatorEvent[];
  /** REST requests the scenario made itself (excluded from the controller's count). */
  readonly ownRequests: Readonly<Record<string, number>>;
  /** Event-log seq just before the customer hung up (Infinity if they never did). */
  readonly hangupSeq: number;
}

/**
 * How far a recording's start or end may be from its segment's. The receiver stamps `start` when
 * it arrives, after the controller's request, the emulator's dial-out and the WebSocket upgrade;
 * issue 5 holds the controller's own stream times to ±200 ms, the recording adds the transport on
 * a loaded 2-core machine.
 */
export const WINDOW_TOLERANCE_MS = 1_000;
/**
 * Issue 5: each segment has its stream for exactly its time, ± 200 ms. Measured between the
 * controller's segment times and the emulator's log of the fork (`stream.started`,
 * `stream.stopped`): one machine, one clock.
 */
export const STREAM_TIMING_MS = 200;
/** Detection window (ms): 800 samples, well above the 160 needed to separate the tones. */
const WINDOW_MS = 100;
/** Windows this close to a segment's edge may hear a party who just joined or left. */
const EDGE_MS = 500;
/** Share of inbound windows that must carry the leg's own voice (beeps and joins aside). */
const INBOUND_PRESENCE = 0.6;

const field = (event: EmulatorEvent, key: string): unknown =>
  (event as unknown as Record<string, unknown>)[key];

/** Decoded samples of one channel (0-based) of a receiver WAV. */
async function channelSamples(path: string, channel: number): Promise<Int16Array> {
  const file = await readFile(path);
  const header = readWavHeader(file.subarray(0, WAV_HEADER_BYTES));
  const channels = header?.channels ?? 1;
  const data = file.subarray(WAV_HEADER_BYTES);
  const frames = Math.floor(data.length / channels);
  const mono = new Uint8Array(frames);
  for (let i = 0; i < frames; i += 1) mono[i] = data[i * channels + channel] ?? 0xff;
  return decodeMulaw(mono);
}

/** The parties' voices: the customer's call voice and each worker's. */
function voices(evidence: Evidence): { customerHz: number; workerHz: Map<string, number> } {
  const customer = evidence.state.calls.find((c) => c.sid === evidence.customerCallSid);
  const workerHz = new Map<string, number>();
  for (const w of evidence.state.taskrouter.workers) workerHz.set(w.sid, w.voiceHz);
  return { customerHz: customer?.voice.frequencyHz ?? 0, workerHz };
}

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

/** Runs every check of issue 6 on the evidence. */
export async function verify(evidence: Evidence): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push(customerNotDropped(evidence));
  checks.push(segmentsAsExpected(evidence));
  checks.push(...recordingsPerSegment(evidence));
  checks.push(...(await voicesInRecordings(evidence)));
  checks.push(await heldCustomerPrivacy(evidence));
  checks.push(noStreamLeftRunning(evidence));
  checks.push(streamTiming(evidence));
  checks.push(twilioRequests(evidence));
  checks.push(customerDisruptionsCheck(evidence));
  return checks;
}

/** The customer's call and conference end only after the customer hung up. */
function customerNotDropped(e: Evidence): Check {
  const early = e.events.filter(
    (ev) =>
      ev.seq <= e.hangupSeq &&
      ((ev.type === 'call.status' &&
        field(ev, 'callSid') === e.customerCallSid &&
        ['completed', 'canceled', 'failed', 'busy', 'no-answer'].includes(
          String(field(ev, 'status')),
        )) ||
        (ev.type === 'conference.end' && field(ev, 'friendlyName') === e.taskSid)),
  );
  if (early.length > 0) {
    return check(
      'customer-never-dropped',
      false,
      `before the customer hung up: ${early.map((ev) => `${ev.type} #${ev.seq}`).join(', ')}`,
    );
  }
  const status = e.state.calls.find((c) => c.sid === e.customerCallSid)?.status;
  return check(
    'customer-never-dropped',
    e.hangupSeq !== Number.POSITIVE_INFINITY && status === 'completed',
    `the customer's call stayed up until they hung up (event #${e.hangupSeq}); now ${status ?? 'unknown'}`,
  );
}

/** One segment per expected agent, in order. */
function segmentsAsExpected(e: Evidence): Check {
  const got = e.segments.map((s) => e.agentNames[s.workerSid] ?? s.workerSid);
  const want = e.expectedWorkers.map((w) => e.agentNames[w] ?? w);
  return check(
    'one-segment-per-agent',
    got.join(',') === want.join(','),
    `segments of agents [${got.join(', ')}], expected [${want.join(', ')}]`,
  );
}

/** Recordings of a segment, by continuation. */
function recordingsOf(e: Evidence, segment: Segment): RecordingInfo[] {
  return e.recordings
    .filter((r) => r.reservationSid === segment.reservationSid)
    .sort((x, y) => (x.continuation ?? 0) - (y.continuation ?? 0));
}

/** Each segment: its recordings (one per stream run), covering its time window. */
function recordingsPerSegment(e: Evidence): Check[] {
  const checks: Check[] = [];
  const problems: string[] = [];
  const windows: string[] = [];
  e.segments.forEach((segment, i) => {
    const who = e.agentNames[segment.workerSid] ?? segment.workerSid;
    const recs = recordingsOf(e, segment);
    const want = e.recordingsPerSegment[i] ?? 1;
    const names = segment.streams.filter((s) => s.sid !== null).map((s) => s.name);
    const recorded = recs.map((r) => r.streamName ?? '?');
    if (recs.length !== want || names.join(',') !== recorded.join(',')) {
      problems.push(
        `${who}: ${recs.length} recording(s) [${recorded.join(', ')}], expected ${want} for streams [${names.join(', ')}]`,
      );
    }
    const first = recs[0];
    const last = recs.at(-1);
    if (first === undefined || last === undefined) return;
    const startDelta = segment.startedAt === null ? NaN : first.startedAt - segment.startedAt;
    const endDelta =
      segment.endedAt === null || last.endedAt === null ? NaN : last.endedAt - segment.endedAt;
    const fits =
      Math.abs(startDelta) <= WINDOW_TOLERANCE_MS && Math.abs(endDelta) <= WINDOW_TOLERANCE_MS;
    const overlapping = recs.some(
      (r, j) => j > 0 && (recs[j - 1]?.endedAt ?? Infinity) > r.startedAt + WINDOW_MS,
    );
    windows.push(
      `${who}: start ${startDelta.toFixed(0)} ms, end ${endDelta.toFixed(0)} ms from the segment${fits && !overlapping ? '' : ' (OUT)'}`,
    );
    if (!fits || overlapping) problems.push(`${who}: recording window does not match the segment`);
  });
  const orphans = e.recordings.filter(
    (r) => !e.segments.some((s) => s.reservationSid === r.reservationSid),
  );
  checks.push(
    check(
      'one-recording-per-segment',
      problems.filter((p) => !p.includes('window')).length === 0 && orphans.length === 0,
      [
        ...problems.filter((p) => !p.includes('window')),
        ...orphans.map((o) => `recording of no segment: ${o.path}`),
      ].join('; ') || `${e.recordings.length} recording(s), each of its segment's stream`,
    ),
  );
  checks.push(
    check(
      'recording-window-matches-segment',
      !problems.some((p) => p.includes('window')) && windows.length === e.segments.length,
      windows.join('; ') || 'no segment recorded',
    ),
  );
  return checks;
}

/**
 * Voices by content, window by window. Inbound: the streamed leg's own voice (the customer, or
 * the agent on the worker leg) and nobody else. Outbound: what that leg hears; the segment's agent
 * must be heard (customer leg), and no party may be heard who was not on the call then (agents
 * whose segment does not cover the window, the leg's own voice).
 */
async function voicesInRecordings(e: Evidence): Promise<Check[]> {
  const { customerHz, workerHz } = voices(e);
  const candidates = [
    customerHz,
    ...workerHz.values(),
    ...Object.values(SOUNDS).map((s) => s.frequencyHz),
  ];
  const inboundProblems: string[] = [];
  const outboundProblems: string[] = [];
  const inboundSeen: string[] = [];
  const outboundSeen: string[] = [];
  const nameOf = (hz: number): string => {
    if (hz === customerHz) return 'customer';
    for (const [sid, f] of workerHz) if (f === hz) return `agent ${e.agentNames[sid] ?? sid}`;
    return `${hz} Hz`;
  };
  for (const segment of e.segments) {
    const who = e.agentNames[segment.workerSid] ?? segment.workerSid;
    const ownHz = e.leg === 'customer' ? customerHz : (workerHz.get(segment.workerSid) ?? 0);
    let heardAgent = false;
    let heardCustomer = false;
    for (const rec of recordingsOf(e, segment)) {
      const sidecar = e.sidecars.get(rec.path);
      const inboundChannel = (sidecar?.channels.inbound ?? 1) - 1;
      const outboundChannel = sidecar?.channels.outbound;
      const inbound = detectTonesByWindow(
        await channelSamples(rec.path, inboundChannel),
        candidates,
        {
          windowMs: WINDOW_MS,
        },
      );
      const withOwn = inbound.filter((w) => w.tones.includes(ownHz)).length;
      const strangers = new Set(
        inbound.flatMap((w) => w.tones.filter((t) => t !== ownHz && isVoice(t))),
      );
      inboundSeen.push(
        `${rec.streamName ?? rec.path}: ${nameOf(ownHz)} in ${withOwn}/${inbound.length} windows`,
      );
      if (inbound.length === 0 || withOwn / inbound.length < INBOUND_PRESENCE)
        inboundProblems.push(
          `${rec.streamName}: ${nameOf(ownHz)} in only ${withOwn}/${inbound.length} inbound windows`,
        );
      if (strangers.size > 0)
        inboundProblems.push(
          `${rec.streamName}: inbound carries ${[...strangers].map(nameOf).join(', ')}`,
        );
      if (outboundChannel === undefined) continue;
      const outbound = detectTonesByWindow(
        await channelSamples(rec.path, outboundChannel - 1),
        candidates,
        { windowMs: WINDOW_MS },
      );
      const heard = new Set<string>();
      for (const w of outbound) {
        const at = rec.startedAt + w.startMs;
        for (const hz of w.tones.filter(isVoice)) {
          heard.add(nameOf(hz));
          if (hz === ownHz) {
            outboundProblems.push(
              `${rec.streamName}: the leg's own voice on outbound at +${w.startMs} ms`,
            );
            continue;
          }
          if (hz === customerHz) {
            heardCustomer = true;
            continue;
          }
          const speaker = [...workerHz].find(([, f]) => f === hz)?.[0];
          if (speaker === segment.workerSid) heardAgent = true;
          const onCall = e.segments.some(
            (s) =>
              s.workerSid === speaker &&
              s.startedAt !== null &&
              at >= s.startedAt - EDGE_MS &&
              at <= (s.endedAt ?? Infinity) + EDGE_MS,
          );
          if (!onCall)
            outboundProblems.push(
              `${rec.streamName}: ${nameOf(hz)} heard at +${w.startMs} ms while not on the call`,
            );
        }
      }
      outboundSeen.push(`${rec.streamName ?? rec.path}: [${[...heard].join(', ')}]`);
    }
    if (e.leg === 'customer' && !heardAgent && recordingsOf(e, segment).length > 0)
      outboundProblems.push(`agent ${who} never heard on the outbound of their own segment`);
    if (e.leg === 'worker' && !heardCustomer && recordingsOf(e, segment).length > 0)
      outboundProblems.push(`the customer never heard on the outbound of agent ${who}'s leg`);
  }
  return [
    check(
      'inbound-voice',
      inboundProblems.length === 0 && inboundSeen.length > 0,
      inboundProblems.length > 0
        ? dedupe(inboundProblems)
        : inboundSeen.join('; ') || 'no recording',
    ),
    check(
      'outbound-voices',
      outboundProblems.length === 0 && outboundSeen.length > 0,
      outboundProblems.length > 0
        ? dedupe(outboundProblems)
        : outboundSeen.join('; ') || 'no recording',
    ),
  ];

  function isVoice(hz: number): boolean {
    return hz === customerHz || [...workerHz.values()].includes(hz);
  }
}

/** The first few distinct problems, so a detail stays one readable line. */
function dedupe(problems: readonly string[]): string {
  const unique = [...new Set(problems)];
  return unique.slice(0, 6).join('; ') + (unique.length > 6 ? `; … ${unique.length - 6} more` : '');
}

/**
 * When the customer was on hold, from the event log: `conference.hold` until `conference.unhold`,
 * a leave (a rejoin comes back unheld, emulator README "Conference rules") or the end.
 */
export function holdIntervals(
  events: readonly EmulatorEvent[],
  customerCallSid: string,
): { from: number; to: number }[] {
  const intervals: { from: number; to: number }[] = [];
  let since: number | null = null;
  for (const ev of events) {
    if (field(ev, 'callSid') !== customerCallSid) continue;
    const at = Date.parse(ev.at);
    if (ev.type === 'conference.hold' && since === null) since = at;
    if ((ev.type === 'conference.unhold' || ev.type === 'conference.leave') && since !== null) {
      intervals.push({ from: since, to: at });
      since = null;
    }
  }
  if (since !== null) intervals.push({ from: since, to: Number.POSITIVE_INFINITY });
  return intervals;
}

/** Windows this far inside a hold interval are checked (joins and leaves settle meanwhile). */
const HOLD_MARGIN_MS = 300;

/**
 * A held customer hears hold music only, and is not heard (facts §4; emulator README "Audio"):
 * on the customer leg no party's voice may be on the outbound channel while they are held (the
 * twiml strategy must put them back on hold after its redirects, or they would hear the agents
 * consult); on the worker leg the customer's voice may not reach the agent then.
 */
async function heldCustomerPrivacy(e: Evidence): Promise<Check> {
  const { customerHz, workerHz } = voices(e);
  const agentsHz = [...workerHz.values()];
  const forbidden = e.leg === 'customer' ? [customerHz, ...agentsHz] : [customerHz];
  const candidates = [customerHz, ...agentsHz, ...Object.values(SOUNDS).map((x) => x.frequencyHz)];
  const holds = holdIntervals(e.events, e.customerCallSid);
  let checked = 0;
  const problems: string[] = [];
  for (const rec of e.recordings) {
    const outbound = e.sidecars.get(rec.path)?.channels.outbound;
    if (outbound === undefined) continue;
    const windows = detectTonesByWindow(await channelSamples(rec.path, outbound - 1), candidates, {
      windowMs: WINDOW_MS,
    });
    for (const w of windows) {
      const from = rec.startedAt + w.startMs;
      const held = holds.some(
        (h) => from >= h.from + HOLD_MARGIN_MS && from + WINDOW_MS <= h.to - HOLD_MARGIN_MS,
      );
      if (!held) continue;
      checked += 1;
      const heard = w.tones.filter((t) => forbidden.includes(t));
      if (heard.length > 0)
        problems.push(`${rec.streamName ?? rec.path}: ${heard.join('+')} Hz at +${w.startMs} ms`);
    }
  }
  return check(
    'held-customer-private',
    problems.length === 0,
    problems.length > 0
      ? `voices while the customer was held: ${dedupe(problems)}`
      : `${holds.length} hold(s); ${checked} recorded window(s) during them carried no voice`,
  );
}

/** Nothing streams at the end: the emulator's streams and the controller's. */
function noStreamLeftRunning(e: Evidence): Check {
  const emulatorLive = e.state.streams.filter((s) => s.status !== 'stopped');
  const controllerLive = e.segments.flatMap((s) =>
    s.streams.filter((st) => st.state === 'starting' || st.state === 'streaming'),
  );
  const openSegments = e.segments.filter((s) => s.state !== 'ended');
  return check(
    'no-stream-left-running',
    emulatorLive.length === 0 && controllerLive.length === 0 && openSegments.length === 0,
    `emulator streams live: ${emulatorLive.length}, controller streams live: ${controllerLive.length}, segments not ended: ${openSegments.length}`,
  );
}

/** One stream edge measured against its segment: who, which edge, how far (ms, signed). */
export interface StreamEdge {
  readonly agent: string;
  readonly edge: 'start' | 'stop for the pause' | 'start at the resume' | 'stop';
  /** Emulator's fork time minus the controller's segment time; null when one is missing. */
  readonly deltaMs: number | null;
}

/**
 * Each segment's stream edges, by the emulator's log: the first run's start against the segment's
 * start (against its request, for a run that waited for the track budget or the agent's leg), a
 * run stopped for a pause against the pause, the next run against the resume, and the last run's
 * stop against the segment's end.
 */
export function measureStreamEdges(
  segments: readonly Segment[],
  events: readonly EmulatorEvent[],
  agentNames: Readonly<Record<string, string>> = {},
): StreamEdge[] {
  const at = new Map<string, { started?: number; stopped?: number }>();
  for (const ev of events) {
    if (ev.type !== 'stream.started' && ev.type !== 'stream.stopped') continue;
    const sid = String(field(ev, 'streamSid'));
    const entry = at.get(sid) ?? {};
    if (ev.type === 'stream.started') entry.started ??= Date.parse(ev.at);
    else entry.stopped ??= Date.parse(ev.at);
    at.set(sid, entry);
  }
  const edges: StreamEdge[] = [];
  const add = (
    agent: string,
    edge: StreamEdge['edge'],
    actual: number | undefined,
    ref: number | null,
  ) => {
    edges.push({
      agent,
      edge,
      deltaMs: actual === undefined || ref === null ? null : actual - ref,
    });
  };
  for (const segment of segments) {
    const agent = agentNames[segment.workerSid] ?? segment.workerSid;
    const runs = segment.streams.filter((s) => s.sid !== null);
    const first = runs[0];
    const last = runs.at(-1);
    if (first === undefined || last === undefined) continue;
    add(agent, 'start', at.get(first.sid ?? '')?.started, startReference(segment, first, events));
    runs.forEach((run, i) => {
      if (run.stopReason !== 'paused') return;
      const pause = segment.pauses.find(
        (p) => Math.abs(p.startedAt - (run.endedAt ?? 0)) <= STREAM_TIMING_MS,
      );
      add(agent, 'stop for the pause', at.get(run.sid ?? '')?.stopped, pause?.startedAt ?? null);
      const next = runs[i + 1];
      if (next !== undefined) {
        add(agent, 'start at the resume', at.get(next.sid ?? '')?.started, pause?.endedAt ?? null);
      }
    });
    if (last.stopReason !== 'paused' && last.stopReason !== 'stream-error') {
      add(agent, 'stop', at.get(last.sid ?? '')?.stopped, segment.endedAt);
    }
  }
  return edges;
}

/**
 * When a segment's first stream run should start: at the segment's start, unless it had to wait.
 * A run that waited for the track budget starts when it was asked for (the moment a slot freed);
 * one that waited for the agent's leg (twiml) when someone other than the customer joined the
 * task's conference after the segment began — not when it was finally asked for, which a late
 * retry would move along with it.
 */
function startReference(
  segment: Segment,
  run: Segment['streams'][number],
  events: readonly EmulatorEvent[],
): number | null {
  if (run.deferredFor === 'agent-leg' && segment.startedAt !== null) {
    const started = segment.startedAt;
    const join = events.find(
      (ev) =>
        ev.type === 'conference.join' &&
        field(ev, 'friendlyName') === segment.taskSid &&
        field(ev, 'callSid') !== segment.customerCallSid &&
        Date.parse(ev.at) >= started,
    );
    return join === undefined ? null : Math.max(started, Date.parse(join.at));
  }
  const waited = run.deferredFor !== null && run.deferredFor !== undefined;
  return waited || run.continuation > 0 ? run.requestedAt : segment.startedAt;
}

/** Every stream edge within {@link STREAM_TIMING_MS} of its segment's (issue 5). */
function streamTiming(e: Evidence): Check {
  const edges = measureStreamEdges(e.segments, e.events, e.agentNames);
  const problems = edges.flatMap((edge) =>
    edge.deltaMs === null
      ? [`${edge.agent}: no ${edge.edge} to measure`]
      : Math.abs(edge.deltaMs) > STREAM_TIMING_MS
        ? [`${edge.agent}: ${edge.edge} ${edge.deltaMs} ms off`]
        : [],
  );
  const worst = Math.max(0, ...edges.map((edge) => Math.abs(edge.deltaMs ?? 0)));
  return check(
    'stream-timing',
    problems.length === 0,
    problems.length > 0
      ? problems.join('; ')
      : `${edges.length} stream edge(s) within ${worst} ms of their segment's (limit ${STREAM_TIMING_MS} ms)`,
  );
}

/** Twilio REST requests the controller made, by operation. */
export function countRequests(
  events: readonly EmulatorEvent[],
  exclude: Readonly<Record<string, number>> = {},
): {
  total: number;
  byOperation: Record<string, number>;
} {
  const byOperation: Record<string, number> = {};
  const skip: Record<string, number> = { ...exclude };
  let total = 0;
  for (const ev of events) {
    if (ev.type !== 'rest.request') continue;
    const operation = field(ev, 'operation');
    const op = typeof operation === 'string' ? operation : 'unknown';
    if ((skip[op] ?? 0) > 0) {
      skip[op] = (skip[op] ?? 0) - 1;
      continue;
    }
    byOperation[op] = (byOperation[op] ?? 0) + 1;
    total += 1;
  }
  return { total, byOperation };
}

/**
 * Customer-leg disruptions (packages/emulator README "Counting what a strategy cost"): the
 * customer leaving the conference for any reason other than its end (a TwiML redirect is a leave
 * and a rejoin). Holds are Flex's own doing during transfers and are counted apart.
 */
export function countDisruptions(
  events: readonly EmulatorEvent[],
  customerCallSid: string,
): { leaves: number; holdChanges: number } {
  let leaves = 0;
  let holdChanges = 0;
  for (const ev of events) {
    if (field(ev, 'callSid') !== customerCallSid) continue;
    if (ev.type === 'conference.leave' && field(ev, 'reason') !== 'conference_ended') leaves += 1;
    if (ev.type === 'conference.hold' || ev.type === 'conference.unhold') holdChanges += 1;
  }
  return { leaves, holdChanges };
}

/** What each strategy may cost: rest one create and one stop per stream run and no call update. */
function twilioRequests(e: Evidence): Check {
  const { total, byOperation } = countRequests(e.events, e.ownRequests);
  const runs = e.segments.flatMap((s) => s.streams.filter((st) => st.sid !== null)).length;
  const summary = `${total} request(s): ${JSON.stringify(byOperation)} for ${runs} stream run(s)`;
  if (e.strategy === 'rest') {
    const ok =
      (byOperation.CreateStream ?? 0) === runs &&
      (byOperation.UpdateStream ?? 0) <= runs &&
      (byOperation.UpdateCall ?? 0) === 0 &&
      (byOperation.UpdateParticipant ?? 0) === 0;
    return check('twilio-requests', ok, summary);
  }
  const ok = (byOperation.CreateStream ?? 0) === 0 && (byOperation.UpdateCall ?? 0) >= runs;
  return check('twilio-requests', ok, summary);
}

/** rest never disturbs the customer; twiml redirects them at most twice per stream run. */
function customerDisruptionsCheck(e: Evidence): Check {
  const before = e.events.filter((ev) => ev.seq <= e.hangupSeq);
  const { leaves } = countDisruptions(before, e.customerCallSid);
  const runs = e.segments.flatMap((s) => s.streams.filter((st) => st.sid !== null)).length;
  const ok = e.strategy === 'rest' ? leaves === 0 : leaves <= 2 * runs;
  return check(
    'customer-disruptions',
    ok,
    `${leaves} customer leave(s)/rejoin(s) before hang-up for ${runs} stream run(s) (${e.strategy}: ${e.strategy === 'rest' ? 'none allowed' : 'at most 2 per run'})`,
  );
}

/** Reads the recording list from the receiver's sidecars. */
export function recordingFrom(
  wavPath: string,
  sidecarPath: string,
  sidecar: Sidecar,
): RecordingInfo {
  const name = sidecar.streamName;
  const continuation = sidecar.customParameters[STREAM_PARAMETER_KEYS.continuation];
  return {
    path: wavPath,
    sidecarPath,
    streamName: name,
    reservationSid: sidecar.customParameters[STREAM_PARAMETER_KEYS.reservationSid] ?? null,
    continuation: continuation === undefined ? null : Number(continuation),
    durationMs: sidecar.durationMs,
    channels: sidecar.tracks.length,
    startedAt: Date.parse(sidecar.startedAt),
    endedAt: sidecar.endedAt === null ? null : Date.parse(sidecar.endedAt),
  };
}
