import { newSid } from '../model/ids.js';
import type { WebhookSender } from '../webhooks/sender.js';
import type {
  ActivityRecord,
  QueueRecord,
  ReservationRecord,
  TaskRecord,
  TransferRecord,
  WorkerRecord,
  WorkflowRecord,
  WorkspaceRecord,
} from './records.js';

/** The TaskRouter event types the emulator sends (facts §7 "Event types useful here"). */
export type TaskRouterEventType =
  | 'task.created'
  | 'task.updated'
  | 'task.canceled'
  | 'task.wrapup'
  | 'task.completed'
  | 'task.transfer-initiated'
  | 'task.transfer-attempt-failed'
  | 'task.transfer-failed'
  | 'task.transfer-canceled'
  | 'task.transfer-completed'
  | 'reservation.created'
  | 'reservation.accepted'
  | 'reservation.rejected'
  | 'reservation.timeout'
  | 'reservation.canceled'
  | 'reservation.rescinded'
  | 'reservation.wrapup'
  | 'reservation.completed'
  | 'worker.activity.update';

/** What one event is about. */
export interface EventSubject {
  readonly description: string;
  readonly task?: TaskRecord;
  readonly reservation?: ReservationRecord;
  readonly worker?: WorkerRecord;
  readonly transfer?: TransferRecord;
  /** On `worker.activity.update`: the activity the worker left and since when it was in it. */
  readonly previousActivity?: {
    readonly name: WorkerRecord['activity'];
    readonly since: Date;
  };
}

/** What the builder reads to name queues, workflows and activities. */
export interface EventDirectory {
  readonly accountSid: string;
  readonly workspace: WorkspaceRecord;
  queue(sid: string): QueueRecord | undefined;
  workflow(sid: string): WorkflowRecord | undefined;
  activity(name: WorkerRecord['activity']): ActivityRecord;
}

/**
 * Whether `text` is an absolute http(s) URL: TaskRouter POSTs its events over HTTP(S) only (facts
 * §7 "Delivery"), so any other scheme could never be delivered and is refused up front (21205).
 */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'http:' || protocol === 'https:';
}

const seconds = (date: Date): string => String(Math.floor(date.getTime() / 1000));

/**
 * The form parameters of one workspace event callback, with TaskRouter's field names (facts §7,
 * https://www.twilio.com/docs/taskrouter/api/event/reference). Always: `EventType`, `AccountSid`,
 * `WorkspaceSid`, `WorkspaceName`, `EventDescription`, `ResourceType`, `ResourceSid`, `Timestamp`
 * [DOC]; `Sid` and `TimestampMs` [2ND]; the Task group, the Worker group, and on reservation events
 * `ReservationSid`, `TaskQueueSid`, `WorkflowSid` [DOC table]. UNCONFIRMED: the lowercase
 * `ResourceType` of task/reservation/worker (facts §7 only saw `taskqueue`), and the `Transfer*`
 * field names of transfer events (the emulator's choice; Twilio's are not in the facts).
 */
export function eventParams(
  directory: EventDirectory,
  eventType: TaskRouterEventType,
  subject: EventSubject,
  now: Date,
): Record<string, string> {
  const resource =
    subject.reservation !== undefined
      ? { type: 'reservation', sid: subject.reservation.sid }
      : subject.task !== undefined
        ? { type: 'task', sid: subject.task.sid }
        : { type: 'worker', sid: subject.worker?.sid ?? '' };
  const params: Record<string, string> = {
    EventType: eventType,
    AccountSid: directory.accountSid,
    WorkspaceSid: directory.workspace.sid,
    WorkspaceName: directory.workspace.friendlyName,
    EventDescription: subject.description,
    ResourceType: resource.type,
    ResourceSid: resource.sid,
    Timestamp: seconds(now),
    TimestampMs: String(now.getTime()),
    Sid: newSid('EV'),
  };
  const { task, reservation, worker, transfer } = subject;
  if (task !== undefined) {
    const queue = directory.queue(task.queueSid);
    const workflow = directory.workflow(task.workflowSid);
    Object.assign(params, {
      TaskSid: task.sid,
      TaskAttributes: JSON.stringify(task.attributes),
      TaskAge: String(Math.max(0, Math.floor((now.getTime() - task.dateCreated.getTime()) / 1000))),
      TaskPriority: String(task.priority),
      TaskAssignmentStatus: task.status,
      TaskChannelUniqueName: 'voice',
      TaskVersion: String(task.version),
      TaskDateCreated: seconds(task.dateCreated),
      TaskQueueSid: task.queueSid,
      TaskQueueName: queue?.friendlyName ?? '',
      TaskQueueEnteredDate: seconds(task.queueEnteredDate),
      WorkflowSid: task.workflowSid,
      WorkflowName: workflow?.friendlyName ?? '',
    });
    if (task.reason !== null) {
      params.Reason = task.reason;
      if (task.status === 'canceled') params.TaskCanceledReason = task.reason;
      if (task.status === 'completed') params.TaskCompletedReason = task.reason;
    }
  }
  if (worker !== undefined) {
    const activity = directory.activity(worker.activity);
    Object.assign(params, {
      WorkerSid: worker.sid,
      WorkerName: worker.friendlyName,
      WorkerAttributes: JSON.stringify(worker.attributes),
      WorkerActivitySid: activity.sid,
      WorkerActivityName: activity.name,
    });
  }
  if (subject.previousActivity !== undefined) {
    // The Worker group's "previous activity" fields [2ND, facts §7], sent on activity changes.
    const previous = directory.activity(subject.previousActivity.name);
    const ms = Math.max(0, now.getTime() - subject.previousActivity.since.getTime());
    Object.assign(params, {
      WorkerPreviousActivitySid: previous.sid,
      WorkerPreviousActivityName: previous.name,
      WorkerTimeInPreviousActivity: String(Math.floor(ms / 1000)),
      WorkerTimeInPreviousActivityMs: String(ms),
    });
  }
  if (reservation !== undefined) params.ReservationSid = reservation.sid;
  if (transfer !== undefined) {
    Object.assign(params, {
      TransferSid: transfer.sid,
      TransferMode: transfer.mode,
      TransferType: transfer.type,
      TransferTo: transfer.to,
      TransferInitiatingWorkerSid: transfer.initiatorWorkerSid,
      TransferInitiatingReservationSid: transfer.initiatorReservationSid,
      TransferStatus: transfer.status,
    });
  }
  return params;
}

/**
 * Delivers event callbacks one after the other, in the order they happened: TaskRouter POSTs one
 * form-encoded, signed request per event (facts §7 "Delivery"); a slow or failing receiver delays
 * but never reorders or stops later events. `idle()` resolves once everything queued was sent.
 */
export function createEventDelivery(webhooks: WebhookSender): {
  deliver(url: string, params: Record<string, string>): void;
  idle(): Promise<void>;
} {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    deliver(url, params) {
      chain = chain.then(() =>
        webhooks.send({ url, method: 'POST', params, purpose: 'taskrouter-event' }),
      );
    },
    idle: () => chain.then(() => undefined),
  };
}
