import { describe, expect, it } from 'vitest';
import { EmulatorStateError } from '../errors.js';
import { transition } from '../model/lifecycle.js';
import {
  RESERVATION_TRANSITIONS,
  TASK_TRANSITIONS,
  TRANSFER_TRANSITIONS,
  isLive,
} from './lifecycle.js';

describe('TaskRouter lifecycles', () => {
  it('allow the documented task path and refuse going back from a final status', () => {
    let status = transition('task', TASK_TRANSITIONS, 'pending', 'reserved');
    status = transition('task', TASK_TRANSITIONS, status, 'assigned');
    status = transition('task', TASK_TRANSITIONS, status, 'wrapping');
    expect(transition('task', TASK_TRANSITIONS, status, 'completed')).toBe('completed');
    expect(() => transition('task', TASK_TRANSITIONS, 'completed', 'pending')).toThrow(
      EmulatorStateError,
    );
    // Only a pending or reserved task can be canceled.
    expect(() => transition('task', TASK_TRANSITIONS, 'assigned', 'canceled')).toThrow(
      "cannot move task from 'assigned' to 'canceled'",
    );
  });

  it('end a reservation once: accepted → wrapping → completed; rejected is final', () => {
    expect(transition('r', RESERVATION_TRANSITIONS, 'accepted', 'wrapping')).toBe('wrapping');
    expect(() => transition('r', RESERVATION_TRANSITIONS, 'rejected', 'accepted')).toThrow();
    expect(() => transition('r', RESERVATION_TRANSITIONS, 'wrapping', 'accepted')).toThrow();
    expect(() => transition('t', TRANSFER_TRANSITIONS, 'COMPLETED', 'FAILED')).toThrow();
    expect(['pending', 'accepted', 'wrapping', 'completed'].map((s) => isLive(s as never))).toEqual(
      [true, true, true, false],
    );
  });
});
