/**
 * The ports the core needs from the outside world. Adapters implement them (the `twilio` SDK for
 * `VoicePort`, a file store, pino for `Logger`); tests use the honest fakes in `testing/`.
 */
import type { Segment, StreamTrack } from './model.js';

/** Parameters of `POST /Calls/{CallSid}/Streams.json` (twilio-facts §2), in camelCase. */
export interface CreateStreamRequest {
  /** Absolute `wss://` URL without a query string. */
  url: string;
  name: string;
  track: StreamTrack;
  statusCallback?: string;
  /** Sent as `Parameter1.Name`/`Parameter1.Value` … (at most 99 pairs). */
  parameters: Readonly<Record<string, string>>;
}

/** Twilio's Stream resource, as far as the core reads it. */
export interface StreamResource {
  sid: string;
  name: string | null;
  status: 'in-progress' | 'stopped';
}

/** Twilio's conference Participant resource, as far as the core reads it (twilio-facts §4). */
export interface ParticipantResource {
  callSid: string;
  conferenceSid: string;
  hold: boolean;
  endConferenceOnExit: boolean;
}

/** Twilio's Call `status` values (twilio-facts §4, `call_enum_status`). */
export type CallStatus =
  'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/**
 * The Twilio Voice REST operations the core uses, shaped on the v2010 API. Every method either
 * resolves with Twilio's answer or rejects with a {@link VoiceApiError}.
 */
export interface VoicePort {
  /** `POST /Calls/{callSid}/Streams.json` (CreateStream). */
  createStream(callSid: string, request: CreateStreamRequest): Promise<StreamResource>;
  /** `POST /Calls/{callSid}/Streams/{sidOrName}.json` with `Status=stopped` (UpdateStream). */
  stopStream(callSid: string, sidOrName: string): Promise<StreamResource>;
  /**
   * `GET /Calls/{callSid}.json` (FetchCall): the call's status. Read when Twilio stopped a stream
   * the controller did not stop, to tell a call that ended from a stream stopped by someone else.
   */
  fetchCallStatus(callSid: string): Promise<CallStatus>;
  /** `POST /Calls/{callSid}.json` with inline `Twiml` (≤ 4000 characters). */
  updateCallTwiml(callSid: string, twiml: string): Promise<void>;
  /** `GET /Conferences.json?FriendlyName={name}&Status=in-progress`: the `CF…` SID or null. */
  findInProgressConference(friendlyName: string): Promise<string | null>;
  /** `GET /Conferences/{conferenceSid}/Participants/{callSid}.json`. */
  fetchParticipant(conferenceSid: string, callSid: string): Promise<ParticipantResource>;
  /**
   * `GET /Conferences/{conferenceSid}/Participants.json`: who is in the conference now (Twilio
   * lists only connecting or connected participants, twilio-facts §4); `[]` when it is gone.
   */
  listParticipants(conferenceSid: string): Promise<ParticipantSummary[]>;
  /** `POST /Conferences/{conferenceSid}/Participants/{callSid}.json` (EndConferenceOnExit, Hold). */
  updateParticipant(
    conferenceSid: string,
    callSid: string,
    update: { endConferenceOnExit?: boolean; hold?: boolean },
  ): Promise<ParticipantResource>;
}

/**
 * How the core treats a Twilio failure: `retryable` (429, 5xx, no answer: retried with backoff),
 * `call-gone` (20404 / 21220: the call ended), or `other` (recorded on the segment).
 */
export type VoiceErrorKind = 'retryable' | 'call-gone' | 'other';

/**
 * The error every `VoicePort` method rejects with. The adapter wraps the SDK's `RestException`
 * once (style §6): `status` is the HTTP status (0 when Twilio did not answer), `code` Twilio's code.
 */
export class VoiceApiError extends Error {
  override readonly name = 'VoiceApiError';
  readonly status: number;
  readonly code: number | null;
  /** From a `Retry-After` header, when Twilio sent one with a 429. */
  readonly retryAfterMs: number | null;

  constructor(
    init: { status: number; code: number | null; message: string; retryAfterMs?: number },
    options?: { cause?: unknown },
  ) {
    super(init.message, options);
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs ?? null;
  }
}

/** True when `value` is a {@link VoiceApiError}. */
export function isVoiceApiError(value: unknown): value is VoiceApiError {
  return value instanceof VoiceApiError;
}

/**
 * Classifies a port failure. 20404 (not found, also answered for calls that already ended, per
 * twilio-python#877) and 21220 (call not in-progress, twilio.com/docs/api/errors/21220) mean the
 * call is gone; 429/20429 and 5xx are worth retrying (twilio-facts §5). Anything that is not a
 * `VoiceApiError` is a bug in an adapter and counts as `other`.
 */
export function classifyVoiceError(error: unknown): VoiceErrorKind {
  if (!isVoiceApiError(error)) return 'other';
  if (error.code === 20404 || error.code === 21220) return 'call-gone';
  if (error.status === 0 || error.status === 429 || error.code === 20429) return 'retryable';
  if (error.status >= 500) return 'retryable';
  return 'other';
}

/** Time, as the core sees it: injected so tests drive it (see `testing/fake-clock.ts`). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** Structured logging, a subset of pino's API (a pino logger fits as is). */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Makes a new, unique segment id. */
export type IdGenerator = () => string;

/**
 * Where segments live. Writes are optimistic: `put` fails with `FS_ERR_STORE_CONFLICT` unless the
 * stored version equals `expectedVersion` (`0` = must not exist yet), and returns the segment with
 * its new version. Reads return copies the caller may change.
 */
export interface SegmentStore {
  get(segmentId: string): Promise<Segment | null>;
  getByReservation(reservationSid: string): Promise<Segment | null>;
  /** The call's segments ordered by `index`. */
  listByCall(customerCallSid: string): Promise<Segment[]>;
  put(segment: Segment, expectedVersion: number): Promise<Segment>;
  /**
   * The customer call SIDs that have at least one segment not ended, oldest first (by their
   * earliest segment start; ties in the order first stored): what the reconciler visits, what
   * `GET /v1/calls` lists, and where a callback about an agent's leg is looked up.
   */
  listLiveCalls(): Promise<string[]>;
}

/**
 * A TaskRouter reservation, as far as flex-streams reads it (`FetchTaskReservation`,
 * `GET /v1/Workspaces/{WS}/Tasks/{WT}/Reservations/{WR}`, twilio_taskrouter_v1.json).
 */
export interface ReservationResource {
  sid: string;
  taskSid: string;
  /** The worker the reservation was offered to: the only one who may act on its segment. */
  workerSid: string;
  /** `pending`, `accepted`, `wrapping`, `completed`, `rejected`… as TaskRouter answers it. */
  status: string;
}

/** A conference participant as listed (`ListParticipant`, twilio-facts §4). */
export interface ParticipantSummary {
  callSid: string;
  /** The participant's label, or null when it has none. */
  label: string | null;
  hold: boolean;
  endConferenceOnExit: boolean;
}

/**
 * The TaskRouter (and conference listing) reads the service needs beyond the `VoicePort`: who a
 * reservation belongs to, a task's attributes, a conference's participants. Every method resolves
 * with Twilio's answer, or null when Twilio answered 404, or rejects with a {@link VoiceApiError}
 * (the one wrapping of SDK failures, style §6).
 */
export interface TaskRouterPort {
  /** `FetchTaskReservation` in the configured workspace; null for an unknown task or reservation. */
  fetchReservation(taskSid: string, reservationSid: string): Promise<ReservationResource | null>;
  /** `FetchTask`: its `attributes` parsed as JSON (an object), or null for an unknown task. */
  fetchTaskAttributes(taskSid: string): Promise<Record<string, unknown> | null>;
  /** `ListParticipant` of a conference (first page of up to 50: a Flex call has a handful). */
  listParticipants(conferenceSid: string): Promise<ParticipantSummary[]>;
}
