/**
 * The emulator's error catalogue. Twilio-shaped errors carry Twilio's own numeric code and HTTP
 * status and are translated once, at the HTTP boundary, into the legacy v2010 body
 * `{code, message, more_info, status}` (twilio-facts §5). Internal faults of the emulator itself
 * (a forbidden state transition) use stable `EMU_ERR_*` codes.
 */

/** An error Twilio would answer with: its code, HTTP status and message. */
export class TwilioApiError extends Error {
  override readonly name = 'TwilioApiError';
  constructor(
    /** Twilio's error code, e.g. 20404; documented at https://www.twilio.com/docs/errors/{code}. */
    readonly code: number,
    /** The HTTP status Twilio answers with. */
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The JSON body Twilio sends. Never both `type` and `title`: twilio-node 6 would read it as RFC 9457. */
  toJSON(): { code: number; message: string; more_info: string; status: number } {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}

/** A forbidden lifecycle transition inside the emulator: a bug in the emulator, never user input. */
export class EmulatorStateError extends Error {
  override readonly name = 'EmulatorStateError';
  readonly code = 'EMU_ERR_INVALID_TRANSITION';
}

/** Stable codes of the control API's agent-desktop verbs (see README "Control API"). */
export type ControlErrorCode =
  | 'EMU_ERR_BAD_REQUEST'
  | 'EMU_ERR_UNKNOWN_WORKER'
  | 'EMU_ERR_UNKNOWN_TASK'
  | 'EMU_ERR_UNKNOWN_RESERVATION'
  | 'EMU_ERR_UNKNOWN_QUEUE'
  | 'EMU_ERR_NOT_YOUR_RESERVATION'
  | 'EMU_ERR_NOT_YOUR_TASK'
  | 'EMU_ERR_ILLEGAL_TRANSITION'
  | 'EMU_ERR_NO_TRANSFER'
  | 'EMU_ERR_TRANSFER_IN_PROGRESS'
  | 'EMU_ERR_NO_CONFERENCE';

/**
 * A control request Flex would not allow (accepting someone else's reservation, transferring a
 * task that is not yours, an illegal transition…). Thrown before anything changes; answered as
 * `{code, message, status}` with a 4xx status.
 */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode,
    readonly status: 400 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }

  /** The JSON body of the answer. */
  toJSON(): { code: ControlErrorCode; message: string; status: number } {
    return { code: this.code, message: this.message, status: this.status };
  }
}

/** Constructors for every Twilio error the emulator answers with. */
export const twilioErrors = {
  /** 20003: wrong or missing credentials. https://www.twilio.com/docs/errors/20003 */
  authenticate: (): TwilioApiError => new TwilioApiError(20003, 401, 'Authenticate'),
  /** 20404: unknown resource. https://www.twilio.com/docs/errors/20404 */
  notFound: (path: string): TwilioApiError =>
    new TwilioApiError(20404, 404, `The requested resource ${path} was not found`),
  /** 21220: the call is not in progress. https://www.twilio.com/docs/errors/21220 */
  callNotInProgress: (action = 'redirect'): TwilioApiError =>
    new TwilioApiError(21220, 400, `Call is not in-progress. Cannot ${action}.`),
  /** 21201: no `To`. https://www.twilio.com/docs/errors/21201 */
  missingTo: (): TwilioApiError => new TwilioApiError(21201, 400, "No 'To' number is specified"),
  /** 21213: no `From`. https://www.twilio.com/docs/errors/21213 */
  missingFrom: (): TwilioApiError =>
    new TwilioApiError(21213, 400, "No 'From' number is specified"),
  /**
   * 21205: no usable `Url`. UNCONFIRMED: the exact code Twilio uses for a missing Url/Twiml is
   * assumed from the 21205 "Invalid URL" family.
   */
  missingUrl: (what = 'Url'): TwilioApiError =>
    new TwilioApiError(21205, 400, `${what} parameter is required`),
  /** 21205: a URL that cannot be parsed. https://www.twilio.com/docs/errors/21205 */
  invalidUrl: (url: string): TwilioApiError =>
    new TwilioApiError(21205, 400, `Url is not a valid URL: ${url}`),
  /** 32018: inline TwiML longer than 4000 characters. https://www.twilio.com/docs/errors/32018 */
  twimlTooLong: (): TwilioApiError =>
    new TwilioApiError(32018, 400, 'Twiml parameter exceeds maximum length of 4000 characters'),
  /** An invalid parameter value (an unknown enum value, a non-boolean). UNCONFIRMED code: 20001. */
  invalidParameter: (name: string, value: string): TwilioApiError =>
    new TwilioApiError(20001, 400, `Invalid value '${value}' for parameter ${name}`),
  /**
   * More than 4 forked tracks on one call (twilio-facts §2: "at most 4 forked streams, each track
   * counts"). UNCONFIRMED: Twilio's code and status for this refusal are not documented; the
   * emulator answers 400 with code 31960, its own choice.
   */
  tooManyTracks: (callSid: string): TwilioApiError =>
    new TwilioApiError(
      31960,
      400,
      `Call ${callSid} already forks the maximum of 4 tracks (both_tracks counts as 2)`,
    ),
  /**
   * A stream name already used by a running stream on the same call. UNCONFIRMED: Twilio documents
   * names as unique per call but not the error; the emulator answers 400 with code 31961.
   */
  duplicateStreamName: (name: string): TwilioApiError =>
    new TwilioApiError(31961, 400, `A stream named '${name}' is already running on this call`),
} as const;
