/**
 * Finding an agent's own call leg when only TaskRouter tells us about the accept: the
 * `reservation.accepted` event carries no agent CallSid (twilio-facts §7), yet the worker leg
 * (`leg: 'worker'`) streams on it. The leg is looked up, in this order:
 * 1. the task attributes' `conference.participants.worker` (Flex writes the agent's CallSid there,
 *    facts §6; UNCONFIRMED whether it already holds the new agent when the event is sent — so a
 *    leg that belongs to another segment of the call, live or ended, is never taken from it);
 * 2. the task's conference (FriendlyName = task SID, in-progress, facts §6): the participant that
 *    is neither the customer nor another segment's agent, when exactly one is left.
 * The agent joins just after the accept, so both are retried through the injected clock, a
 * bounded number of times. Pure logic over ports (style §2): no I/O of its own.
 */
import { isSid } from './controller.js';
import type { Clock, Logger, TaskRouterPort } from './ports.js';

/** Bounds of the polling in {@link resolveWorkerCallSid}. */
export interface WorkerLegPolicy {
  /** How many lookups at most (≥ 1). */
  attempts: number;
  /** Wait between two lookups, in ms of the injected clock. */
  intervalMs: number;
}

/** Default: 20 lookups 250 ms apart, about 5 s for the agent's leg to join the conference. */
export const DEFAULT_WORKER_LEG_POLICY: WorkerLegPolicy = Object.freeze({
  attempts: 20,
  intervalMs: 250,
});

/** What {@link resolveWorkerCallSid} needs: reads only. */
export interface WorkerLegDeps {
  /** TaskRouter reads (task attributes, participants); null when no workspace is configured. */
  taskRouter: TaskRouterPort | null;
  /** `findInProgressConference(taskSid)` of the `VoicePort` (the conference's `CF…` SID). */
  findConference: (friendlyName: string) => Promise<string | null>;
  clock: Clock;
  logger: Logger;
}

/** The accept whose agent leg is wanted. */
export interface WorkerLegQuery {
  taskSid: string;
  reservationSid: string;
  customerCallSid: string;
  /** The conference, when the event's attributes named it. */
  conferenceSid?: string;
  /** `TaskAttributes` as the event carried them (read before asking TaskRouter). */
  eventAttributes?: unknown;
  /** Agent legs of the call's other segments (live or ended): never this agent's. */
  otherLegs: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `conference.participants.worker` and `conference.sid` of task attributes (a JSON string or an
 * object), each null when absent or not a SID.
 */
export function conferenceOfAttributes(attributes: unknown): {
  workerCallSid: string | null;
  conferenceSid: string | null;
} {
  let parsed: unknown = attributes;
  if (typeof attributes === 'string') {
    try {
      parsed = JSON.parse(attributes);
    } catch {
      parsed = null;
    }
  }
  const conference = isRecord(parsed) ? parsed.conference : undefined;
  if (!isRecord(conference)) return { workerCallSid: null, conferenceSid: null };
  const participants = conference.participants;
  const worker = isRecord(participants) ? participants.worker : undefined;
  return {
    workerCallSid: isSid(worker, 'CA') ? worker : null,
    conferenceSid: isSid(conference.sid, 'CF') ? conference.sid : null,
  };
}

/**
 * The agent's own `CA…` leg for an accepted reservation, or null when it could not be told within
 * `policy` (no leg yet, or several candidates). Port failures are logged and retried like a miss.
 */
export async function resolveWorkerCallSid(
  deps: WorkerLegDeps,
  query: WorkerLegQuery,
  policy: WorkerLegPolicy = DEFAULT_WORKER_LEG_POLICY,
): Promise<string | null> {
  const taken = new Set([query.customerCallSid, ...query.otherLegs]);
  const usable = (callSid: string | null): callSid is string =>
    callSid !== null && !taken.has(callSid);
  let conferenceSid = query.conferenceSid ?? null;

  const hinted = conferenceOfAttributes(query.eventAttributes);
  if (usable(hinted.workerCallSid)) return hinted.workerCallSid;
  conferenceSid ??= hinted.conferenceSid;
  // Without a workspace there is nothing to poll: the event's attributes were the only source.
  if (deps.taskRouter === null) return null;

  for (let attempt = 1; attempt <= Math.max(1, policy.attempts); attempt += 1) {
    try {
      const fetched = conferenceOfAttributes(
        await deps.taskRouter.fetchTaskAttributes(query.taskSid),
      );
      if (usable(fetched.workerCallSid)) return fetched.workerCallSid;
      conferenceSid ??= fetched.conferenceSid;
      conferenceSid ??= await deps.findConference(query.taskSid);
      if (conferenceSid !== null) {
        const candidates = (await deps.taskRouter.listParticipants(conferenceSid))
          .map((p) => p.callSid)
          .filter((callSid) => !taken.has(callSid));
        if (candidates.length === 1 && candidates[0] !== undefined) return candidates[0];
      }
    } catch (error) {
      deps.logger.warn(
        { taskSid: query.taskSid, reservationSid: query.reservationSid, attempt, err: error },
        'worker leg lookup failed; retrying',
      );
    }
    if (attempt < policy.attempts) await deps.clock.sleep(policy.intervalMs);
  }
  return null;
}
