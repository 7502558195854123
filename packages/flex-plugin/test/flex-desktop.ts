/**
 * One agent's Flex UI, simulated over the Twilio emulator: a {@link FakeFlexActions} whose action
 * implementations do what Flex's own do (AcceptTask → `reservation.conference(conferenceOptions)`,
 * TransferTask → `task.transfer`, WrapupTask, CompleteTask; twilio-facts §6) through the
 * emulator's in-process TaskRouter, and ITask payloads built from the emulator's state the way
 * Flex's task model presents them.
 */
import type {
  AcceptOptions,
  ConferenceStatusCallbackEvent,
  Emulator,
} from '@flex-streams/emulator';
import type { FlexConferenceParticipant, FlexTask } from '../src/index.js';
import { FakeFlexActions } from './fake-flex-actions.js';

/** Polls `read` until `ok` holds, or fails after `timeoutMs` naming `what` (no fixed sleeps). */
export async function until<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((next) => {
      setTimeout(next, 25);
    });
  }
}

/** The ITask Flex shows for reservation `reservationSid` (facts §6 "ITask", "task.conference"). */
export function flexTaskOf(emu: Emulator, reservationSid: string): FlexTask {
  const state = emu.state();
  const tr = state.taskrouter;
  const reservation = tr.reservations.find((r) => r.sid === reservationSid);
  if (reservation === undefined) throw new Error(`no reservation ${reservationSid}`);
  const task = tr.tasks.find((t) => t.sid === reservation.taskSid);
  if (task === undefined) throw new Error(`no task ${reservation.taskSid}`);
  const workerOfLeg = new Map<string, string>();
  for (const r of tr.reservations)
    if (r.taskSid === task.sid && r.workerCallSid !== null)
      workerOfLeg.set(r.workerCallSid, r.workerSid);
  const conference = state.conferences.find((c) => c.sid === task.conferenceSid);
  const participants: FlexConferenceParticipant[] = (conference?.participants ?? []).map((p) => {
    const call = state.calls.find((c) => c.sid === p.callSid);
    const workerSid = workerOfLeg.get(p.callSid);
    return {
      callSid: p.callSid,
      participantType:
        p.callSid === task.customerCallSid
          ? 'customer'
          : workerSid === undefined
            ? 'unknown'
            : 'worker',
      workerSid,
      status:
        call?.status === 'in-progress' && call.conferenceSid === conference?.sid
          ? 'joined'
          : 'left',
      isCurrentWorker: workerSid === reservation.workerSid,
    };
  });
  return {
    sid: reservation.sid,
    taskSid: task.sid,
    workerSid: reservation.workerSid,
    taskChannelUniqueName: 'voice',
    attributes: task.attributes,
    incomingTransferObject: reservation.incomingTransferObject,
    ...(conference === undefined
      ? {}
      : { conference: { sid: task.sid, conferenceSid: conference.sid, participants } }),
  };
}

function acceptOptionsOf(options: unknown): AcceptOptions {
  if (typeof options !== 'object' || options === null) return {};
  const o = options as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of [
    'beep',
    'beepOnCustomerEntrance',
    'endConferenceOnExit',
    'endConferenceOnCustomerExit',
  ])
    if (typeof o[key] === 'boolean') out[key] = o[key];
  if (typeof o.conferenceStatusCallback === 'string')
    out.conferenceStatusCallback = o.conferenceStatusCallback;
  if (o.conferenceStatusCallbackMethod === 'GET' || o.conferenceStatusCallbackMethod === 'POST')
    out.conferenceStatusCallbackMethod = o.conferenceStatusCallbackMethod;
  if (Array.isArray(o.conferenceStatusCallbackEvent))
    out.conferenceStatusCallbackEvent =
      o.conferenceStatusCallbackEvent as ConferenceStatusCallbackEvent[];
  return out;
}

/** One agent's desktop: Flex's actions over the emulator, plus what each accept passed on. */
export interface FlexDesktop {
  readonly actions: FakeFlexActions;
  /** The options each AcceptTask passed to the emulator's accept (`reservation.conference()`). */
  readonly acceptOptions: AcceptOptions[];
  accept(reservationSid: string): Promise<FlexTask>;
  transfer(reservationSid: string, targetSid: string, mode: 'WARM' | 'COLD'): Promise<void>;
  wrapup(reservationSid: string): Promise<void>;
  complete(reservationSid: string): Promise<void>;
}

export function createFlexDesktop(emu: Emulator, workerSid: string): FlexDesktop {
  const tr = emu.taskrouter;
  const actions = new FakeFlexActions();
  const acceptOptions: AcceptOptions[] = [];
  actions.registerAction('AcceptTask', async (payload) => {
    const sid = String(payload.sid);
    const options = acceptOptionsOf(payload.conferenceOptions);
    acceptOptions.push(options);
    tr.accept(sid, workerSid, options);
    // Flex's task model follows the conference: the after-listeners see the agent's joined leg.
    await until(
      () => flexTaskOf(emu, sid),
      (t) =>
        t.conference?.participants?.some(
          (p) => p.isCurrentWorker === true && p.status === 'joined',
        ) === true,
      `worker ${workerSid}'s leg to join the conference`,
    );
    payload.task = flexTaskOf(emu, sid);
  });
  actions.registerAction('TransferTask', (payload) => {
    const task = payload.task as FlexTask;
    const mode = (payload.options as { mode: 'WARM' | 'COLD' }).mode;
    tr.transfer({ taskSid: task.taskSid, workerSid, to: String(payload.targetSid), mode });
  });
  actions.registerAction('WrapupTask', (payload) => {
    tr.wrapup(String(payload.sid), workerSid);
  });
  actions.registerAction('CompleteTask', (payload) => {
    tr.complete(String(payload.sid), workerSid);
  });
  // Flex's own payload-update step (facts §6) fills these in before any listener runs.
  const flexConferenceDefaults = (sid: string) => {
    const task = flexTaskOf(emu, sid);
    const live = task.conference?.participants?.filter(
      (p) => p.participantType === 'worker' && p.status === 'joined',
    );
    return {
      endConferenceOnExit: live === undefined || live.length === 0,
      endConferenceOnCustomerExit: true,
    };
  };
  return {
    actions,
    acceptOptions,
    async accept(reservationSid) {
      const payload: Record<string, unknown> = {
        task: flexTaskOf(emu, reservationSid),
        sid: reservationSid,
        conferenceOptions: flexConferenceDefaults(reservationSid),
      };
      await actions.invokeAction('AcceptTask', payload);
      return payload.task as FlexTask;
    },
    async transfer(reservationSid, targetSid, mode) {
      await actions.invokeAction('TransferTask', {
        task: flexTaskOf(emu, reservationSid),
        sid: reservationSid,
        targetSid,
        options: { mode },
      });
    },
    async wrapup(reservationSid) {
      await actions.invokeAction('WrapupTask', {
        task: flexTaskOf(emu, reservationSid),
        sid: reservationSid,
      });
    },
    async complete(reservationSid) {
      // As after a page reload: `task` may be absent, `sid` is the reservation (facts §6).
      await actions.invokeAction('CompleteTask', { sid: reservationSid });
    },
  };
}
