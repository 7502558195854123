/**
 * The scenario engine: starts the stack, creates the agents and places the customer's call, runs
 * one scenario's script, waits for every stream and recording to finish, verifies, and returns a
 * JSON-ready result. Progress is reported as it happens, as timeline lines translated from the
 * emulator's event log and the receiver's events (who joined, which stream started, what was
 * recorded).
 */
import type { Sidecar } from '@flex-streams/receiver';
import type { EmulatorEvent } from '@flex-streams/emulator';
import type { Logger } from 'pino';
import { AGENTS, createContext, waitFor, type AgentName } from './context.js';
import { E2eError } from './errors.js';
import { findScenario } from './scenarios.js';
import { startStack, type Driver, type Leg, type Strategy } from './stack.js';
import {
  countDisruptions,
  countRequests,
  measureStreamEdges,
  recordingFrom,
  verify,
  type Check,
  type RecordingInfo,
  type StreamEdge,
} from './verify.js';

/** Options of {@link runScenario}. */
export interface RunOptions {
  readonly strategy?: Strategy;
  readonly leg?: Leg;
  /** Default `taskrouter`, except `plugin` for the worker leg (see {@link defaultDriver}). */
  readonly driver?: Driver;
  /** Where recordings go (kept); default a temporary folder removed at the end. */
  readonly recordingsDir?: string;
  /** Receives each timeline line as it happens. */
  readonly onProgress?: (line: string) => void;
  readonly logger?: Logger;
  /** Extra controller variables (see `StackOptions.serviceEnv`). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
}

/** One segment in the result. */
export interface SegmentSummary {
  readonly id: string;
  readonly agent: string;
  readonly workerSid: string;
  readonly reservationSid: string;
  readonly state: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly recordings: readonly string[];
}

/** What a scenario run produced: the JSON document `flex-streams demo --json` prints. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly strategy: Strategy;
  readonly leg: Leg;
  readonly driver: Driver;
  readonly ok: boolean;
  readonly customerCallSid: string;
  readonly taskSid: string;
  readonly segments: readonly SegmentSummary[];
  readonly recordings: readonly {
    path: string;
    streamName: string | null;
    durationMs: number;
    channels: number;
    startedAt: string;
    endedAt: string | null;
  }[];
  readonly recordingsDir: string;
  readonly twilioRequests: { total: number; byOperation: Record<string, number> };
  readonly customerDisruptions: number;
  readonly customerHoldChanges: number;
  readonly checks: readonly Check[];
  /** Each stream edge against its segment's, as the `stream-timing` check measured them. */
  readonly streamEdges: readonly StreamEdge[];
  readonly timeline: readonly string[];
}

/**
 * The driver a leg needs: TaskRouter's events do not name the agent's call leg, so the worker leg
 * is driven by the plugin API, which sends `workerCallSid` (packages/server README).
 */
export function defaultDriver(leg: Leg): Driver {
  return leg === 'worker' ? 'plugin' : 'taskrouter';
}

/**
 * Refuses what cannot run together: the twiml strategy redirects the customer leg only (a worker
 * leg must never get new TwiML, issue 5). Every driver works with both legs: with the TaskRouter
 * driver the controller finds the agent's call leg itself.
 */
export function validateCombination(strategy: Strategy, leg: Leg): void {
  if (strategy === 'twiml' && leg === 'worker')
    throw new E2eError(
      'FS_E2E_INVALID_COMBINATION',
      'the twiml strategy only streams the customer leg (a worker leg must never get new TwiML): use --strategy rest with --leg worker',
    );
}

const field = (event: EmulatorEvent, key: string): unknown =>
  (event as unknown as Record<string, unknown>)[key];

/** Runs one scenario end to end and verifies it. Throws `FS_E2E_*` for bad names or combos. */
export async function runScenario(name: string, options: RunOptions = {}): Promise<ScenarioResult> {
  const scenario = findScenario(name);
  if (scenario === undefined)
    throw new E2eError('FS_E2E_UNKNOWN_SCENARIO', `unknown scenario '${name}'`);
  const strategy = options.strategy ?? 'rest';
  const leg = options.leg ?? 'customer';
  const driver = options.driver ?? defaultDriver(leg);
  validateCombination(strategy, leg);

  const began = Date.now();
  const timeline: string[] = [];
  const line = (text: string): void => {
    const entry = `+${((Date.now() - began) / 1000).toFixed(2)}s  ${text}`;
    timeline.push(entry);
    options.onProgress?.(entry);
  };
  const stack = await startStack({
    strategy,
    leg,
    driver,
    ...(options.recordingsDir === undefined ? {} : { recordingsDir: options.recordingsDir }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.serviceEnv === undefined ? {} : { serviceEnv: options.serviceEnv }),
  });
  const emu = stack.emulator;
  const sidecars = new Map<string, Sidecar>();
  const recordings: RecordingInfo[] = [];
  let receiverStarted = 0;
  const names = new Map<string, string>();
  const offStarted = stack.receiver.events.on('streamStarted', (event) => {
    receiverStarted += 1;
    line(`receiver: recording ${event.streamName ?? event.streamSid} → ${event.wavPath}`);
  });
  const offStopped = stack.receiver.events.on('streamStopped', (event) => {
    sidecars.set(event.wavPath, event.sidecar);
    recordings.push(recordingFrom(event.wavPath, event.sidecarPath, event.sidecar));
    line(
      `receiver: recorded ${event.sidecar.streamName ?? event.streamSid}: ${(event.sidecar.durationMs / 1000).toFixed(2)} s, ${event.sidecar.tracks.join('+')} (${event.endReason})`,
    );
  });
  let seen = emu.events().at(-1)?.seq ?? 0;
  const setupSeq = seen;
  const who = (callSid: unknown): string => {
    const sid = typeof callSid === 'string' ? callSid : '';
    return names.get(sid) ?? sid;
  };
  const text = (ev: EmulatorEvent, key: string): string => {
    const value = field(ev, key);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  };
  const describers: Partial<Record<string, (ev: EmulatorEvent) => string | null>> = {
    'conference.join': (ev) => `${who(field(ev, 'callSid'))} joined the conference`,
    'conference.leave': (ev) =>
      `${who(field(ev, 'callSid'))} left the conference (${text(ev, 'reason')})`,
    'conference.hold': (ev) => `${who(field(ev, 'callSid'))} is on hold`,
    'conference.unhold': (ev) => `${who(field(ev, 'callSid'))} is off hold`,
    'conference.end': (ev) => `the conference ended (${text(ev, 'reason')})`,
    'stream.started': (ev) =>
      `stream ${text(ev, 'name')} started on ${who(field(ev, 'callSid'))}'s leg`,
    'stream.stopped': (ev) => `stream ${text(ev, 'name')} stopped (${text(ev, 'via')})`,
    'stream.error': (ev) => `stream ${text(ev, 'name')} failed: ${text(ev, 'message')}`,
    'rest.request': (ev) => `Twilio API: ${text(ev, 'operation')} → ${text(ev, 'status')}`,
    'taskrouter.event': (ev) => {
      const type = text(ev, 'eventType');
      if (!type.startsWith('reservation.') || type === 'reservation.created') return null;
      return `TaskRouter: ${type} (${who(field(ev, 'workerSid'))})`;
    },
    'call.status': (ev) =>
      field(ev, 'callSid') === customerCallSid && field(ev, 'status') === 'completed'
        ? 'the customer call completed'
        : null,
  };
  const describe = (ev: EmulatorEvent): string | null => describers[ev.type]?.(ev) ?? null;
  let customerCallSid = '';
  const poll = (): void => {
    // Worker legs get their names once their reservation knows them.
    for (const r of emu.state().taskrouter.reservations) {
      const agent = names.get(r.workerSid);
      if (r.workerCallSid !== null && agent !== undefined && !names.has(r.workerCallSid))
        names.set(r.workerCallSid, agent);
    }
    for (const ev of emu.events(seen)) {
      seen = ev.seq;
      const described = describe(ev);
      if (described !== null) line(described);
    }
  };
  const ticker = setInterval(poll, 100);

  let hangupSeq = Number.POSITIVE_INFINITY;
  const ownRequests: Record<string, number> = {};
  try {
    const workers = {} as Record<AgentName, string>;
    AGENTS.forEach((agent) => {
      const spec = scenario.agents.find((a) => a.name === agent);
      const created = emu.taskrouter.createWorker({
        friendlyName: `agent-${agent}`,
        identity: `agent-${agent.toLowerCase()}`,
        // Agents a scenario does not use stay Offline, so no queue offers them the task.
        activity: spec === undefined ? 'Offline' : 'Available',
        queues: spec?.queues ?? ['Unused'],
      });
      workers[agent] = created.sid;
      names.set(created.sid, `agent ${agent}`);
    });
    line(
      `scenario ${scenario.name} (${strategy}, ${leg} leg, ${driver} driver): ${scenario.summary}`,
    );
    line(`recordings go to ${stack.recordingsDir}`);
    const { callSid } = emu.taskrouter.placeQueuedCall({
      from: '+15550100001',
      to: '+15550100002',
    });
    customerCallSid = callSid;
    names.set(callSid, 'customer');
    line(`the customer calls (${callSid}) and waits in the queue`);
    const task = await waitFor(
      () => emu.state().taskrouter.tasks.find((t) => t.customerCallSid === callSid),
      (t) => t !== undefined,
      'the task of the customer call',
    );
    const taskSid = task?.sid ?? '';
    const ctx = createContext({
      stack,
      workers,
      customerCallSid: callSid,
      taskSid,
      note: (text) => {
        poll();
        line(text);
      },
      onCustomerHangup: (seq) => {
        hangupSeq = seq;
      },
      ownRequests,
    });
    await scenario.run(ctx);

    // Every stream stopped, and every connected stream's recording finished.
    await waitFor(
      () => emu.state().streams,
      (streams) => streams.every((s) => s.status === 'stopped'),
      'every stream to stop',
    );
    await waitFor(
      () => recordings.length,
      (n) => n >= receiverStarted,
      'every recording to be finished',
    );
    await stack.receiver.idle();
    // The controller may still be finishing a stop (a twiml redirect, a retry); give it a bounded
    // while, then let "no-stream-left-running" report whatever is still live.
    await waitFor(
      () => ctx.segments(),
      (list) =>
        list.every((s) =>
          s.streams.every((st) => st.state !== 'starting' && st.state !== 'streaming'),
        ),
      'the controller to settle every stream',
      10_000,
    ).catch(() => undefined);
    poll();
    // A reservation canceled before it was accepted leaves the controller a segment that never
    // started (kept so out-of-order events end right): no agent took part, nothing to record.
    const all = await ctx.segments();
    const segments = all.filter((s) => s.startedAt !== null);
    if (all.length > segments.length)
      line(
        `${all.length - segments.length} reservation(s) ended before being accepted (no segment)`,
      );
    const state = emu.state();
    const events = emu.events(setupSeq);
    const agentNames: Record<string, string> = {};
    for (const agent of AGENTS) agentNames[workers[agent]] = agent;
    const checks = await verify({
      strategy,
      leg,
      customerCallSid: callSid,
      taskSid,
      expectedWorkers: scenario.segments.map((a) => workers[a]),
      recordingsPerSegment: scenario.recordingsPerSegment ?? scenario.segments.map(() => 1),
      agentNames,
      segments,
      recordings,
      sidecars,
      ownRequests,
      state,
      events,
      hangupSeq,
    });
    const disruptions = countDisruptions(
      events.filter((ev) => ev.seq <= hangupSeq),
      callSid,
    );
    const iso = (ms: number | null): string | null =>
      ms === null ? null : new Date(ms).toISOString();
    return {
      scenario: scenario.name,
      strategy,
      leg,
      driver,
      ok: checks.every((c) => c.ok),
      customerCallSid: callSid,
      taskSid,
      segments: segments.map((s) => ({
        id: s.id,
        agent: agentNames[s.workerSid] ?? s.workerSid,
        workerSid: s.workerSid,
        reservationSid: s.reservationSid,
        state: s.state,
        startedAt: iso(s.startedAt),
        endedAt: iso(s.endedAt),
        recordings: recordings
          .filter((r) => r.reservationSid === s.reservationSid)
          .sort((x, y) => (x.continuation ?? 0) - (y.continuation ?? 0))
          .map((r) => r.path),
      })),
      recordings: recordings.map((r) => ({
        path: r.path,
        streamName: r.streamName,
        durationMs: r.durationMs,
        channels: r.channels,
        startedAt: new Date(r.startedAt).toISOString(),
        endedAt: iso(r.endedAt),
      })),
      recordingsDir: stack.recordingsDir,
      twilioRequests: countRequests(events, ownRequests),
      customerDisruptions: disruptions.leaves,
      customerHoldChanges: disruptions.holdChanges,
      streamEdges: measureStreamEdges(segments, events, agentNames),
      checks,
      timeline,
    };
  } finally {
    clearInterval(ticker);
    offStarted();
    offStopped();
    await stack.close();
  }
}
