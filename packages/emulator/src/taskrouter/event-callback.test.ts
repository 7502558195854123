import { describe, expect, it } from 'vitest';
import { eventParams, type EventDirectory } from './event-callback.js';
import type { ReservationRecord, TaskRecord, WorkerRecord } from './records.js';

const created = new Date('2026-01-01T00:00:00Z');
const directory: EventDirectory = {
  accountSid: 'AC00000000000000000000000000000000',
  workspace: {
    sid: 'WS1',
    friendlyName: 'Flex Task Assignment',
    eventCallbackUrl: null,
    eventsFilter: null,
    dateCreated: created,
    dateUpdated: created,
  },
  queue: (sid) => (sid === 'WQ1' ? { sid, friendlyName: 'Everyone' } : undefined),
  workflow: (sid) => ({ sid, friendlyName: 'Assign to Anyone', reservationTimeoutS: 120 }),
  activity: (name) => ({ sid: `WA-${name}`, name, available: name === 'Available' }),
};
const task: TaskRecord = {
  sid: 'WT1',
  status: 'canceled',
  attributes: { call_sid: 'CA1' },
  customerCallSid: 'CA1',
  workflowSid: 'WW1',
  queueSid: 'WQ1',
  priority: 0,
  reason: 'hangup',
  version: 3,
  dateCreated: created,
  dateUpdated: created,
  queueEnteredDate: created,
  conferenceSid: null,
  declinedBy: new Set(),
  transfers: [],
};
const worker: WorkerRecord = {
  sid: 'WK1',
  friendlyName: 'alice',
  identity: 'alice',
  roles: ['agent'],
  attributes: { contact_uri: 'client:alice' },
  activity: 'Available',
  queueSids: ['WQ1'],
  voiceHz: 750,
  dateCreated: created,
  dateUpdated: created,
  dateStatusChanged: created,
};
const reservation: ReservationRecord = {
  sid: 'WR1',
  taskSid: 'WT1',
  workerSid: 'WK1',
  status: 'canceled',
  workerCallSid: null,
  transferSid: null,
  dateCreated: created,
  dateUpdated: created,
  timer: null,
};

describe('eventParams (facts §7 field names)', () => {
  const at = new Date('2026-01-01T00:00:42.500Z');

  it('a task event: the always-sent fields, the Task group, the cancel reason, no Worker group', () => {
    const params = eventParams(directory, 'task.canceled', { description: 'd', task }, at);
    expect(params).toMatchObject({
      EventType: 'task.canceled',
      AccountSid: directory.accountSid,
      WorkspaceSid: 'WS1',
      WorkspaceName: 'Flex Task Assignment',
      EventDescription: 'd',
      ResourceType: 'task',
      ResourceSid: 'WT1',
      Timestamp: '1767225642',
      TimestampMs: '1767225642500',
      TaskSid: 'WT1',
      TaskAttributes: '{"call_sid":"CA1"}',
      TaskAge: '42',
      TaskAssignmentStatus: 'canceled',
      TaskQueueName: 'Everyone',
      WorkflowName: 'Assign to Anyone',
      TaskCanceledReason: 'hangup',
      TaskVersion: '3',
    });
    expect(params.Sid).toMatch(/^EV[0-9a-f]{32}$/);
    expect(params.WorkerSid).toBeUndefined();
  });

  it('a reservation event: resource is the reservation, with the Worker group and ReservationSid', () => {
    const params = eventParams(
      directory,
      'reservation.canceled',
      { description: 'd', task, worker, reservation },
      at,
    );
    expect(params).toMatchObject({
      ResourceType: 'reservation',
      ResourceSid: 'WR1',
      ReservationSid: 'WR1',
      TaskQueueSid: 'WQ1',
      WorkflowSid: 'WW1',
      WorkerSid: 'WK1',
      WorkerName: 'alice',
      WorkerAttributes: '{"contact_uri":"client:alice"}',
      WorkerActivitySid: 'WA-Available',
      WorkerActivityName: 'Available',
    });
  });

  it('a worker.activity.update: the worker resource with its previous activity and time spent in it', () => {
    const since = new Date(at.getTime() - 90_500);
    const params = eventParams(
      directory,
      'worker.activity.update',
      { description: 'd', worker, previousActivity: { name: 'Offline', since } },
      at,
    );
    expect(params).toMatchObject({
      ResourceType: 'worker',
      ResourceSid: 'WK1',
      WorkerActivityName: 'Available',
      WorkerPreviousActivitySid: 'WA-Offline',
      WorkerPreviousActivityName: 'Offline',
      WorkerTimeInPreviousActivity: '90',
      WorkerTimeInPreviousActivityMs: '90500',
    });
    expect(params).not.toHaveProperty('TaskSid');
  });
});
