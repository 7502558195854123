import type { TaskRouterModel } from './model.js';
import type { ReservationRecord, TaskRecord, TransferRecord, WorkerRecord } from './records.js';

/** TaskRouter's base URL; v1 payloads carry absolute `url`s and `links` (spec `servers`). */
export const TASKROUTER_BASE = 'https://taskrouter.twilio.com/v1';

/** ISO 8601 without milliseconds, as TaskRouter v1 writes dates (`2015-07-30T20:00:00Z`). */
export function isoDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `GET/POST /v1/Workspaces/{Sid}` (spec `taskrouter.v1.workspace`). */
export function workspaceJson(model: TaskRouterModel, accountSid: string): Record<string, unknown> {
  const ws = model.workspace;
  const url = `${TASKROUTER_BASE}/Workspaces/${ws.sid}`;
  const offline = model.activities.Offline;
  return {
    account_sid: accountSid,
    date_created: isoDate(ws.dateCreated),
    date_updated: isoDate(ws.dateUpdated),
    default_activity_name: offline.name,
    default_activity_sid: offline.sid,
    event_callback_url: ws.eventCallbackUrl,
    events_filter: ws.eventsFilter === null ? null : ws.eventsFilter.join(','),
    friendly_name: ws.friendlyName,
    multi_task_enabled: true,
    sid: ws.sid,
    timeout_activity_name: offline.name,
    timeout_activity_sid: offline.sid,
    prioritize_queue_order: 'FIFO',
    url,
    links: {
      activities: `${url}/Activities`,
      events: `${url}/Events`,
      task_queues: `${url}/TaskQueues`,
      tasks: `${url}/Tasks`,
      workers: `${url}/Workers`,
      workflows: `${url}/Workflows`,
      task_channels: `${url}/TaskChannels`,
      statistics: `${url}/Statistics`,
    },
  };
}

/** `GET /v1/Workspaces/{ws}/Tasks/{Sid}` (spec `taskrouter.v1.workspace.task`). */
export function taskJson(
  model: TaskRouterModel,
  accountSid: string,
  task: TaskRecord,
  now: Date,
): Record<string, unknown> {
  const ws = model.workspace.sid;
  const url = `${TASKROUTER_BASE}/Workspaces/${ws}/Tasks/${task.sid}`;
  return {
    account_sid: accountSid,
    age: Math.max(0, Math.floor((now.getTime() - task.dateCreated.getTime()) / 1000)),
    assignment_status: task.status,
    attributes: JSON.stringify(task.attributes),
    addons: null,
    date_created: isoDate(task.dateCreated),
    date_updated: isoDate(task.dateUpdated),
    task_queue_entered_date: isoDate(task.queueEnteredDate),
    priority: task.priority,
    reason: task.reason,
    sid: task.sid,
    task_queue_sid: task.queueSid,
    task_queue_friendly_name: model.queues.get(task.queueSid)?.friendlyName ?? null,
    task_channel_sid: null,
    task_channel_unique_name: 'voice',
    timeout: 86400,
    workflow_sid: task.workflowSid,
    workflow_friendly_name: model.workflow.friendlyName,
    workspace_sid: ws,
    url,
    links: {
      task_queue: `${TASKROUTER_BASE}/Workspaces/${ws}/TaskQueues/${task.queueSid}`,
      workflow: `${TASKROUTER_BASE}/Workspaces/${ws}/Workflows/${task.workflowSid}`,
      workspace: `${TASKROUTER_BASE}/Workspaces/${ws}`,
      reservations: `${url}/Reservations`,
    },
    virtual_start_time: isoDate(task.dateCreated),
    ignore_capacity: false,
    routing_target: null,
  };
}

/** `…/Tasks/{TaskSid}/Reservations/{Sid}` (spec `taskrouter.v1.workspace.task.task_reservation`). */
export function reservationJson(
  model: TaskRouterModel,
  accountSid: string,
  reservation: ReservationRecord,
): Record<string, unknown> {
  const ws = model.workspace.sid;
  const url = `${TASKROUTER_BASE}/Workspaces/${ws}/Tasks/${reservation.taskSid}/Reservations/${reservation.sid}`;
  return {
    account_sid: accountSid,
    date_created: isoDate(reservation.dateCreated),
    date_updated: isoDate(reservation.dateUpdated),
    reservation_status: reservation.status,
    sid: reservation.sid,
    task_sid: reservation.taskSid,
    worker_name: model.workers.get(reservation.workerSid)?.friendlyName ?? null,
    worker_sid: reservation.workerSid,
    workspace_sid: ws,
    url,
    links: {
      task: `${TASKROUTER_BASE}/Workspaces/${ws}/Tasks/${reservation.taskSid}`,
      worker: `${TASKROUTER_BASE}/Workspaces/${ws}/Workers/${reservation.workerSid}`,
      workspace: `${TASKROUTER_BASE}/Workspaces/${ws}`,
    },
  };
}

/** `…/Workers/{Sid}` (spec `taskrouter.v1.workspace.worker`). */
export function workerJson(
  model: TaskRouterModel,
  accountSid: string,
  worker: WorkerRecord,
): Record<string, unknown> {
  const ws = model.workspace.sid;
  const url = `${TASKROUTER_BASE}/Workspaces/${ws}/Workers/${worker.sid}`;
  const activity = model.activities[worker.activity];
  return {
    account_sid: accountSid,
    activity_name: activity.name,
    activity_sid: activity.sid,
    attributes: JSON.stringify(worker.attributes),
    available: activity.available,
    date_created: isoDate(worker.dateCreated),
    date_status_changed: isoDate(worker.dateStatusChanged),
    date_updated: isoDate(worker.dateUpdated),
    friendly_name: worker.friendlyName,
    sid: worker.sid,
    workspace_sid: ws,
    url,
    links: {
      channels: `${url}/Channels`,
      reservations: `${url}/Reservations`,
      statistics: `${url}/Statistics`,
      workspace: `${TASKROUTER_BASE}/Workspaces/${ws}`,
      activity: `${TASKROUTER_BASE}/Workspaces/${ws}/Activities/${activity.sid}`,
    },
  };
}

/** Flex's `TaskTransfer` shape (facts §6) for the state and control answers. */
export function transferView(transfer: TransferRecord | null): Record<string, unknown> | null {
  if (transfer === null) return null;
  return {
    sid: transfer.sid,
    mode: transfer.mode,
    type: transfer.type,
    to: transfer.to,
    workerSid: transfer.initiatorWorkerSid,
    reservationSid: transfer.initiatorReservationSid,
    status: transfer.status,
  };
}

/** TaskRouter's part of `GET /_emulator/state`. */
export interface TaskRouterState {
  workspace: {
    sid: string;
    friendlyName: string;
    eventCallbackUrl: string | null;
    eventsFilter: string[] | null;
  };
  workflowSid: string;
  queues: { sid: string; friendlyName: string }[];
  workers: {
    sid: string;
    friendlyName: string;
    identity: string;
    activity: string;
    contactUri: unknown;
    voiceHz: number;
    queueSids: string[];
  }[];
  tasks: {
    sid: string;
    status: string;
    attributes: Record<string, unknown>;
    customerCallSid: string;
    conferenceSid: string | null;
    queueSid: string;
    transfers: (Record<string, unknown> | null)[];
  }[];
  reservations: {
    sid: string;
    taskSid: string;
    workerSid: string;
    status: string;
    workerCallSid: string | null;
    incomingTransferObject: Record<string, unknown> | null;
    outgoingTransferObject: Record<string, unknown> | null;
  }[];
}

/** A JSON snapshot of the TaskRouter model. */
export function taskRouterState(model: TaskRouterModel): TaskRouterState {
  return {
    workspace: {
      sid: model.workspace.sid,
      friendlyName: model.workspace.friendlyName,
      eventCallbackUrl: model.workspace.eventCallbackUrl,
      eventsFilter:
        model.workspace.eventsFilter === null ? null : [...model.workspace.eventsFilter],
    },
    workflowSid: model.workflow.sid,
    queues: [...model.queues.values()].map((q) => ({ sid: q.sid, friendlyName: q.friendlyName })),
    workers: [...model.workers.values()].map((w) => ({
      sid: w.sid,
      friendlyName: w.friendlyName,
      identity: w.identity,
      activity: w.activity,
      contactUri: w.attributes.contact_uri,
      voiceHz: w.voiceHz,
      queueSids: [...w.queueSids],
    })),
    tasks: [...model.tasks.values()].map((t) => ({
      sid: t.sid,
      status: t.status,
      attributes: t.attributes,
      customerCallSid: t.customerCallSid,
      conferenceSid: t.conferenceSid,
      queueSid: t.queueSid,
      transfers: t.transfers.map(transferView),
    })),
    reservations: [...model.reservations.values()].map((r) => {
      const { incoming, outgoing } = model.transfersOf(r);
      return {
        sid: r.sid,
        taskSid: r.taskSid,
        workerSid: r.workerSid,
        status: r.status,
        workerCallSid: r.workerCallSid,
        incomingTransferObject: transferView(incoming),
        outgoingTransferObject: transferView(outgoing),
      };
    }),
  };
}
