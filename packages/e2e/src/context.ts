/**
 * What a scenario can do: the agent-desktop verbs of the emulator's Flex (accept, transfer,
 * complete transfer, hold, hang up, wrap up) and, with the plugin driver, what the flex-streams
 * plugin would send from each agent's browser (start on accept, stop on wrap-up, with the agent's
 * Flex token). Every step waits for its visible outcome (polling with a deadline) before the next
 * one, so scenarios are not timing-sensitive on a loaded machine.
 */
import type { Segment } from '@flex-streams/core';
import { emulatorHttpClient } from '@flex-streams/emulator';
import { PLUGIN_PATH } from '@flex-streams/server';
import { E2eError } from './errors.js';
import type { Stack } from './stack.js';
import twilio from 'twilio';

/** The agents of a scenario, in the order they are created (their voices follow that order). */
export const AGENTS = ['A', 'B', 'C', 'D'] as const;
/** An agent's name in a scenario. */
export type AgentName = (typeof AGENTS)[number];

/** Polls `read` until `done` holds; throws `FS_E2E_STEP_TIMEOUT` naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new E2eError('FS_E2E_STEP_TIMEOUT', `waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Lets the call run for `ms` (people talking): the only fixed wait a scenario has. */
export function talk(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The scenario's view of the call and the verbs it can use. */
export interface ScenarioContext {
  readonly stack: Stack;
  readonly customerCallSid: string;
  readonly taskSid: string;
  /** Worker SID of each agent. */
  readonly workers: Readonly<Record<AgentName, string>>;
  /** Lets everyone talk for `ms`. */
  talk(ms: number): Promise<void>;
  /** The agent accepts their pending reservation; resolves once their stream is streaming. */
  accept(agent: AgentName): Promise<void>;
  /** The agent transfers the task to another agent (WARM or COLD); waits for the offer. */
  transfer(from: AgentName, to: AgentName, mode: 'WARM' | 'COLD'): Promise<void>;
  /** The agent transfers the task to a queue; waits until some worker is offered it. */
  transferToQueue(from: AgentName, queue: string, mode: 'WARM' | 'COLD'): Promise<void>;
  /** The transferring agent leaves a warm transfer; resolves once their segment has ended. */
  completeTransfer(from: AgentName): Promise<void>;
  /** The agent holds or unholds the customer. */
  hold(by: AgentName, hold: boolean): Promise<void>;
  /** The agent's own leg hangs up; resolves once their segment has ended. */
  hangupAgent(agent: AgentName): Promise<void>;
  /**
   * The agent's desktop sets their leg's `endConferenceOnExit` to false through the REST API, as
   * Flex does before a cold transfer (emulator README "Transfers"), so that leaving does not end
   * the conference. Counted apart from the controller's requests.
   */
  keepConferenceWhenLeaving(agent: AgentName): Promise<void>;
  /** The customer hangs up (the only way a scenario ends the call). */
  hangupCustomer(): Promise<void>;
  /** Pause (PCI) through the plugin API; resolves once the stream has stopped. */
  pause(agent: AgentName): Promise<void>;
  /** Resume through the plugin API; resolves once the continuation is streaming. */
  resume(agent: AgentName): Promise<void>;
  /** Stops the controller service and starts a new one on the same data directory. */
  restartController(): Promise<void>;
  /** The controller's segments of the call (`GET /v1/calls/:callSid`). */
  segments(): Promise<Segment[]>;
  /** A line for the timeline. */
  note(text: string): void;
}

/** Everything {@link createContext} needs. */
export interface ContextDeps {
  readonly stack: Stack;
  readonly workers: Readonly<Record<AgentName, string>>;
  readonly customerCallSid: string;
  readonly taskSid: string;
  readonly note: (text: string) => void;
  /** Set by the engine when the customer hangs up (the event log's last seq then). */
  readonly onCustomerHangup: (seq: number) => void;
  /** Twilio REST requests the scenario itself made (not the controller), by operation. */
  readonly ownRequests: Record<string, number>;
}

/** Builds the scenario context over a running stack. */
export function createContext(deps: ContextDeps): ScenarioContext {
  const { stack, workers, customerCallSid, taskSid } = deps;
  const emu = stack.emulator;
  const tr = emu.taskrouter;
  const tokens = new Map<string, string>();
  /** Reservations the plugin driver has started and not yet stopped. */
  const pluginLive = new Set<string>();

  const tokenOf = (workerSid: string): string => {
    let token = tokens.get(workerSid);
    if (token === undefined) {
      token = tr.issueToken(workerSid).token;
      tokens.set(workerSid, token);
    }
    return token;
  };

  const plugin = async (workerSid: string, action: string, body: object): Promise<unknown> => {
    const response = await fetch(`${stack.service.url}${PLUGIN_PATH}/${action}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${tokenOf(workerSid)}`,
      },
      body: JSON.stringify(body),
    });
    const answer: unknown = await response.json();
    if (!response.ok) {
      throw new E2eError(
        'FS_E2E_STEP_FAILED',
        `plugin ${action} answered ${response.status}: ${JSON.stringify(answer)}`,
      );
    }
    return answer;
  };

  const segments = async (): Promise<Segment[]> => {
    const response = await fetch(`${stack.service.url}/v1/calls/${customerCallSid}`);
    if (response.status === 404) return [];
    return ((await response.json()) as { segments: Segment[] }).segments;
  };

  const reservations = () =>
    emu.state().taskrouter.reservations.filter((r) => r.taskSid === taskSid);

  const latestReservation = (workerSid: string) =>
    reservations()
      .filter((r) => r.workerSid === workerSid)
      .at(-1);

  const segmentOf = async (reservationSid: string): Promise<Segment | undefined> =>
    (await segments()).find((s) => s.reservationSid === reservationSid);

  /**
   * The plugin driver: what the plugin does on Flex's `afterWrapupTask` / `afterCompleteTask`
   * for every reservation it started that Flex has since ended.
   */
  const syncPluginStops = async (): Promise<void> => {
    if (stack.options.driver === 'taskrouter') return;
    for (const r of reservations()) {
      if (!pluginLive.has(r.sid) || r.status === 'accepted') continue;
      pluginLive.delete(r.sid);
      await plugin(r.workerSid, 'stop', { reservationSid: r.sid });
    }
  };

  const waitSegmentEnded = async (reservationSid: string, who: string): Promise<void> => {
    await waitFor(
      async () => {
        // Flex reports the wrap-up asynchronously: the plugin's stop follows whenever it shows.
        await syncPluginStops();
        return segmentOf(reservationSid);
      },
      (s) => s?.state === 'ended' && s.streams.every((st) => st.state !== 'streaming'),
      `the segment of ${who} to end`,
    );
  };

  const agentOf = (workerSid: string): string =>
    AGENTS.find((a) => workers[a] === workerSid) ?? workerSid;

  const streaming = async (reservationSid: string, continuation: number, who: string) => {
    await waitFor(
      () => segmentOf(reservationSid),
      (s) => s?.streams[continuation]?.state === 'streaming',
      `stream ${continuation} of ${who} to be streaming`,
    );
  };

  return {
    stack,
    customerCallSid,
    taskSid,
    workers,
    note: deps.note,
    segments,
    talk,
    async accept(agent) {
      const workerSid = workers[agent];
      const pending = await waitFor(
        () => latestReservation(workerSid),
        (r) => r?.status === 'pending',
        `a reservation offered to agent ${agent}`,
      );
      const reservationSid = pending?.sid ?? '';
      deps.note(`agent ${agent} accepts reservation ${reservationSid}`);
      tr.accept(reservationSid, workerSid);
      if (stack.options.driver !== 'taskrouter') {
        const reservation = latestReservation(workerSid);
        const task = emu.state().taskrouter.tasks.find((t) => t.sid === taskSid);
        pluginLive.add(reservationSid);
        await plugin(workerSid, 'start', {
          reservationSid,
          taskSid,
          customerCallSid,
          ...(task?.conferenceSid === null || task?.conferenceSid === undefined
            ? {}
            : { conferenceSid: task.conferenceSid }),
          ...(reservation?.workerCallSid === null || reservation?.workerCallSid === undefined
            ? {}
            : { workerCallSid: reservation.workerCallSid }),
        });
      }
      await streaming(reservationSid, 0, `agent ${agent}`);
    },
    async transfer(from, to, mode) {
      deps.note(`agent ${from} starts a ${mode} transfer to agent ${to}`);
      tr.transfer({ taskSid, workerSid: workers[from], to: workers[to], mode });
      await syncPluginStops();
      await waitFor(
        () => latestReservation(workers[to]),
        (r) => r?.status === 'pending',
        `the transfer offer to agent ${to}`,
      );
      if (mode === 'COLD') {
        const left = latestReservation(workers[from]);
        await waitSegmentEnded(left?.sid ?? '', `agent ${from}`);
      }
    },
    async transferToQueue(from, queue, mode) {
      const queueSid = tr.queueByName(queue)?.sid;
      if (queueSid === undefined) throw new E2eError('FS_E2E_STEP_FAILED', `no queue ${queue}`);
      deps.note(`agent ${from} starts a ${mode} transfer to queue ${queue}`);
      const before = reservations().length;
      tr.transfer({ taskSid, workerSid: workers[from], to: queueSid, mode });
      await waitFor(
        () => reservations(),
        (list) => list.length > before && list.at(-1)?.status === 'pending',
        `a worker of queue ${queue} to be offered the task`,
      );
      if (mode === 'COLD') {
        const left = latestReservation(workers[from]);
        await waitSegmentEnded(left?.sid ?? '', `agent ${from}`);
      }
    },
    async completeTransfer(from) {
      deps.note(`agent ${from} leaves the warm transfer (complete transfer)`);
      const reservation = latestReservation(workers[from]);
      tr.completeTransfer({ taskSid, workerSid: workers[from] });
      await waitSegmentEnded(reservation?.sid ?? '', `agent ${from}`);
    },
    async hold(by, hold) {
      deps.note(`agent ${by} ${hold ? 'holds' : 'unholds'} the customer`);
      tr.hold({ taskSid, workerSid: workers[by], hold });
      await waitFor(
        () =>
          emu
            .state()
            .conferences.flatMap((c) => c.participants)
            .find((p) => p.callSid === customerCallSid),
        (p) => p?.hold === hold,
        `the customer to be ${hold ? 'held' : 'unheld'}`,
      );
    },
    async keepConferenceWhenLeaving(agent) {
      const leg = latestReservation(workers[agent])?.workerCallSid;
      const conferenceSid = emu
        .state()
        .taskrouter.tasks.find((t) => t.sid === taskSid)?.conferenceSid;
      if (
        leg === null ||
        leg === undefined ||
        conferenceSid === null ||
        conferenceSid === undefined
      )
        throw new E2eError('FS_E2E_STEP_FAILED', `agent ${agent} has no leg in a conference`);
      deps.note(`agent ${agent}'s desktop sets their leg's endConferenceOnExit=false`);
      const client = twilio(emu.accountSid, emu.authToken, {
        httpClient: emulatorHttpClient(emu.url),
      });
      await client
        .conferences(conferenceSid)
        .participants(leg)
        .update({ endConferenceOnExit: false });
      deps.ownRequests.UpdateParticipant = (deps.ownRequests.UpdateParticipant ?? 0) + 1;
    },
    async hangupAgent(agent) {
      deps.note(`agent ${agent} hangs up their own leg`);
      const reservation = latestReservation(workers[agent]);
      tr.hangup({ taskSid, party: workers[agent] });
      await waitSegmentEnded(reservation?.sid ?? '', `agent ${agent}`);
    },
    async hangupCustomer() {
      deps.onCustomerHangup(emu.events().at(-1)?.seq ?? 0);
      deps.note('the customer hangs up');
      await emu.hangup(customerCallSid);
      await waitFor(
        () => reservations(),
        (list) => list.every((r) => r.status !== 'accepted' && r.status !== 'pending'),
        'every reservation of the task to leave accepted/pending',
      );
      await syncPluginStops();
      // Each agent finishes wrap-up (Flex's "Complete" button).
      for (const r of reservations()) {
        if (r.status === 'wrapping') {
          deps.note(`agent ${agentOf(r.workerSid)} completes the task`);
          tr.complete(r.sid, r.workerSid);
        }
      }
      await waitFor(
        () => segments(),
        (list) => list.every((s) => s.state === 'ended'),
        'every segment to end',
      );
    },
    async pause(agent) {
      const reservation = latestReservation(workers[agent]);
      const reservationSid = reservation?.sid ?? '';
      deps.note(`agent ${agent} pauses recording (plugin API)`);
      await plugin(workers[agent], 'pause', { reservationSid, reason: 'card number' });
      await waitFor(
        () => segmentOf(reservationSid),
        (s) => s?.state === 'paused' && s.streams.every((st) => st.state !== 'streaming'),
        `the stream of agent ${agent} to stop for the pause`,
      );
    },
    async resume(agent) {
      const reservation = latestReservation(workers[agent]);
      const reservationSid = reservation?.sid ?? '';
      deps.note(`agent ${agent} resumes recording (plugin API)`);
      const before = (await segmentOf(reservationSid))?.streams.length ?? 0;
      await plugin(workers[agent], 'resume', { reservationSid });
      await streaming(reservationSid, before, `agent ${agent} (continuation)`);
    },
    async restartController() {
      deps.note('the controller service restarts (same data directory)');
      await stack.restartController();
    },
  };
}
