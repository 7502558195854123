import { EmulatorStateError } from '../errors.js';

/** Which states each state may move to. Terminal states map to an empty list. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/**
 * Checks one lifecycle transition against its table and returns the new state; a forbidden
 * transition throws (style: "every lifecycle is an explicit state machine").
 */
export function transition<S extends string>(
  what: string,
  table: TransitionTable<S>,
  from: S,
  to: S,
): S {
  if (!table[from].includes(to)) {
    throw new EmulatorStateError(`cannot move ${what} from '${from}' to '${to}'`);
  }
  return to;
}

/** Call statuses (spec `call_enum_status`). */
export type CallStatus =
  'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/** https://www.twilio.com/docs/voice/api/call-resource#call-status-values */
export const CALL_TRANSITIONS: TransitionTable<CallStatus> = {
  queued: ['ringing', 'in-progress', 'canceled', 'failed'],
  ringing: ['in-progress', 'canceled', 'no-answer', 'busy', 'failed'],
  'in-progress': ['completed', 'failed'],
  completed: [],
  busy: [],
  failed: [],
  'no-answer': [],
  canceled: [],
};

/** Conference statuses (spec `conference_enum_status`). */
export type ConferenceStatus = 'init' | 'in-progress' | 'completed';

/** A conference starts when a participant with startConferenceOnEnter joins, ends once. */
export const CONFERENCE_TRANSITIONS: TransitionTable<ConferenceStatus> = {
  init: ['in-progress', 'completed'],
  'in-progress': ['completed'],
  completed: [],
};

/** Participant statuses the emulator uses (a subset of spec `participant_enum_status`). */
export type ParticipantStatus = 'connecting' | 'connected' | 'complete';

export const PARTICIPANT_TRANSITIONS: TransitionTable<ParticipantStatus> = {
  connecting: ['connected', 'complete'],
  connected: ['complete'],
  complete: [],
};

/**
 * A stream's lifecycle inside the emulator. The REST resource shows `in-progress` for
 * `connecting`/`streaming` and `stopped` for `stopped`/`failed` (spec `stream_enum_status`).
 */
export type StreamState = 'connecting' | 'streaming' | 'stopped' | 'failed';

export const STREAM_TRANSITIONS: TransitionTable<StreamState> = {
  connecting: ['streaming', 'stopped', 'failed'],
  streaming: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};
