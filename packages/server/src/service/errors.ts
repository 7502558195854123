/**
 * The error catalogue of the controller service (style §6). The HTTP error handler answers every
 * failure as `{ error: { code, message, twilioCode? } }`: these codes for what the service itself
 * refuses, the core's `FS_ERR_*` codes for what the use cases refuse, and the twilio adapters'
 * `FS_TW_*` errors mapped onto these. Codes are stable; messages are for people.
 */

/** Stable codes, HTTP status and a one-line meaning of every error the service produces. */
export const FS_SERVICE_ERRORS = {
  /** A webhook without a valid `X-Twilio-Signature` (missing, or not matching URL and form). */
  FS_ERR_BAD_SIGNATURE: { status: 403, meaning: 'X-Twilio-Signature missing or wrong' },
  /** No Flex token (neither `Token` nor `Authorization: Bearer`), or a refused one. */
  FS_ERR_BAD_TOKEN: { status: 401, meaning: 'Flex token missing or not valid' },
  /** The Flex token was valid once but has expired: the Flex UI must refresh it. */
  FS_ERR_TOKEN_EXPIRED: { status: 401, meaning: 'Flex token expired' },
  /** The token validation service could not tell (network, timeout, 5xx, our credentials). */
  FS_ERR_TOKEN_UNAVAILABLE: { status: 503, meaning: 'Flex token validation unavailable' },
  /** A valid token whose user is not a TaskRouter worker: there is no reservation to act on. */
  FS_ERR_NOT_A_WORKER: { status: 403, meaning: 'token belongs to no worker' },
  /** A body that is not JSON/form, or fields of the wrong type. */
  FS_ERR_MALFORMED_BODY: { status: 400, meaning: 'malformed request body' },
  /** `GET /v1/calls/:callSid` for a call this service has no segment of. */
  FS_ERR_CALL_NOT_FOUND: { status: 404, meaning: 'call not known here' },
  /** A plugin `start` for a task or reservation TaskRouter does not know (in this workspace). */
  FS_ERR_RESERVATION_NOT_FOUND: { status: 404, meaning: 'reservation not known to TaskRouter' },
  /** A plugin `start` of a reservation TaskRouter no longer (or not yet) reports `accepted`. */
  FS_ERR_RESERVATION_NOT_ACCEPTED: { status: 409, meaning: 'reservation is not accepted' },
  /** A plugin `start` naming a call (customer, conference or worker leg) that is not its task's. */
  FS_ERR_CALL_NOT_OF_TASK: { status: 403, meaning: "call is not the task's" },
  /** TaskRouter could not be asked whose a reservation is (network, 5xx, credentials). */
  FS_ERR_TASKROUTER_UNAVAILABLE: { status: 503, meaning: 'TaskRouter lookup failed' },
  /** `GET /v1/calls/…` or `/metrics` without the configured `FLEX_STREAMS_ADMIN_TOKEN`. */
  FS_ERR_ADMIN_TOKEN: { status: 401, meaning: 'operator token missing or wrong' },
  /** A path the service does not serve (or a driver that is switched off). */
  FS_ERR_ROUTE_NOT_FOUND: { status: 404, meaning: 'no such endpoint' },
  /** A browser request from an origin that is not in `FLEX_STREAMS_CORS_ORIGINS`. */
  FS_ERR_ORIGIN_NOT_ALLOWED: { status: 403, meaning: 'origin not allowed' },
  /** A persisted call file that cannot be read back: never silently reset. */
  FS_ERR_STORE_CORRUPT: { status: 500, meaning: 'segment store file corrupt' },
  /** Writing a call file failed (disk full, permissions). */
  FS_ERR_STORE_WRITE: { status: 500, meaning: 'segment store write failed' },
  /** Anything else: a bug. The log has the details. */
  FS_ERR_INTERNAL: { status: 500, meaning: 'internal error' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** One of the stable error codes of the service. */
export type ServiceErrorCode = keyof typeof FS_SERVICE_ERRORS;

/** The error class of the service and its store. `status` is the HTTP status to answer with. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ServiceErrorCode;
  readonly status: number;

  constructor(code: ServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = FS_SERVICE_ERRORS[code].status;
  }
}

/** True when `value` is a {@link ServiceError}, optionally with the given code. */
export function isServiceError(value: unknown, code?: ServiceErrorCode): value is ServiceError {
  return value instanceof ServiceError && (code === undefined || value.code === code);
}
