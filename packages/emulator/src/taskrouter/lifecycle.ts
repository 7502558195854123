import type { TransitionTable } from '../model/lifecycle.js';

/**
 * A task's assignment status (spec `task_enum_status`; lifecycle from
 * https://www.twilio.com/docs/taskrouter/lifecycle-task-state). A task goes back to `pending` when
 * its only reservation is rejected or times out; only a pending or reserved task can be canceled
 * (https://www.twilio.com/docs/taskrouter/api/task#update-a-task-resource).
 */
export type TaskStatus =
  'pending' | 'reserved' | 'assigned' | 'wrapping' | 'completed' | 'canceled';

export const TASK_TRANSITIONS: TransitionTable<TaskStatus> = {
  pending: ['reserved', 'canceled'],
  reserved: ['assigned', 'pending', 'canceled'],
  assigned: ['wrapping', 'completed'],
  wrapping: ['completed'],
  completed: [],
  canceled: [],
};

/**
 * A reservation's status (spec `task_reservation_enum_status`, facts §6 "Reservation fields").
 * pending → accepted | rejected | timeout | canceled | rescinded; accepted → wrapping → completed.
 */
export type ReservationStatus =
  | 'pending'
  | 'accepted'
  | 'rejected'
  | 'timeout'
  | 'canceled'
  | 'rescinded'
  | 'wrapping'
  | 'completed';

export const RESERVATION_TRANSITIONS: TransitionTable<ReservationStatus> = {
  pending: ['accepted', 'rejected', 'timeout', 'canceled', 'rescinded'],
  accepted: ['wrapping', 'completed'],
  wrapping: ['completed'],
  rejected: [],
  timeout: [],
  canceled: [],
  rescinded: [],
  completed: [],
};

/**
 * A transfer's status as Flex's `TaskTransfer` shows it (facts §6: `INITIATED|FAILED|COMPLETE|
 * CANCELED`, taskrouter.js writes `COMPLETED`; the emulator writes `COMPLETED`).
 */
export type TransferStatus = 'INITIATED' | 'FAILED' | 'COMPLETED' | 'CANCELED';

export const TRANSFER_TRANSITIONS: TransitionTable<TransferStatus> = {
  INITIATED: ['FAILED', 'COMPLETED', 'CANCELED'],
  FAILED: [],
  COMPLETED: [],
  CANCELED: [],
};

/** The two activities of the emulated Flex workspace. */
export type ActivityName = 'Available' | 'Offline';

/** A reservation that still occupies its worker's single voice slot (capacity 1). */
export function isLive(status: ReservationStatus): boolean {
  return status === 'pending' || status === 'accepted' || status === 'wrapping';
}
