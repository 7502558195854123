import type { ActivityName, ReservationStatus, TaskStatus, TransferStatus } from './lifecycle.js';

/** The one workspace of the emulated Flex account. */
export interface WorkspaceRecord {
  readonly sid: string;
  friendlyName: string;
  eventCallbackUrl: string | null;
  /** Event types sent to `eventCallbackUrl`; null: all of them. */
  eventsFilter: readonly string[] | null;
  readonly dateCreated: Date;
  dateUpdated: Date;
}

/** A worker activity (`WA…`); `available` says whether it takes reservations. */
export interface ActivityRecord {
  readonly sid: string;
  readonly name: ActivityName;
  readonly available: boolean;
}

/** A task queue (`WQ…`), known by its friendly name. */
export interface QueueRecord {
  readonly sid: string;
  readonly friendlyName: string;
}

/** The workspace's one workflow (`WW…`). */
export interface WorkflowRecord {
  readonly sid: string;
  readonly friendlyName: string;
  /** Seconds a reservation waits for an answer before it times out. */
  readonly reservationTimeoutS: number;
}

/** A worker (`WK…`): a Flex agent with its own voice. */
export interface WorkerRecord {
  readonly sid: string;
  readonly friendlyName: string;
  /** The Flex user's identity (what token validation answers). */
  readonly identity: string;
  readonly roles: readonly string[];
  /** `contact_uri` (e.g. `client:alice`) and anything else given. */
  readonly attributes: Readonly<Record<string, unknown>>;
  activity: ActivityName;
  readonly queueSids: readonly string[];
  /** The voice of this worker's call leg (its identifiable tone). */
  readonly voiceHz: number;
  readonly dateCreated: Date;
  dateUpdated: Date;
  dateStatusChanged: Date;
}

/** Flex's `TaskTransfer` (facts §6), kept on the task. */
export interface TransferRecord {
  readonly sid: string;
  readonly mode: 'WARM' | 'COLD';
  readonly type: 'WORKER' | 'QUEUE';
  /** The target `WK…` or `WQ…`. */
  readonly to: string;
  readonly initiatorWorkerSid: string;
  readonly initiatorReservationSid: string;
  status: TransferStatus;
  readonly dateCreated: Date;
  dateUpdated: Date;
}

/** A voice task (`WT…`) made by `<Enqueue workflowSid>`. */
export interface TaskRecord {
  readonly sid: string;
  status: TaskStatus;
  attributes: Record<string, unknown>;
  readonly customerCallSid: string;
  readonly workflowSid: string;
  queueSid: string;
  readonly priority: number;
  reason: string | null;
  version: number;
  readonly dateCreated: Date;
  dateUpdated: Date;
  queueEnteredDate: Date;
  /** The Flex conference (`CF…`) once the first reservation is accepted. */
  conferenceSid: string | null;
  /** Workers who rejected this task or let it time out: never offered it again. */
  readonly declinedBy: Set<string>;
  readonly transfers: TransferRecord[];
}

/** A reservation (`WR…`): the offer of a task to one worker. */
export interface ReservationRecord {
  readonly sid: string;
  readonly taskSid: string;
  readonly workerSid: string;
  status: ReservationStatus;
  /** The worker's call leg into the conference, once accepted. */
  workerCallSid: string | null;
  /** The transfer that created this reservation (Flex's `incomingTransferObject`). */
  readonly transferSid: string | null;
  readonly dateCreated: Date;
  dateUpdated: Date;
  timer: NodeJS.Timeout | null;
}
