/**
 * Flex token validation: one interface, two implementations (issue 5, "Flex plugin API").
 * - {@link createFlexTokenValidator}: production, through `twilio-flex-token-validator`, which
 *   calls `https://iam[.{realm}].twilio.com` (host hard-coded, twilio-facts §6);
 * - {@link createHttpFlexTokenValidator}: the same protocol against a configurable base URL, for
 *   the emulator's validation endpoint (or any service speaking it).
 * Both parse the service's answer once, here, into a {@link FlexTokenIdentity}.
 */
import { validator as flexTokenValidator } from 'twilio-flex-token-validator';
import { FsTwilioError, type FsTwilioErrorCode } from './errors.js';

/** Who a valid Flex token belongs to (the validation service's answer, camelCased once). */
export interface FlexTokenIdentity {
  /** The Flex user's identity (`user_40example_2Dcom`). */
  identity: string;
  /** The TaskRouter worker of the user (`WK…`), or null when the service names none. */
  workerSid: string | null;
  /** Flex roles, e.g. `["agent"]`, `["supervisor"]`, `["admin"]`. */
  roles: readonly string[];
  /** When the token expires, epoch milliseconds; null when the service sent no readable date. */
  expiration: number | null;
  /** The user's id in the identity provider (`user@example.com`), or null. */
  realmUserId: string | null;
}

/** Why a token was refused. `unavailable` means "could not tell": answer 503, not 401. */
export type FlexTokenFailure = 'invalid' | 'expired' | 'unavailable';

const FAILURE_CODES = {
  invalid: 'FS_TW_FLEX_TOKEN_INVALID',
  expired: 'FS_TW_FLEX_TOKEN_EXPIRED',
  unavailable: 'FS_TW_FLEX_TOKEN_UNAVAILABLE',
} as const satisfies Record<FlexTokenFailure, FsTwilioErrorCode>;

/** The typed rejection of {@link FlexTokenValidator.validate}. */
export class FlexTokenError extends FsTwilioError {
  override readonly name: string = 'FlexTokenError';
  readonly reason: FlexTokenFailure;

  constructor(reason: FlexTokenFailure, message: string, options?: { cause?: unknown }) {
    super(FAILURE_CODES[reason], message, options);
    this.reason = reason;
  }
}

/** True when `value` is a {@link FlexTokenError}, optionally with the given reason. */
export function isFlexTokenError(
  value: unknown,
  reason?: FlexTokenFailure,
): value is FlexTokenError {
  return value instanceof FlexTokenError && (reason === undefined || value.reason === reason);
}

/** Validates the Flex token an agent's plugin sends; rejects with a {@link FlexTokenError}. */
export interface FlexTokenValidator {
  validate(token: string): Promise<FlexTokenIdentity>;
}

/** Credentials the validation service authenticates us with (Basic auth). */
export type FlexTokenCredentials =
  | { accountSid: string; authToken: string }
  | { accountSid: string; apiKeySid: string; apiKeySecret: string };

/** Twilio's error code for an expired token (twilio.com/docs/api/errors/20104). */
const EXPIRED_TOKEN_CODE = 20104;

/** Default time to wait for the validation service. */
export const DEFAULT_FLEX_TOKEN_TIMEOUT_MS = 5_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/**
 * Turns the service's answer for a valid token (`{valid, code, message, expiration, realm_user_id,
 * identity, roles, worker_sid}`, twilio-facts §6) into a {@link FlexTokenIdentity}. An answer
 * without an identity or with roles that are not strings is not trusted: `unavailable`.
 */
export function parseFlexTokenAnswer(answer: unknown): FlexTokenIdentity {
  if (!isRecord(answer) || answer.valid !== true) {
    throw new FlexTokenError(
      'unavailable',
      'The token validation service answered an unknown shape',
    );
  }
  const identity = optionalString(answer.identity);
  const roles = answer.roles ?? [];
  if (identity === null || !Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new FlexTokenError(
      'unavailable',
      'The token validation service answered valid but without an identity or string roles',
    );
  }
  const expiration =
    typeof answer.expiration === 'string' ? Date.parse(answer.expiration) : Number.NaN;
  return {
    identity,
    workerSid: optionalString(answer.worker_sid),
    roles: Object.freeze([...roles]),
    expiration: Number.isNaN(expiration) ? null : expiration,
    realmUserId: optionalString(answer.realm_user_id),
  };
}

/**
 * Reads a refusal (`valid: false`). UNCONFIRMED: the code and message Twilio's service sends for
 * an expired token are not documented; 20104 ("Access Token expired") or a message mentioning
 * "expired" is read as `expired`, anything else as `invalid`.
 */
function refusal(code: unknown, message: unknown): FlexTokenError {
  const text = typeof message === 'string' && message.length > 0 ? message : 'token not valid';
  const expired = code === EXPIRED_TOKEN_CODE || /expired/i.test(text);
  return new FlexTokenError(
    expired ? 'expired' : 'invalid',
    expired
      ? `The Flex token has expired (${text}): the Flex UI must refresh it`
      : `The Flex token is not valid (${text})`,
  );
}

function credentialProblems(credentials: FlexTokenCredentials): string[] {
  const problems: string[] = [];
  if (!/^AC[0-9a-fA-F]{32}$/.test(credentials.accountSid)) {
    problems.push('accountSid must be "AC" followed by 32 hex digits');
  }
  if ('authToken' in credentials) {
    if (credentials.authToken.length === 0) problems.push('authToken must not be empty');
  } else if (credentials.apiKeySid.length === 0 || credentials.apiKeySecret.length === 0) {
    problems.push('apiKeySid and apiKeySecret must not be empty');
  }
  return problems;
}

function invalidOptions(what: string, problems: string[]): FsTwilioError {
  return new FsTwilioError(
    'FS_TW_INVALID_OPTIONS',
    `Invalid ${what} options: ${problems.join('; ')}.`,
  );
}

function timeoutProblem(timeoutMs: number): string[] {
  return Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 60_000
    ? []
    : [`timeoutMs must be an integer from 1 to 60000, not ${timeoutMs}`];
}

/** The signature of `twilio-flex-token-validator`'s `validator` (version 1.6.0). */
export type FlexTokenValidatorFunction = (
  token: string,
  accountSid: string,
  authToken?: string,
  realm?: string,
  apiCredentials?: { Sid: string; Secret: string },
) => Promise<object>;

/** Options of {@link createFlexTokenValidator}. */
export interface FlexTokenValidatorOptions {
  /** Twilio realm for non-US1 accounts (`au1` → `iam.au1.twilio.com`); the library's `realm`. */
  realm?: string;
  /** How long to wait for an answer (default 5000 ms); the library itself never times out. */
  timeoutMs?: number;
  /** The validation function; defaults to the library's. Tests pass a fake with its contract. */
  validate?: FlexTokenValidatorFunction;
}

/**
 * Reads the library's rejection. It rejects with a **string** (twilio-flex-token-validator 1.6.0
 * `dist/index.js`): the service's `message` for a refused token, `err.message` for a network or
 * JSON failure, or its own "Unauthorized: … was not provided". UNCONFIRMED: the exact texts of
 * Twilio's service. Network errors (`ECONNREFUSED`, `ENOTFOUND`, `socket hang up`…), unreadable
 * answers, our own credentials being refused (20003 "Authenticate") and server errors are
 * `unavailable`; the rest is a refused token.
 */
function libraryRejection(reason: unknown): FlexTokenError {
  const text = reason instanceof Error ? reason.message : String(reason);
  // The texts are matched as the library passes them through; nothing else is known of them.
  // Node's system error codes are upper case (ECONNREFUSED, ENOTFOUND, EAI_AGAIN): match them
  // case-sensitively so that "Token expired" stays a refusal.
  const systemError = /\bE[A-Z_]{3,}\b/;
  const unavailable =
    /socket hang up|JSON|Unexpected (token|end)|Authenticate|AuthToken or Api Credentials|AccountSid was not provided|Internal Server Error|Service Unavailable|Too Many Requests/i;
  if (systemError.test(text) || unavailable.test(text)) {
    return new FlexTokenError(
      'unavailable',
      `Flex token validation did not complete (${text}); check the network to Twilio and the ` +
        'account credentials',
      { cause: reason },
    );
  }
  return refusal(undefined, text);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new FlexTokenError(
          'unavailable',
          `The token validation service did not answer in ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * The production validator: `twilio-flex-token-validator`'s `validator(token, accountSid,
 * authToken | apiCredentials, realm)`. It calls Twilio's IAM service, so it cannot run against the
 * emulator; use {@link createHttpFlexTokenValidator} there.
 */
export function createFlexTokenValidator(
  credentials: FlexTokenCredentials,
  options: FlexTokenValidatorOptions = {},
): FlexTokenValidator {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FLEX_TOKEN_TIMEOUT_MS;
  const problems = [...credentialProblems(credentials), ...timeoutProblem(timeoutMs)];
  if (problems.length > 0) throw invalidOptions('Flex token validator', problems);
  const validate: FlexTokenValidatorFunction = options.validate ?? flexTokenValidator;
  const realm = options.realm;
  return {
    async validate(token) {
      if (token.length === 0) throw new FlexTokenError('invalid', 'No Flex token was given');
      let answer: object;
      try {
        // Rejections arrive as strings; they are read by `libraryRejection` below.
        const pending =
          'authToken' in credentials
            ? validate(token, credentials.accountSid, credentials.authToken, realm)
            : validate(token, credentials.accountSid, undefined, realm, {
                Sid: credentials.apiKeySid,
                Secret: credentials.apiKeySecret,
              });
        answer = await withTimeout(pending, timeoutMs);
      } catch (error) {
        throw isFlexTokenError(error) ? error : libraryRejection(error);
      }
      return parseFlexTokenAnswer(answer);
    },
  };
}

/** Options of {@link createHttpFlexTokenValidator}. */
export interface HttpFlexTokenValidatorOptions {
  /** Origin of the validation service, e.g. the emulator's URL (`http://127.0.0.1:PORT`). */
  baseUrl: string;
  /** How long to wait for an answer (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * A validator speaking Twilio's token validation protocol to `baseUrl`:
 * `POST {baseUrl}/v1/Accounts/{AccountSid}/Tokens/validate`, Basic auth, JSON `{"token": …}`;
 * the answer is JSON `{valid, code, message, expiration, realm_user_id, identity, roles,
 * worker_sid}` (see README, "Token validation protocol"). `valid: false` at any status is a
 * refused token; 401/403 (our credentials), 429, 5xx, network failures, timeouts and unreadable
 * answers are `unavailable`; other 4xx are `invalid`.
 */
export function createHttpFlexTokenValidator(
  credentials: FlexTokenCredentials,
  options: HttpFlexTokenValidatorOptions,
): FlexTokenValidator {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FLEX_TOKEN_TIMEOUT_MS;
  const problems = [...credentialProblems(credentials), ...timeoutProblem(timeoutMs)];
  let endpoint = '';
  try {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      problems.push(`baseUrl must be http:// or https://, not ${base.protocol}`);
    }
    endpoint =
      base.toString().replace(/\/+$/, '') +
      `/v1/Accounts/${encodeURIComponent(credentials.accountSid)}/Tokens/validate`;
  } catch {
    problems.push(`baseUrl "${options.baseUrl}" is not an absolute URL`);
  }
  if (problems.length > 0) throw invalidOptions('HTTP Flex token validator', problems);
  const user =
    'authToken' in credentials
      ? `${credentials.accountSid}:${credentials.authToken}`
      : `${credentials.apiKeySid}:${credentials.apiKeySecret}`;
  const authorization = `Basic ${Buffer.from(user, 'utf8').toString('base64')}`;

  return {
    async validate(token) {
      if (token.length === 0) throw new FlexTokenError('invalid', 'No Flex token was given');
      let status: number;
      let text: string;
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            Authorization: authorization,
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'Cache-Control': 'no-cache',
          },
          body: JSON.stringify({ token }),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        throw new FlexTokenError(
          'unavailable',
          timedOut
            ? `The token validation service at ${endpoint} did not answer in ${timeoutMs} ms`
            : `The token validation service at ${endpoint} could not be reached`,
          { cause: error },
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new FlexTokenError(
          'unavailable',
          `The token validation service answered ${status} with a body that is not JSON`,
          { cause: error },
        );
      }
      if (isRecord(body) && body.valid === false) throw refusal(body.code, body.message);
      if (status === 200) return parseFlexTokenAnswer(body);
      const detail = isRecord(body) && typeof body.message === 'string' ? `: ${body.message}` : '';
      if (status === 401 || status === 403) {
        throw new FlexTokenError(
          'unavailable',
          `The token validation service refused our credentials (${status}${detail}); check the account SID and auth token or API key`,
        );
      }
      if (status === 429 || status >= 500 || status < 400) {
        throw new FlexTokenError(
          'unavailable',
          `The token validation service answered ${status}${detail}`,
        );
      }
      throw new FlexTokenError('invalid', `The Flex token was refused (${status}${detail})`);
    },
  };
}
