import { createFsError } from './errors.js';

/** A transition table: for each state, the states it may move to. Terminal states map to `[]`. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/** A named lifecycle over a string-literal union of states, checked against its table. */
export interface StateMachine<S extends string> {
  /** What the lifecycle is about, used in error messages: `stream`, `segment`, `pause`. */
  readonly subject: string;
  readonly table: TransitionTable<S>;
  /** True when `from → to` is allowed by the table. */
  can(from: S, to: S): boolean;
  /**
   * Returns `to` when `from → to` is allowed; otherwise throws `FS_ERR_INVALID_TRANSITION`
   * naming the action, e.g. "cannot stop stream in state 'stopped'".
   */
  assert(from: S, to: S, action: string): S;
  /** True when no transition leaves `state`. */
  isTerminal(state: S): boolean;
}

/** Creates a {@link StateMachine} over `table`. */
export function createStateMachine<S extends string>(
  subject: string,
  table: TransitionTable<S>,
): StateMachine<S> {
  const can = (from: S, to: S): boolean => table[from].includes(to);
  return {
    subject,
    table,
    can,
    assert(from, to, action) {
      if (!can(from, to)) {
        throw createFsError(
          'FS_ERR_INVALID_TRANSITION',
          `cannot ${action} ${subject} in state '${from}' (allowed from '${from}': ${
            table[from].length === 0 ? 'none, it is final' : table[from].join(', ')
          })`,
        );
      }
      return to;
    },
    isTerminal: (state) => table[state].length === 0,
  };
}
