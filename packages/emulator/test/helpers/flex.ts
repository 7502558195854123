import type { Emulator } from '../../src/index.js';
import type { ReceivedWebhook } from './webhook-server.js';
import { waitFor } from './contract.js';

/** One answer of the control API. */
export interface ControlAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POSTs JSON to the control API, as a test driving the agent desktop would. */
export async function control(
  emu: Emulator,
  path: string,
  body: Record<string, unknown> = {},
): Promise<ControlAnswer> {
  const response = await fetch(`${emu.url}/_emulator/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Like `control`, but fails the test unless the answer is 2xx. */
export async function ok(
  emu: Emulator,
  path: string,
  body: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const answer = await control(emu, path, body);
  if (answer.status >= 300)
    throw new Error(`${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Creates a worker in `queue` and returns its SID. */
export async function worker(emu: Emulator, friendlyName: string, queue: string): Promise<string> {
  const created = await ok(emu, 'workers', { friendlyName, queues: [queue] });
  return String(created.sid);
}

/** Places a queued customer call for `queue` and waits for its task; returns both SIDs. */
export async function queuedCall(
  emu: Emulator,
  queue: string,
): Promise<{ callSid: string; taskSid: string }> {
  const { callSid } = (await ok(emu, 'queued-calls', {
    from: '+15550100',
    to: '+15550199',
    queue,
  })) as { callSid: string };
  const task = await waitFor(
    () => emu.state().taskrouter.tasks.find((t) => t.customerCallSid === callSid),
    Boolean,
    'the task of the queued call',
  );
  return { callSid, taskSid: task?.sid ?? '' };
}

/** The pending reservation of `workerSid` on `taskSid`, once it exists. */
export async function pendingReservation(
  emu: Emulator,
  taskSid: string,
  workerSid: string,
): Promise<string> {
  const reservation = await waitFor(
    () =>
      emu
        .state()
        .taskrouter.reservations.find(
          (r) => r.taskSid === taskSid && r.workerSid === workerSid && r.status === 'pending',
        ),
    Boolean,
    `a pending reservation for ${workerSid}`,
  );
  return reservation?.sid ?? '';
}

/** Statuses of a task's reservations, keyed by worker SID (the latest reservation wins). */
export function reservationStatuses(emu: Emulator, taskSid: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of emu.state().taskrouter.reservations)
    if (r.taskSid === taskSid) out[r.workerSid] = r.status;
  return out;
}

/** The live conference of a task: who is in it, held or not, with which endConferenceOnExit. */
export function members(
  emu: Emulator,
  taskSid: string,
): { callSid: string; hold: boolean; endConferenceOnExit: boolean }[] {
  const conference = emu
    .state()
    .conferences.find((c) => c.friendlyName === taskSid && c.status !== 'completed');
  return (conference?.participants ?? []).map((p) => ({
    callSid: p.callSid,
    hold: p.hold,
    endConferenceOnExit: p.endConferenceOnExit,
  }));
}

/** The worker leg (CallSid) of the worker's latest reservation on the task. */
export function legOf(emu: Emulator, taskSid: string, workerSid: string): string {
  const legs = emu
    .state()
    .taskrouter.reservations.filter((r) => r.taskSid === taskSid && r.workerSid === workerSid);
  return legs.at(-1)?.workerCallSid ?? '';
}

/** `EventType` of the TaskRouter callbacks received for a task, in arrival order. */
export function eventTypes(received: readonly ReceivedWebhook[], taskSid: string): string[] {
  return received.filter((w) => w.params.TaskSid === taskSid).map((w) => w.params.EventType ?? '');
}

/** Waits until the callbacks received for a task are exactly `expected`. */
export async function expectEvents(
  emu: Emulator,
  received: readonly ReceivedWebhook[],
  taskSid: string,
  expected: readonly string[],
): Promise<void> {
  await waitFor(
    () => eventTypes(received, taskSid),
    (types) => types.length >= expected.length,
    `${expected.length} TaskRouter callbacks for ${taskSid}`,
  );
  // Everything queued so far has been delivered: the exact sequence must match, nothing extra.
  await emu.taskrouter.idle();
  const types = eventTypes(received, taskSid);
  if (types.join(',') !== expected.join(','))
    throw new Error(
      `TaskRouter callbacks for ${taskSid}:\n  got      ${types.join(', ')}\n  expected ${expected.join(', ')}`,
    );
}
