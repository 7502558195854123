/**
 * The error catalogue of `@flex-streams/twilio` (style §6): every error this package throws carries
 * a stable `FS_TW_*` code, the HTTP status an adapter should answer with, and the `cause` it wraps.
 * Voice-port failures are not in here: they reject with the core's `VoiceApiError`, built in one
 * place (`voice-port.ts`), and carry one of these errors as `cause` only when the request was
 * refused before it reached Twilio.
 */

/** Stable codes, HTTP status and a one-line meaning of every error this package produces. */
export const FS_TW_ERRORS = {
  /** Options or credentials given to a factory are invalid; every problem is listed at once. */
  FS_TW_INVALID_OPTIONS: { status: 500, meaning: 'invalid adapter options' },
  /** A voice-port request was refused before it was sent (a path parameter the SDK rejects…). */
  FS_TW_REQUEST_REFUSED: { status: 400, meaning: 'request refused before sending' },
  /** Twilio answered 2xx with a body this adapter cannot read (not JSON, unknown enum value). */
  FS_TW_UNEXPECTED_ANSWER: { status: 502, meaning: 'unreadable answer from Twilio' },
  /** No single Flex workspace could be picked from the account's TaskRouter workspaces. */
  FS_TW_WORKSPACE_AMBIGUOUS: { status: 500, meaning: 'Flex workspace not found or ambiguous' },
  /** A webhook arrived without an `X-Twilio-Signature` header. */
  FS_TW_SIGNATURE_MISSING: { status: 403, meaning: 'X-Twilio-Signature missing' },
  /** A webhook's `X-Twilio-Signature` does not match its URL and parameters. */
  FS_TW_SIGNATURE_MISMATCH: { status: 403, meaning: 'X-Twilio-Signature does not match' },
  /** The Flex token is malformed, forged, for another account, or otherwise not valid. */
  FS_TW_FLEX_TOKEN_INVALID: { status: 401, meaning: 'Flex token invalid' },
  /** The Flex token was valid once but has expired: the agent's Flex UI must refresh it. */
  FS_TW_FLEX_TOKEN_EXPIRED: { status: 401, meaning: 'Flex token expired' },
  /** The token validation service did not answer usefully (network, timeout, 5xx, our credentials). */
  FS_TW_FLEX_TOKEN_UNAVAILABLE: { status: 503, meaning: 'Flex token validation unavailable' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** One of the stable error codes of `@flex-streams/twilio`. */
export type FsTwilioErrorCode = keyof typeof FS_TW_ERRORS;

/** The error class of this package. `status` is the HTTP status an adapter answers with. */
export class FsTwilioError extends Error {
  override readonly name: string = 'FsTwilioError';
  readonly code: FsTwilioErrorCode;
  readonly status: number;

  constructor(code: FsTwilioErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = FS_TW_ERRORS[code].status;
  }
}

/** True when `value` is an {@link FsTwilioError}, optionally with the given code. */
export function isFsTwilioError(value: unknown, code?: FsTwilioErrorCode): value is FsTwilioError {
  return value instanceof FsTwilioError && (code === undefined || value.code === code);
}
