/**
 * The core's error catalogue. Every error the core throws or records carries a stable `code`, the
 * HTTP status an adapter should answer with, and the `cause` it wraps (style §6). Adapters
 * translate these once, at their boundary; nothing downstream parses messages.
 */

/** Stable codes, HTTP status and a one-line meaning of every error the core produces. */
export const FS_ERRORS = {
  /** An input of a use case is missing or malformed (a SID with the wrong prefix, an unknown reason). */
  FS_ERR_INVALID_INPUT: { status: 400, meaning: 'invalid input' },
  /** The controller configuration is invalid; every problem is listed in one message. */
  FS_ERR_INVALID_CONFIG: { status: 500, meaning: 'invalid configuration' },
  /** No segment matches the reservation, stream or call named in the request. */
  FS_ERR_SEGMENT_NOT_FOUND: { status: 404, meaning: 'segment not found' },
  /** A worker asked to act on a segment of another worker's reservation. */
  FS_ERR_NOT_SEGMENT_OWNER: { status: 403, meaning: 'segment belongs to another worker' },
  /** A lifecycle transition the state table forbids ("cannot stop stream in state 'stopped'"). */
  FS_ERR_INVALID_TRANSITION: { status: 409, meaning: 'forbidden state transition' },
  /** The store holds a newer version of the segment than the one being written. */
  FS_ERR_STORE_CONFLICT: { status: 409, meaning: 'concurrent update of a segment' },
  /** Generated TwiML exceeds Twilio's 4000-character limit for inline `Twiml` (error 32018). */
  FS_ERR_TWIML_TOO_LONG: { status: 500, meaning: 'TwiML over 4000 characters' },
  /** The task's conference could not be found, so the customer participant cannot be protected. */
  FS_ERR_CONFERENCE_NOT_FOUND: { status: 409, meaning: 'conference not found' },
  /**
   * twiml: the customer is alone in the task's conference (the agent's leg has not joined yet), and
   * redirecting them would empty and end it. The start waits as a deferred stream and is retried.
   */
  FS_ERR_CUSTOMER_ALONE: { status: 409, meaning: 'customer alone in the conference' },
  /** The customer's endConferenceOnExit did not read back false in time: redirect refused. */
  FS_ERR_PROTECT_UNVERIFIED: { status: 502, meaning: 'customer leg could not be protected' },
  /** Twilio kept answering 429/5xx (or did not answer) after every retry. */
  FS_ERR_TWILIO_UNAVAILABLE: { status: 503, meaning: 'Twilio unavailable after retries' },
  /** Twilio rejected a request for a reason retrying cannot fix. */
  FS_ERR_TWILIO_REJECTED: { status: 502, meaning: 'Twilio rejected the request' },
  /** The call ended (Twilio 20404 / 21220): its segments were ended. */
  FS_ERR_CALL_GONE: { status: 410, meaning: 'call already ended' },
  /** A stream failed (stream-error) more often than the configured restart limit. */
  FS_ERR_STREAM_RESTARTS_EXHAUSTED: { status: 502, meaning: 'stream restarts exhausted' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** One of the stable error codes of `@flex-streams/core`. */
export type FsErrorCode = keyof typeof FS_ERRORS;

/** The only error class the core throws. `status` is the HTTP status an adapter answers with. */
export class FsError extends Error {
  override readonly name = 'FsError';
  readonly code: FsErrorCode;
  readonly status: number;

  constructor(code: FsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = FS_ERRORS[code].status;
  }
}

/** Creates an {@link FsError}; `cause` is kept for logs and for adapters that map Twilio codes. */
export function createFsError(code: FsErrorCode, message: string, cause?: unknown): FsError {
  return cause === undefined ? new FsError(code, message) : new FsError(code, message, { cause });
}

/** True when `value` is an {@link FsError}, optionally with the given code. */
export function isFsError(value: unknown, code?: FsErrorCode): value is FsError {
  return value instanceof FsError && (code === undefined || value.code === code);
}
