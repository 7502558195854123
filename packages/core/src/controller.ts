/**
 * The use cases of the stream controller. Every driver (TaskRouter webhooks, the Flex plugin API,
 * stream status callbacks, Twilio Functions) calls these same functions. Each use case:
 * - runs under a per-call lock, so two events for one call never interleave;
 * - is idempotent and order-tolerant: it decides from the stored state, so a duplicate or replayed
 *   event changes nothing and an end seen before its start leaves an ended segment with no stream;
 * - never throws Twilio failures: they are retried (429/5xx), end the call's segments (call gone) or
 *   are recorded on the segment. Only bad input throws an `FsError` (4xx).
 */
import type { ControllerConfig } from './config.js';
import { createFsError, isFsError, type FsErrorCode } from './errors.js';
import {
  currentStream,
  isSegmentLive,
  isStreamLive,
  pauseLifecycle,
  segmentLifecycle,
  streamLifecycle,
  tracksUsedBy,
  type RecordedError,
  type Segment,
  type SegmentEndReason,
  type SegmentStream,
  type StreamStopReason,
  type TransferMode,
} from './model.js';
import { parseStreamName, streamNameFor, streamParametersFor } from './naming.js';
import type { CallStatus, Clock, IdGenerator, Logger, SegmentStore, VoicePort } from './ports.js';
import { classifyVoiceError, isVoiceApiError } from './ports.js';
import { withRetry } from './retry.js';
import { createKeyedSerializer, type KeyedSerializer } from './serialize.js';
import { createStreamStrategy, type StreamStrategy } from './strategies.js';

/** Everything the use cases need, passed in (style §1). */
export interface ControllerDeps {
  voice: VoicePort;
  store: SegmentStore;
  clock: Clock;
  logger: Logger;
  newId: IdGenerator;
  config: ControllerConfig;
  /** Jitter source in [0, 1); `Math.random` when absent. */
  random?: () => number;
  /** Share one serializer between controllers of one process; a new one when absent. */
  serializer?: KeyedSerializer;
}

/**
 * `applied`: state changed. `duplicate`: the event was already applied. `ignored`: nothing to do
 * (e.g. accepted for a segment that already ended). `failed`: the change was recorded but Twilio
 * (or protection) failed; see `error`.
 */
export type UseCaseOutcome = 'applied' | 'duplicate' | 'ignored' | 'failed';

/** What every use case returns: the outcome, a sentence for logs/HTTP, the segments concerned. */
export interface UseCaseResult {
  outcome: UseCaseOutcome;
  detail: string;
  segments: Segment[];
  error?: RecordedError;
}

/** A reservation was accepted: a segment starts. */
export interface ReservationAcceptedInput {
  reservationSid: string;
  taskSid: string;
  workerSid: string;
  /** `task.attributes.call_sid`, set by `<Enqueue>` (twilio-facts §6). */
  customerCallSid: string;
  conferenceSid?: string;
  /** Required when the configured leg is `worker`. */
  workerCallSid?: string;
  /**
   * When absent it is derived: no earlier segment on the call → `none`; the previous segment still
   * live → `warm` (both agents on the call); the previous segment ended → `cold`.
   */
  transferMode?: TransferMode;
}

/** Reservation events that end a segment (TaskRouter `reservation.*`, twilio-facts §6–7). */
export type ReservationEndEvent = 'wrapup' | 'completed' | 'canceled' | 'rescinded' | 'timeout';

/** A reservation left: its segment ends (or is recorded ended if not yet seen). */
export interface ReservationEndedInput {
  reservationSid: string;
  taskSid: string;
  workerSid: string;
  customerCallSid: string;
  event: ReservationEndEvent;
}

/** A task was canceled or completed: all its live segments end. */
export interface TaskEndedInput {
  taskSid: string;
  customerCallSid: string;
  event: 'canceled' | 'completed';
}

/** An agent's own call leg ended. */
export interface WorkerLegEndedInput {
  customerCallSid: string;
  workerCallSid: string;
}

/** Twilio's final call statuses: the call is over (twilio-facts §4, `call_enum_status`). */
export const FINAL_CALL_STATUSES: readonly CallStatus[] = [
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
];

/**
 * Every call status a status callback may carry: the v2010 `call_enum_status` values, plus
 * `initiated`, which Twilio reports to status callbacks of outbound calls (UNCONFIRMED: not in the
 * spec's enum; an agent leg's StatusCallback may send it).
 */
const CALL_STATUSES: readonly string[] = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  ...FINAL_CALL_STATUSES,
];

/** A conference's friendly_name is at most 128 characters (twilio-facts §4). */
const MAX_FRIENDLY_NAME = 128;

/**
 * A call status callback (`CallSid`, `CallStatus`): the customer's call (a phone number's "call
 * status changes" webhook) or an agent's leg. Only a final status acts.
 */
export interface CallStatusInput {
  callSid: string;
  callStatus: CallStatus | 'initiated';
}

/**
 * A conference status callback the Flex plugin asked for (`conferenceStatusCallback` on accept,
 * twilio-facts §4, §6): `participant-join` or `participant-leave` of `callSid`, or
 * `conference-end` (no `callSid`).
 */
export interface ConferenceEventInput {
  conferenceSid: string;
  /** Flex names the conference after the task (`WT…`). */
  friendlyName: string;
  event: 'participant-join' | 'participant-leave' | 'conference-end';
  callSid?: string;
  /**
   * `ParticipantCallStatus` of a `participant-leave` (twilio-facts §4): the leaving call's status.
   * When given, it says whether the customer's call goes on (a twiml redirect) or is over,
   * without a FetchCall.
   */
  participantCallStatus?: string;
}

/** A Media Streams status callback (twilio-facts §2), mapped to camelCase by the adapter. */
export interface StreamStatusInput {
  callSid: string;
  streamSid: string;
  streamName: string;
  event: 'stream-started' | 'stream-stopped' | 'stream-error';
  error?: string;
}

/** Pause (PCI) or resume a segment's streaming. */
export interface PauseInput {
  reservationSid: string;
  /** When the request comes from an agent: must be the segment's worker. */
  actorWorkerSid?: string;
  reason?: string;
  /** Makes a retried request a no-op. */
  idempotencyKey?: string;
}

/** Make the customer leg safe before a transfer (twiml strategy; a no-op for rest). */
export interface PrepareTransferInput {
  reservationSid: string;
  actorWorkerSid?: string;
}

/** The controller's use cases, bound to their ports. */
export interface StreamController {
  reservationAccepted(input: ReservationAcceptedInput): Promise<UseCaseResult>;
  reservationEnded(input: ReservationEndedInput): Promise<UseCaseResult>;
  taskEnded(input: TaskEndedInput): Promise<UseCaseResult>;
  workerLegEnded(input: WorkerLegEndedInput): Promise<UseCaseResult>;
  /** The customer's call ended (hang-up): every live segment ends, no Twilio request is made. */
  callEnded(input: { customerCallSid: string }): Promise<UseCaseResult>;
  streamStatus(input: StreamStatusInput): Promise<UseCaseResult>;
  /**
   * A call status callback: a final status of a customer call ends its segments (no Twilio
   * request), of an agent's leg ends that agent's live segments (`worker-left`).
   */
  callStatus(input: CallStatusInput): Promise<UseCaseResult>;
  /**
   * A conference status callback. The customer leaves the conference on every twiml redirect, so
   * their `participant-leave` (and `conference-end`) is checked against the call's status first.
   */
  conferenceEvent(input: ConferenceEventInput): Promise<UseCaseResult>;
  /**
   * Looks at a call the way no callback can: when a live segment has no stream running (paused,
   * deferred, failed to start, or started without a confirmation), the customer's (and the agent's)
   * call status is read, and a call that is over ends its segments; streams waiting for the
   * agent's leg (twiml) and starts that failed (at most `maxStreamRestarts` per segment) are tried
   * again. A call with every stream running is left alone (a stream Twilio stops tells
   * `streamStatus`) unless `full`: then its status is read too, for callbacks that were lost
   * (the controller was down, say).
   */
  reconcile(input: { customerCallSid: string; full?: boolean }): Promise<UseCaseResult>;
  /** The customer calls with a live segment (what a reconciler visits). */
  liveCalls(): Promise<string[]>;
  pause(input: PauseInput): Promise<UseCaseResult>;
  resume(input: PauseInput): Promise<UseCaseResult>;
  prepareTransfer(input: PrepareTransferInput): Promise<UseCaseResult>;
  /** The call's segments in order, with their streams and pauses. */
  segmentsOfCall(customerCallSid: string): Promise<Segment[]>;
}

const SID_BODY = /^[0-9a-fA-F]{32}$/;

/** True when `value` looks like a Twilio SID with the given two-letter prefix (`CA`, `WR`, …). */
export function isSid(value: unknown, prefix: string): value is string {
  return (
    typeof value === 'string' &&
    value.length === 34 &&
    value.startsWith(prefix) &&
    SID_BODY.test(value.slice(2))
  );
}

function requireSid(value: unknown, prefix: string, field: string): void {
  if (!isSid(value, prefix)) {
    throw createFsError(
      'FS_ERR_INVALID_INPUT',
      `${field} must be a Twilio SID starting with ${prefix} followed by 32 hex digits; got ${JSON.stringify(value)}`,
    );
  }
}

function requireOneOf(value: unknown, allowed: readonly string[], field: string): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw createFsError(
      'FS_ERR_INVALID_INPUT',
      `${field} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`,
    );
  }
}

function requireShortText(value: unknown, max: number, field: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.length > max)) {
    throw createFsError(
      'FS_ERR_INVALID_INPUT',
      `${field} must be a string of at most ${max} characters when given`,
    );
  }
}

const RESERVATION_END_EVENTS: readonly ReservationEndEvent[] = [
  'wrapup',
  'completed',
  'canceled',
  'rescinded',
  'timeout',
];

interface Ctx {
  deps: ControllerDeps;
  strategy: StreamStrategy;
}

/** One use case's view of one call: its segments, changed in memory, written back by `flush`. */
class CallWork {
  private readonly changed = new Set<Segment>();

  constructor(
    readonly ctx: Ctx,
    readonly customerCallSid: string,
    readonly segments: Segment[],
  ) {}

  touch(segment: Segment): void {
    this.changed.add(segment);
  }

  async flush(): Promise<void> {
    for (const segment of this.segments) {
      if (!this.changed.has(segment)) continue;
      const saved = await this.ctx.deps.store.put(segment, segment.version);
      segment.version = saved.version;
    }
    this.changed.clear();
  }
}

function now(work: CallWork): number {
  return work.ctx.deps.clock.now();
}

function logFields(segment: Segment, stream?: SegmentStream): Record<string, unknown> {
  return {
    callSid: segment.customerCallSid,
    taskSid: segment.taskSid,
    reservationSid: segment.reservationSid,
    segmentId: segment.id,
    ...(stream === undefined ? {} : { streamName: stream.name, streamSid: stream.sid }),
  };
}

/** Turns a port or strategy failure into a {@link RecordedError}. */
function recordFor(at: number, error: unknown): RecordedError {
  if (isFsError(error)) {
    return { at, code: error.code, twilioCode: null, httpStatus: null, message: error.message };
  }
  if (isVoiceApiError(error)) {
    const kind = classifyVoiceError(error);
    const code: FsErrorCode =
      kind === 'retryable'
        ? 'FS_ERR_TWILIO_UNAVAILABLE'
        : kind === 'call-gone'
          ? 'FS_ERR_CALL_GONE'
          : 'FS_ERR_TWILIO_REJECTED';
    return { at, code, twilioCode: error.code, httpStatus: error.status, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { at, code: 'FS_ERR_TWILIO_REJECTED', twilioCode: null, httpStatus: null, message };
}

function recordOn(work: CallWork, segment: Segment, error: RecordedError): void {
  segment.errors.push(error);
  work.touch(segment);
  work.ctx.deps.logger.error(
    { ...logFields(segment), code: error.code, twilioCode: error.twilioCode },
    error.message,
  );
}

function setStreamState(
  work: CallWork,
  segment: Segment,
  stream: SegmentStream,
  to: SegmentStream['state'],
  action: string,
  reason?: StreamStopReason,
): void {
  stream.state = streamLifecycle.assert(stream.state, to, action);
  if (to === 'streaming') stream.startedAt ??= now(work);
  if (to === 'stopped' || to === 'failed') {
    stream.endedAt = now(work);
    stream.stopReason = reason ?? null;
  }
  work.touch(segment);
}

function liveTracksOn(work: CallWork, callSid: string): number {
  let used = 0;
  for (const segment of work.segments) {
    for (const stream of segment.streams) {
      if (stream.callSid === callSid && isStreamLive(stream)) used += tracksUsedBy(stream.track);
    }
  }
  return used;
}

/**
 * The call is gone (20404/21220 on a start or redirect, or the customer hung up): every live
 * segment ends with `call-ended`, every stream still counted is marked stopped. Twilio stops
 * streams itself when their call ends, so no request is made.
 */
function endCall(work: CallWork, error: RecordedError | null, origin: Segment | null): void {
  if (error !== null && origin !== null) recordOn(work, origin, error);
  for (const segment of work.segments) {
    if (isSegmentLive(segment)) markEnded(work, segment, 'call-ended');
    const stream = currentStream(segment);
    if (stream !== undefined && (isStreamLive(stream) || stream.state === 'deferred')) {
      setStreamState(work, segment, stream, 'stopped', 'stop', 'call-ended');
    }
  }
}

function markEnded(work: CallWork, segment: Segment, reason: SegmentEndReason): void {
  segment.state = segmentLifecycle.assert(segment.state, 'ended', 'end');
  segment.endedAt = now(work);
  segment.endReason = reason;
  for (const pause of segment.pauses) {
    if (pause.state === 'open') closePause(work, pause);
  }
  work.touch(segment);
}

function closePause(work: CallWork, pause: Segment['pauses'][number]): void {
  pause.state = pauseLifecycle.assert(pause.state, 'closed', 'close');
  pause.endedAt = now(work);
  pause.durationMs = pause.endedAt - pause.startedAt;
}

/** Handles a failed start/stop request. Returns the recorded error. */
function handleFailure(
  work: CallWork,
  segment: Segment,
  stream: SegmentStream,
  error: unknown,
  during: 'start' | 'stop',
): RecordedError {
  const recorded = recordFor(now(work), error);
  const kind = classifyVoiceError(error);
  if (kind === 'call-gone' && stream.leg === 'worker') {
    // The agent's own leg is gone: only this segment ends; the customer's call goes on.
    recordOn(work, segment, recorded);
    if (isStreamLive(stream))
      setStreamState(work, segment, stream, 'stopped', 'stop', 'call-ended');
    if (isSegmentLive(segment)) markEnded(work, segment, 'worker-left');
    return recorded;
  }
  if (kind === 'call-gone') {
    endCall(work, recorded, segment);
    return recorded;
  }
  stream.error = recorded;
  if (during === 'start' && isStreamLive(stream)) {
    setStreamState(work, segment, stream, 'failed', 'fail', 'start-failed');
  }
  // A failed stop leaves the stream as it was: Twilio may still be streaming it, and the
  // budget must keep counting it.
  recordOn(work, segment, recorded);
  return recorded;
}

async function requestStart(
  work: CallWork,
  segment: Segment,
  stream: SegmentStream,
): Promise<RecordedError | null> {
  const { logger } = work.ctx.deps;
  stream.requestedAt = now(work);
  work.touch(segment);
  // Write ahead: the run is stored before Twilio is asked, so a second controller process that
  // raced us on the same segment fails its write (FS_ERR_STORE_CONFLICT) instead of starting a
  // second stream. Within one process the per-call lock already orders them.
  await work.flush();
  try {
    const outcome = await work.ctx.strategy.start(segment, stream);
    stream.sid ??= outcome.sid;
    work.touch(segment);
    for (const warning of outcome.warnings) recordOn(work, segment, recordFor(now(work), warning));
    logger.info(logFields(segment, stream), 'stream start requested');
    return null;
  } catch (error) {
    if (isFsError(error, 'FS_ERR_CUSTOMER_ALONE') && isStreamLive(stream)) {
      // Not a failure: the agent's leg has not joined yet. The stream waits and is tried again
      // by the next event on the call or by `reconcile`.
      setStreamState(work, segment, stream, 'deferred', 'defer');
      stream.deferredFor = 'agent-leg';
      stream.deferredReason = error.message;
      work.ctx.deps.logger.warn(logFields(segment, stream), error.message);
      return null;
    }
    return handleFailure(work, segment, stream, error, 'start');
  }
}

/**
 * Adds stream run `continuation` to an active segment: started at once if the call's track
 * budget has room, otherwise `deferred` with the reason.
 */
async function startStream(work: CallWork, segment: Segment): Promise<RecordedError | null> {
  const { config, logger } = work.ctx.deps;
  const continuation = segment.streams.length;
  const leg = config.leg;
  const callSid = leg === 'customer' ? segment.customerCallSid : segment.workerCallSid;
  if (callSid === null) {
    // Checked on input; a segment without its worker leg cannot stream on it.
    const error = recordFor(
      now(work),
      createFsError('FS_ERR_INVALID_INPUT', `segment ${segment.id} has no worker call SID`),
    );
    recordOn(work, segment, error);
    return error;
  }
  const stream: SegmentStream = {
    continuation,
    name: streamNameFor(segment.reservationSid, continuation),
    state: 'starting',
    sid: null,
    callSid,
    leg,
    track: config.track,
    strategy: config.strategy,
    parameters: {},
    deferredReason: null,
    deferredFor: null,
    requestedAt: null,
    startedAt: null,
    endedAt: null,
    stopReason: null,
    error: null,
  };
  stream.parameters = streamParametersFor(segment, stream);
  const used = liveTracksOn(work, callSid);
  const needed = tracksUsedBy(config.track);
  segment.streams.push(stream);
  work.touch(segment);
  if (used + needed > config.maxTracksPerCall) {
    stream.state = 'deferred';
    stream.deferredFor = 'track-budget';
    stream.deferredReason = `track budget: ${used} of ${config.maxTracksPerCall} forked tracks already in use on call ${callSid} and ${config.track} needs ${needed}; starts when another stream stops`;
    logger.warn(logFields(segment, stream), stream.deferredReason);
    return null;
  }
  return requestStart(work, segment, stream);
}

/**
 * Reads `callSid`'s status (FetchCall, retried): true when the call is over (a final status, or
 * 20404/21220), false while it goes on, null when it could not be read (recorded on `segment`).
 */
async function callIsOver(
  work: CallWork,
  segment: Segment,
  callSid: string,
): Promise<boolean | null> {
  const { deps } = work.ctx;
  try {
    const status = await withRetry(
      { clock: deps.clock, logger: deps.logger, random: deps.random ?? Math.random },
      deps.config.retry,
      'fetch call',
      () => deps.voice.fetchCallStatus(callSid),
    );
    return FINAL_CALL_STATUSES.includes(status);
  } catch (error) {
    if (classifyVoiceError(error) === 'call-gone') return true;
    recordOn(work, segment, recordFor(now(work), error));
    return null;
  }
}

function isLive(stream: SegmentStream | undefined): boolean {
  return stream !== undefined && isStreamLive(stream);
}

/**
 * A segment carries its conference (issue 5). The twiml strategy finds it to protect the
 * customer; with `rest` it is read once, after the stream was asked for (so the stream does not
 * wait for it), when neither the event nor an earlier segment of the task named it. Best effort:
 * a conference Flex has not built yet, or a failed read, leaves it unknown (logged).
 */
async function learnConference(work: CallWork, segment: Segment): Promise<void> {
  const { deps } = work.ctx;
  // twiml looks the conference up itself (and a failed look is not worth repeating here).
  if (segment.conferenceSid !== null || !isSegmentLive(segment) || deps.config.strategy !== 'rest')
    return;
  try {
    const found = await deps.voice.findInProgressConference(segment.taskSid);
    if (found === null) return;
    segment.conferenceSid = found;
    work.touch(segment);
  } catch (error) {
    deps.logger.warn(
      { ...logFields(segment), kind: classifyVoiceError(error) },
      "could not read the task's conference; the segment keeps it unknown",
    );
  }
}

/** Live segments whose current stream is not confirmed running: no callback will tell of them. */
function unwatched(work: CallWork): Segment[] {
  return work.segments.filter((s) => isSegmentLive(s) && currentStream(s)?.state !== 'streaming');
}

/**
 * Starts deferred streams, oldest segment first: those waiting for the track budget while it has
 * room, and (`withAgentLeg`) those waiting for the agent's leg to join, which are tried again.
 */
async function startDeferred(work: CallWork, withAgentLeg = true): Promise<void> {
  const { config } = work.ctx.deps;
  for (const segment of work.segments) {
    const stream = currentStream(segment);
    if (segment.state !== 'active' || stream?.state !== 'deferred') continue;
    if (stream.deferredFor === 'agent-leg' && !withAgentLeg) continue;
    // The deferred stream itself is not counted (deferred is not live).
    if (liveTracksOn(work, stream.callSid) + tracksUsedBy(stream.track) > config.maxTracksPerCall) {
      continue;
    }
    setStreamState(work, segment, stream, 'starting', 'start');
    // `deferredFor` stays: this run waited, so it starts after its segment by design.
    stream.deferredReason = null;
    await requestStart(work, segment, stream);
  }
}

/** Stops the segment's current stream (if it runs or waits) for `reason`. */
async function stopStream(
  work: CallWork,
  segment: Segment,
  reason: StreamStopReason,
): Promise<RecordedError | null> {
  const stream = currentStream(segment);
  if (stream === undefined) return null;
  if (stream.state === 'deferred') {
    setStreamState(work, segment, stream, 'stopped', 'stop', reason);
    return null;
  }
  if (!isStreamLive(stream)) return null;
  try {
    const { warnings } = await work.ctx.strategy.stop(segment, stream);
    for (const warning of warnings) recordOn(work, segment, recordFor(now(work), warning));
  } catch (error) {
    if (!(isVoiceApiError(error) && error.code === 20404)) {
      return handleFailure(work, segment, stream, error, 'stop');
    }
    // Stopping an unknown or already stopped stream answers 404/20404 (UNCONFIRMED, twilio-facts
    // §2): either way the stream no longer runs, which is what the stop wanted. Kept on the stream
    // for diagnosis, not reported as a failure.
    stream.error = recordFor(now(work), error);
    work.ctx.deps.logger.warn(
      logFields(segment, stream),
      'stream was already gone when stopped (20404); its stopped callback was probably lost',
    );
  }
  if (isStreamLive(stream)) setStreamState(work, segment, stream, 'stopped', 'stop', reason);
  work.ctx.deps.logger.info(logFields(segment, stream), `stream stopped (${reason})`);
  return null;
}

/** Ends a live segment: its stream stops first, then waiting segments may take the freed tracks. */
async function endSegment(
  work: CallWork,
  segment: Segment,
  reason: SegmentEndReason,
): Promise<RecordedError | null> {
  if (!isSegmentLive(segment)) return null;
  markEnded(work, segment, reason);
  const error = await stopStream(work, segment, 'segment-ended');
  await startDeferred(work);
  return error;
}

/** Ends each segment in turn; returns the first recorded error. */
async function endAll(
  work: CallWork,
  segments: readonly Segment[],
  reason: SegmentEndReason,
): Promise<RecordedError | null> {
  let first: RecordedError | null = null;
  for (const segment of segments) {
    // Not `first ??= await …`: that would skip ending the rest once one failed.
    const error = await endSegment(work, segment, reason);
    first ??= error;
  }
  return first;
}

function result(
  outcome: UseCaseOutcome,
  detail: string,
  segments: Segment[],
  error?: RecordedError | null,
): UseCaseResult {
  const copies = segments.map((s) => structuredClone(s));
  if (error !== null && error !== undefined) {
    return { outcome: outcome === 'applied' ? 'failed' : outcome, detail, segments: copies, error };
  }
  return { outcome, detail, segments: copies };
}

function newSegment(
  work: CallWork,
  input: Omit<ReservationAcceptedInput, 'transferMode'> & { transferMode: TransferMode },
  state: 'active' | 'ended',
): Segment {
  const previous = work.segments[work.segments.length - 1];
  const segment: Segment = {
    id: work.ctx.deps.newId(),
    version: 0,
    index: work.segments.length,
    previousSegmentId: previous?.id ?? null,
    customerCallSid: input.customerCallSid,
    taskSid: input.taskSid,
    reservationSid: input.reservationSid,
    workerSid: input.workerSid,
    // A task keeps its conference through transfers (Flex names it after the task): an earlier
    // segment's saves the twiml strategy a lookup. If it has ended since, the strategy finds the
    // task's conference again.
    conferenceSid:
      input.conferenceSid ??
      work.segments.findLast((s) => s.taskSid === input.taskSid && s.conferenceSid !== null)
        ?.conferenceSid ??
      null,
    workerCallSid: input.workerCallSid ?? null,
    transferMode: input.transferMode,
    state,
    startedAt: state === 'active' ? now(work) : null,
    endedAt: null,
    endReason: null,
    pauses: [],
    streams: [],
    errors: [],
  };
  work.segments.push(segment);
  work.touch(segment);
  return segment;
}

function checkOwner(segment: Segment, actorWorkerSid: string | undefined): void {
  if (actorWorkerSid !== undefined && actorWorkerSid !== segment.workerSid) {
    throw createFsError(
      'FS_ERR_NOT_SEGMENT_OWNER',
      `worker ${actorWorkerSid} may not act on reservation ${segment.reservationSid}, which belongs to worker ${segment.workerSid}`,
    );
  }
}

/**
 * Creates the controller: the use cases bound to `deps`, each serialised per customer call.
 * Throws nothing at creation; `deps.config` is already validated by `createControllerConfig`.
 */
export function createStreamController(deps: ControllerDeps): StreamController {
  const ctx: Ctx = {
    deps,
    strategy: createStreamStrategy({
      voice: deps.voice,
      clock: deps.clock,
      logger: deps.logger,
      random: deps.random ?? Math.random,
      config: deps.config,
    }),
  };
  const serializer = deps.serializer ?? createKeyedSerializer();

  function onCall<T>(customerCallSid: string, task: (work: CallWork) => Promise<T>): Promise<T> {
    return serializer.run(customerCallSid, async () => {
      const work = new CallWork(ctx, customerCallSid, await deps.store.listByCall(customerCallSid));
      let value: T;
      try {
        value = await task(work);
      } catch (error) {
        // Keep what was done before the failure (Twilio may have acted on it); report the
        // original error, not a secondary one from the store.
        await work.flush().catch((flushError: unknown) => {
          deps.logger.error(
            { callSid: customerCallSid, error: String(flushError) },
            'could not store the segments after a failed event',
          );
        });
        throw error;
      }
      await work.flush();
      return value;
    });
  }

  /**
   * Runs `task` on the segment of `reservationSid` under its call's lock, after checking that
   * `actorWorkerSid` (when given) owns it. For requests that name a reservation, not a call.
   */
  async function onSegment<T>(
    input: {
      reservationSid: string;
      actorWorkerSid?: string;
      reason?: string;
      idempotencyKey?: string;
    },
    task: (work: CallWork, segment: Segment) => Promise<T>,
  ): Promise<T> {
    if (input.actorWorkerSid !== undefined)
      requireSid(input.actorWorkerSid, 'WK', 'actorWorkerSid');
    requireShortText(input.reason, 200, 'reason');
    requireShortText(input.idempotencyKey, 200, 'idempotencyKey');
    const found = await segmentByReservation(input.reservationSid);
    checkOwner(found, input.actorWorkerSid);
    return onCall(found.customerCallSid, (work) => task(work, find(work, input.reservationSid)));
  }

  /**
   * The customer call a call SID belongs to: its own when it has segments (a customer call), or
   * the call of a live segment on that agent leg; null when it is none of ours.
   */
  async function callOfLeg(
    callSid: string,
  ): Promise<{ customerCallSid: string; leg: 'customer' | 'worker' } | null> {
    if ((await deps.store.listByCall(callSid)).length > 0) {
      return { customerCallSid: callSid, leg: 'customer' };
    }
    for (const customerCallSid of await deps.store.listLiveCalls()) {
      const segments = await deps.store.listByCall(customerCallSid);
      if (segments.some((s) => s.workerCallSid === callSid && isSegmentLive(s))) {
        return { customerCallSid, leg: 'worker' };
      }
    }
    return null;
  }

  /** Ends the live segments on agent leg `workerCallSid` (`worker-left`). */
  async function endWorkerLeg(work: CallWork, workerCallSid: string): Promise<UseCaseResult> {
    const live = work.segments.filter((s) => s.workerCallSid === workerCallSid && isSegmentLive(s));
    if (live.length === 0) return result('ignored', 'no live segment on this worker leg', []);
    const error = await endAll(work, live, 'worker-left');
    return result('applied', 'segment ended (worker left)', live, error);
  }

  /** Ends every live segment of the call (the customer's call is over); no Twilio request. */
  function endWholeCall(work: CallWork, why: string): UseCaseResult {
    const live = work.segments.filter(isSegmentLive);
    endCall(work, null, null);
    return live.length === 0
      ? result('duplicate', 'no live segment on this call', [])
      : result('applied', `${live.length} segment(s) ended (${why})`, live);
  }

  async function segmentByReservation(reservationSid: string): Promise<Segment> {
    requireSid(reservationSid, 'WR', 'reservationSid');
    const segment = await deps.store.getByReservation(reservationSid);
    if (segment === null) {
      throw createFsError(
        'FS_ERR_SEGMENT_NOT_FOUND',
        `no segment for reservation ${reservationSid}: it was never accepted here`,
      );
    }
    return segment;
  }

  function find(work: CallWork, reservationSid: string): Segment {
    const segment = work.segments.find((s) => s.reservationSid === reservationSid);
    if (segment === undefined) {
      throw createFsError(
        'FS_ERR_SEGMENT_NOT_FOUND',
        `no segment for reservation ${reservationSid}`,
      );
    }
    return segment;
  }

  return {
    async reservationAccepted(input) {
      requireSid(input.reservationSid, 'WR', 'reservationSid');
      requireSid(input.taskSid, 'WT', 'taskSid');
      requireSid(input.workerSid, 'WK', 'workerSid');
      requireSid(input.customerCallSid, 'CA', 'customerCallSid');
      if (input.conferenceSid !== undefined) requireSid(input.conferenceSid, 'CF', 'conferenceSid');
      if (input.workerCallSid !== undefined) requireSid(input.workerCallSid, 'CA', 'workerCallSid');
      if (deps.config.leg === 'worker' && input.workerCallSid === undefined) {
        throw createFsError(
          'FS_ERR_INVALID_INPUT',
          "workerCallSid is required when streaming the worker leg (leg 'worker')",
        );
      }
      if (input.transferMode !== undefined) {
        requireOneOf(input.transferMode, ['none', 'warm', 'cold'], 'transferMode');
      }
      return onCall(input.customerCallSid, async (work) => {
        const existing = work.segments.find((s) => s.reservationSid === input.reservationSid);
        const current = existing === undefined ? undefined : currentStream(existing);
        if (
          existing?.state === 'active' &&
          current?.stopReason === 'start-failed' &&
          existing.streams.filter((t) => t.stopReason === 'start-failed').length <=
            deps.config.maxStreamRestarts
        ) {
          // The start failed (Twilio unavailable after retries, or refused): a repeated accept or
          // plugin start is the driver retrying, so the segment gets a new run (next
          // continuation), bounded like stream-error restarts.
          const error = await startStream(work, existing);
          return result(
            'applied',
            'segment stream started again after a failed start',
            [existing],
            error,
          );
        }
        if (existing?.state === 'active' && current?.deferredFor === 'agent-leg') {
          if (current.state === 'deferred') {
            // A repeated accept (or plugin start) is a moment the agent's leg may have joined.
            await startDeferred(work);
            const now = currentStream(existing);
            return result(
              'applied',
              now?.state === 'deferred'
                ? `stream still deferred: ${now.deferredReason ?? ''}`
                : 'segment stream started once the agent joined',
              [existing],
            );
          }
        }
        if (existing !== undefined) {
          return existing.state === 'ended'
            ? result('ignored', `segment already ended (${existing.endReason ?? 'unknown'})`, [
                existing,
              ])
            : result('duplicate', 'segment already started', [existing]);
        }
        const previous = work.segments[work.segments.length - 1];
        const transferMode =
          input.transferMode ??
          (previous === undefined ? 'none' : isSegmentLive(previous) ? 'warm' : 'cold');
        const segment = newSegment(work, { ...input, transferMode }, 'active');
        deps.logger.info(logFields(segment), 'segment started');
        const error = await startStream(work, segment);
        await learnConference(work, segment);
        const stream = currentStream(segment);
        const detail =
          stream?.state === 'deferred'
            ? `stream deferred: ${stream.deferredReason ?? ''}`
            : 'segment started';
        return result('applied', detail, [segment], error);
      });
    },

    async reservationEnded(input) {
      requireSid(input.reservationSid, 'WR', 'reservationSid');
      requireSid(input.taskSid, 'WT', 'taskSid');
      requireSid(input.workerSid, 'WK', 'workerSid');
      requireSid(input.customerCallSid, 'CA', 'customerCallSid');
      requireOneOf(input.event, RESERVATION_END_EVENTS, 'event');
      return onCall(input.customerCallSid, async (work) => {
        const existing = work.segments.find((s) => s.reservationSid === input.reservationSid);
        if (existing === undefined) {
          // Order tolerance: the end arrived before the accept. Remember the segment as ended,
          // so the late `accepted` starts nothing.
          const segment = newSegment(work, { ...input, transferMode: 'none' }, 'ended');
          segment.endedAt = now(work);
          segment.endReason = input.event;
          deps.logger.warn(logFields(segment), `reservation ${input.event} seen before accepted`);
          return result('applied', 'segment recorded as ended before it was accepted', [segment]);
        }
        if (existing.state === 'ended') {
          return result('duplicate', `segment already ended (${existing.endReason ?? ''})`, [
            existing,
          ]);
        }
        const error = await endSegment(work, existing, input.event);
        return result('applied', `segment ended (${input.event})`, [existing], error);
      });
    },

    async taskEnded(input) {
      requireSid(input.taskSid, 'WT', 'taskSid');
      requireSid(input.customerCallSid, 'CA', 'customerCallSid');
      requireOneOf(input.event, ['canceled', 'completed'], 'event');
      return onCall(input.customerCallSid, async (work) => {
        const live = work.segments.filter((s) => s.taskSid === input.taskSid && isSegmentLive(s));
        if (live.length === 0) return result('duplicate', 'no live segment of this task', []);
        const error = await endAll(work, live, `task-${input.event}`);
        return result('applied', `${live.length} segment(s) ended`, live, error);
      });
    },

    async workerLegEnded(input) {
      requireSid(input.customerCallSid, 'CA', 'customerCallSid');
      requireSid(input.workerCallSid, 'CA', 'workerCallSid');
      return onCall(input.customerCallSid, (work) => endWorkerLeg(work, input.workerCallSid));
    },

    async callEnded(input) {
      requireSid(input.customerCallSid, 'CA', 'customerCallSid');
      return onCall(input.customerCallSid, (work) =>
        Promise.resolve(endWholeCall(work, 'call ended')),
      );
    },

    async callStatus(input) {
      requireSid(input.callSid, 'CA', 'callSid');
      requireOneOf(input.callStatus, CALL_STATUSES, 'callStatus');
      if (!FINAL_CALL_STATUSES.includes(input.callStatus as CallStatus)) {
        return result('ignored', `call ${input.callStatus}: not over`, []);
      }
      const found = await callOfLeg(input.callSid);
      if (found === null) return result('ignored', `call ${input.callSid} is not one of ours`, []);
      return onCall(found.customerCallSid, (work) =>
        found.leg === 'customer'
          ? Promise.resolve(endWholeCall(work, `call ${input.callStatus}`))
          : endWorkerLeg(work, input.callSid),
      );
    },

    async conferenceEvent(input) {
      requireSid(input.conferenceSid, 'CF', 'conferenceSid');
      requireShortText(input.friendlyName, MAX_FRIENDLY_NAME, 'friendlyName');
      requireOneOf(
        input.event,
        ['participant-join', 'participant-leave', 'conference-end'],
        'event',
      );
      if (input.event !== 'conference-end' || input.callSid !== undefined) {
        requireSid(input.callSid, 'CA', 'callSid');
      }
      requireShortText(input.participantCallStatus, 40, 'participantCallStatus');
      let customerCallSid: string | null = null;
      let leg: 'customer' | 'worker' = 'customer';
      if (input.event === 'participant-leave' && input.callSid !== undefined) {
        const found = await callOfLeg(input.callSid);
        customerCallSid = found?.customerCallSid ?? null;
        leg = found?.leg ?? 'customer';
      } else {
        // The call whose live segments are in this conference (or in its task's).
        for (const callSid of await deps.store.listLiveCalls()) {
          const segments = await deps.store.listByCall(callSid);
          if (
            segments.some(
              (s) =>
                isSegmentLive(s) &&
                (s.conferenceSid === input.conferenceSid || s.taskSid === input.friendlyName),
            )
          ) {
            customerCallSid = callSid;
            break;
          }
        }
      }
      if (customerCallSid === null) {
        return result('ignored', `no live segment in conference ${input.conferenceSid}`, []);
      }
      const callSid = customerCallSid;
      return onCall(callSid, async (work) => {
        if (input.event === 'participant-join') {
          // Someone joined: a twiml stream waiting for the agent's leg may start now.
          const waiting = work.segments.filter(
            (s) =>
              s.state === 'active' &&
              currentStream(s)?.state === 'deferred' &&
              currentStream(s)?.deferredFor === 'agent-leg',
          );
          if (waiting.length === 0) return result('ignored', 'no stream waits for a join', []);
          await startDeferred(work);
          return result('applied', 'a join: waiting streams tried again', waiting);
        }
        if (leg === 'worker' && input.callSid !== undefined) {
          // An agent's leg left the task's conference: in Flex that is the agent hanging up or
          // being removed; either way their part of the call is over.
          return endWorkerLeg(work, input.callSid);
        }
        const anchor = work.segments.find(isSegmentLive);
        if (anchor === undefined) return result('duplicate', 'no live segment on this call', []);
        // The customer leaves the conference on every twiml redirect and a conference can end
        // while the customer waits elsewhere: only a call that is over ends the segments. The
        // leave's own ParticipantCallStatus says so when Twilio sent it (UNCONFIRMED that it is
        // the call's status after the leave, twilio-facts §4); otherwise the call is read.
        const told = input.event === 'participant-leave' ? input.participantCallStatus : undefined;
        const over =
          told !== undefined && CALL_STATUSES.includes(told)
            ? FINAL_CALL_STATUSES.includes(told as CallStatus)
            : await callIsOver(work, anchor, callSid);
        if (over !== true) {
          return result(
            'ignored',
            over === false
              ? `customer call ${callSid} goes on (${input.event})`
              : `the status of call ${callSid} could not be read`,
            [],
          );
        }
        return endWholeCall(work, input.event);
      });
    },

    async reconcile(input) {
      requireSid(input.customerCallSid, 'CA', 'customerCallSid');
      return onCall(input.customerCallSid, async (work) => {
        const quiet = unwatched(work);
        const anchor = input.full === true ? work.segments.find(isSegmentLive) : quiet[0];
        if (anchor === undefined) {
          return result(
            'ignored',
            work.segments.some(isSegmentLive)
              ? 'every live segment is streaming'
              : 'no live segment on this call',
            [],
          );
        }
        if ((await callIsOver(work, anchor, input.customerCallSid)) === true) {
          return endWholeCall(work, 'call over, found by reconcile');
        }
        const ended: Segment[] = [];
        for (const leg of new Set(quiet.map((s) => s.workerCallSid))) {
          if (leg === null) continue;
          const owner = quiet.find((s) => s.workerCallSid === leg);
          if (owner === undefined || (await callIsOver(work, owner, leg)) !== true) continue;
          ended.push(...(await endWorkerLeg(work, leg)).segments);
        }
        // A start that failed after its retries (Twilio down for longer than they last) is tried
        // again here: with the TaskRouter driver alone nothing else would. Bounded like a
        // repeated accept: at most maxStreamRestarts failed starts per segment.
        const failedStarts = quiet.filter(
          (s) =>
            s.state === 'active' &&
            currentStream(s)?.stopReason === 'start-failed' &&
            s.streams.filter((t) => t.stopReason === 'start-failed').length <=
              deps.config.maxStreamRestarts,
        );
        let error: RecordedError | null = null;
        for (const segment of failedStarts) {
          const failed = await startStream(work, segment);
          error ??= failed;
        }
        const waiting = quiet.filter((s) => currentStream(s)?.state === 'deferred');
        await startDeferred(work);
        const retried = [
          ...failedStarts,
          ...waiting.filter((s) => currentStream(s)?.state !== 'deferred'),
        ];
        const touched = [...ended, ...retried];
        return touched.length === 0
          ? result('ignored', `${quiet.length} segment(s) checked, nothing changed`, [])
          : result(
              'applied',
              `${ended.length} ended, ${retried.filter((s) => isLive(currentStream(s))).length} started`,
              touched,
              error,
            );
      });
    },

    liveCalls() {
      return deps.store.listLiveCalls();
    },

    async streamStatus(input) {
      requireSid(input.callSid, 'CA', 'callSid');
      requireSid(input.streamSid, 'MZ', 'streamSid');
      requireOneOf(input.event, ['stream-started', 'stream-stopped', 'stream-error'], 'event');
      if (typeof input.streamName !== 'string') {
        throw createFsError('FS_ERR_INVALID_INPUT', 'streamName must be a string');
      }
      const parsed = parseStreamName(input.streamName);
      let customerCallSid: string | null = null;
      if (parsed !== null) {
        customerCallSid =
          (await deps.store.getByReservation(parsed.reservationSid))?.customerCallSid ?? null;
      } else {
        const onCustomerLeg = await deps.store.listByCall(input.callSid);
        if (onCustomerLeg.some((s) => s.streams.some((t) => t.sid === input.streamSid))) {
          customerCallSid = input.callSid;
        }
      }
      if (customerCallSid === null) {
        return result('ignored', `stream ${input.streamName} is not one of ours`, []);
      }
      return onCall(customerCallSid, async (work) => {
        let segment: Segment | undefined;
        let stream: SegmentStream | undefined;
        for (const candidate of work.segments) {
          const match = candidate.streams.find((t) =>
            parsed === null
              ? t.sid === input.streamSid
              : candidate.reservationSid === parsed.reservationSid &&
                t.continuation === parsed.continuation,
          );
          if (match !== undefined) {
            segment = candidate;
            stream = match;
            break;
          }
        }
        if (segment === undefined || stream === undefined) {
          return result('ignored', `no stream named ${input.streamName}`, []);
        }
        // A TwiML-started stream's SID is first learned here.
        if (stream.sid === null) {
          stream.sid = input.streamSid;
          work.touch(segment);
        }
        if (input.event === 'stream-started') {
          if (stream.state !== 'starting') {
            return result('duplicate', `stream is ${stream.state}`, [segment]);
          }
          setStreamState(work, segment, stream, 'streaming', 'confirm');
          return result('applied', 'stream streaming', [segment]);
        }
        if (!isStreamLive(stream)) {
          return result('duplicate', `stream is already ${stream.state}`, [segment]);
        }
        if (input.event === 'stream-stopped') {
          // Streams stop on their own when their call ends (twilio-facts §1, §2), with no other
          // sign of it: the stream's call is read. Unreadable: recorded, the segment left as is.
          if (
            isSegmentLive(segment) &&
            (await callIsOver(work, segment, stream.callSid)) === true
          ) {
            // The segment's leg is gone, so is the segment: the customer's call ends them all,
            // an agent's own leg only theirs.
            setStreamState(work, segment, stream, 'stopped', 'stop', 'call-ended');
            if (stream.leg === 'worker') markEnded(work, segment, 'worker-left');
            else endCall(work, null, null);
            await startDeferred(work);
            const ended = work.segments.filter(
              (s) => s.endReason === 'call-ended' || s === segment,
            );
            return result('applied', `stream stopped: call ${stream.callSid} ended`, ended);
          }
          setStreamState(work, segment, stream, 'stopped', 'stop', 'stopped-externally');
          await startDeferred(work);
          return result('applied', 'stream stopped by Twilio', [segment]);
        }
        stream.error = {
          at: now(work),
          code: 'FS_ERR_TWILIO_REJECTED',
          twilioCode: null,
          httpStatus: null,
          // Twilio's StreamError text, bounded: it is stored and logged.
          message: (input.error ?? 'stream-error without a message').slice(0, 500),
        };
        setStreamState(work, segment, stream, 'failed', 'fail', 'stream-error');
        const failures = segment.streams.filter((t) => t.stopReason === 'stream-error').length;
        let error: RecordedError | null = null;
        let detail = 'stream failed';
        if (segment.state === 'active' && failures <= deps.config.maxStreamRestarts) {
          // Self-heal: the same segment, next continuation (bounded by maxStreamRestarts).
          error = await startStream(work, segment);
          detail = `stream failed; restarted as continuation ${segment.streams.length - 1}`;
        } else if (segment.state === 'active') {
          error = recordFor(
            now(work),
            createFsError(
              'FS_ERR_STREAM_RESTARTS_EXHAUSTED',
              `stream failed ${failures} times; not restarting (maxStreamRestarts=${deps.config.maxStreamRestarts})`,
            ),
          );
          recordOn(work, segment, error);
          detail = 'stream failed; restarts exhausted';
        }
        await startDeferred(work);
        return result('applied', detail, [segment], error);
      });
    },

    pause(input) {
      return onSegment(input, async (work, segment) => {
        const key = input.idempotencyKey ?? null;
        if (key !== null && segment.pauses.some((p) => p.pauseKey === key)) {
          return result('duplicate', 'pause already applied', [segment]);
        }
        if (segment.state !== 'active') {
          return result(
            segment.state === 'paused' ? 'duplicate' : 'ignored',
            `segment is ${segment.state}`,
            [segment],
          );
        }
        segment.state = segmentLifecycle.assert(segment.state, 'paused', 'pause');
        segment.pauses.push({
          state: 'open',
          by: input.actorWorkerSid ?? 'system',
          reason: input.reason ?? null,
          pauseKey: key,
          resumeKey: null,
          startedAt: now(work),
          endedAt: null,
          durationMs: null,
        });
        work.touch(segment);
        const error = await stopStream(work, segment, 'paused');
        await startDeferred(work);
        return result('applied', 'segment paused', [segment], error);
      });
    },

    resume(input) {
      return onSegment(input, async (work, segment) => {
        const key = input.idempotencyKey ?? null;
        if (key !== null && segment.pauses.some((p) => p.resumeKey === key)) {
          return result('duplicate', 'resume already applied', [segment]);
        }
        if (segment.state !== 'paused') {
          return result(
            segment.state === 'active' ? 'duplicate' : 'ignored',
            `segment is ${segment.state}`,
            [segment],
          );
        }
        const pause = segment.pauses.find((p) => p.state === 'open');
        if (pause !== undefined) {
          closePause(work, pause);
          pause.resumeKey = key;
        }
        segment.state = segmentLifecycle.assert(segment.state, 'active', 'resume');
        work.touch(segment);
        const error = await startStream(work, segment);
        return result('applied', 'segment resumed', [segment], error);
      });
    },

    prepareTransfer(input) {
      return onSegment(input, async (work, segment) => {
        if (!isSegmentLive(segment)) return result('ignored', 'segment already ended', [segment]);
        try {
          const done = await ctx.strategy.prepareTransfer(segment);
          work.touch(segment);
          return result('applied', `customer leg ${done}`, [segment]);
        } catch (error) {
          const recorded = recordFor(now(work), error);
          if (classifyVoiceError(error) === 'call-gone') endCall(work, recorded, segment);
          else recordOn(work, segment, recorded);
          return result('applied', 'customer leg could not be protected', [segment], recorded);
        }
      });
    },

    async segmentsOfCall(customerCallSid) {
      requireSid(customerCallSid, 'CA', 'customerCallSid');
      return deps.store.listByCall(customerCallSid);
    },
  };
}
