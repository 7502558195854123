/**
 * The domain model: a call's agent segments, each with its pauses and its stream runs. Plain data
 * (JSON-serialisable, times in epoch milliseconds from the Clock port) so any store can persist it;
 * lifecycles change only through the state machines below.
 */
import type { FsErrorCode } from './errors.js';
import { createStateMachine } from './state-machine.js';

/** Which call leg carries the stream: the customer's (default) or the agent's own leg. */
export type Leg = 'customer' | 'worker';
/** How streams are started and stopped; see `strategies.ts` and docs/decisions/0001. */
export type StrategyName = 'rest' | 'twiml';
/** Twilio's `Track` values for a unidirectional stream (twilio-facts §2). */
export type StreamTrack = 'inbound_track' | 'outbound_track' | 'both_tracks';
/** How the segment's agent got the call: first agent, warm or cold transfer. */
export type TransferMode = 'none' | 'warm' | 'cold';

/**
 * Segment lifecycle. A segment is created `active` when its reservation is accepted, or directly
 * `ended` when an end event arrives first (order tolerance: a later `accepted` then starts nothing).
 */
export type SegmentState = 'active' | 'paused' | 'ended';
/** Why a segment ended: the reservation's end event, the task's, the agent's leg, or the call. */
export type SegmentEndReason =
  | 'wrapup'
  | 'completed'
  | 'canceled'
  | 'rescinded'
  | 'timeout'
  | 'task-canceled'
  | 'task-completed'
  | 'worker-left'
  | 'call-ended';

/**
 * Stream lifecycle. `deferred`: waiting for a free slot in the call's 4-track budget.
 * `starting`: Twilio accepted the start, `stream-started` not yet seen. `streaming`: confirmed.
 * `stopped` and `failed` are final; a restart or resume is a new stream (next continuation).
 */
export type StreamState = 'deferred' | 'starting' | 'streaming' | 'stopped' | 'failed';
/** Why a stream stopped. */
export type StreamStopReason =
  | 'segment-ended'
  | 'paused'
  | 'call-ended'
  | 'stopped-externally'
  | 'stream-error'
  | 'start-failed';

/** Pause lifecycle: `open` while the stream is held back (PCI), `closed` on resume or segment end. */
export type PauseState = 'open' | 'closed';

/** A Twilio or controller error recorded on a segment instead of being thrown out of a webhook. */
export interface RecordedError {
  at: number;
  code: FsErrorCode;
  /** Twilio's error code (`20404`, `21220`, …) when Twilio answered with one. */
  twilioCode: number | null;
  /** HTTP status Twilio answered with, `0` when there was no answer. */
  httpStatus: number | null;
  message: string;
}

/** What a deferred stream waits for (see `SegmentStream.deferredFor`). */
export type DeferralKind = 'track-budget' | 'agent-leg';

/** One stream run of a segment. Continuation 0 is the first; restarts and resumes add one. */
export interface SegmentStream {
  continuation: number;
  /** Deterministic, see `naming.ts`: stoppable by name with no lookup. */
  name: string;
  state: StreamState;
  /** `MZ…` once known: from the REST create answer or the `stream-started` callback. */
  sid: string | null;
  /** The call the stream is forked from (the customer's or the worker's leg). */
  callSid: string;
  leg: Leg;
  track: StreamTrack;
  strategy: StrategyName;
  /** Custom parameters sent with the start (all values are strings, as Twilio delivers them). */
  parameters: Record<string, string>;
  /** Why a `deferred` stream waits, in words (logged and shown by `GET /v1/calls/:callSid`). */
  deferredReason: string | null;
  /**
   * What a `deferred` stream waits (or, once started, waited) for: a free slot in the call's track
   * budget, or (twiml) the agent's leg in the conference; null for a run that never waited. Absent
   * in segments stored before it existed.
   */
  deferredFor?: DeferralKind | null;
  requestedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  stopReason: StreamStopReason | null;
  error: RecordedError | null;
}

/** One pause of a segment's streaming (e.g. while the customer reads a card number). */
export interface SegmentPause {
  state: PauseState;
  /** Who paused: a worker SID, or `system`. */
  by: string;
  reason: string | null;
  /** Idempotency keys of the pause and resume requests, when the caller gave them. */
  pauseKey: string | null;
  resumeKey: string | null;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
}

/** One agent's participation in a call, from reservation accepted to leaving. */
export interface Segment {
  id: string;
  /** Store version for optimistic concurrency: 0 until first stored, then 1, 2, … */
  version: number;
  /** Position in the call, 0-based, in the order the controller learned of the segments. */
  index: number;
  previousSegmentId: string | null;
  customerCallSid: string;
  taskSid: string;
  reservationSid: string;
  workerSid: string;
  conferenceSid: string | null;
  workerCallSid: string | null;
  transferMode: TransferMode;
  state: SegmentState;
  /** Null when the segment was only ever seen ended (end event before accepted). */
  startedAt: number | null;
  endedAt: number | null;
  endReason: SegmentEndReason | null;
  pauses: SegmentPause[];
  streams: SegmentStream[];
  errors: RecordedError[];
}

/** Segment transitions (style §3). */
export const segmentLifecycle = createStateMachine<SegmentState>('segment', {
  active: ['paused', 'ended'],
  paused: ['active', 'ended'],
  ended: [],
});

/** Stream transitions. `stopped`/`failed` are final: a new run is a new continuation. */
export const streamLifecycle = createStateMachine<StreamState>('stream', {
  deferred: ['starting', 'stopped', 'failed'],
  // starting → deferred: a twiml start found the customer alone in the conference and waits.
  starting: ['streaming', 'stopped', 'failed', 'deferred'],
  streaming: ['stopped', 'failed'],
  stopped: [],
  failed: [],
});

/** Pause transitions. */
export const pauseLifecycle = createStateMachine<PauseState>('pause', {
  open: ['closed'],
  closed: [],
});

/** Forked tracks a stream uses against Twilio's per-call budget of 4 (twilio-facts §2). */
export function tracksUsedBy(track: StreamTrack): number {
  return track === 'both_tracks' ? 2 : 1;
}

/** True while a stream holds tracks on its call (Twilio counts it until it is stopped). */
export function isStreamLive(stream: SegmentStream): boolean {
  return stream.state === 'starting' || stream.state === 'streaming';
}

/** The segment's latest stream run, if any. */
export function currentStream(segment: Segment): SegmentStream | undefined {
  return segment.streams[segment.streams.length - 1];
}

/** True when the segment has not ended (active or paused). */
export function isSegmentLive(segment: Segment): boolean {
  return segment.state !== 'ended';
}
