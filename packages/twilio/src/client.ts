/**
 * The Twilio client factory: the official SDK, configured from arguments only (style §7: the
 * deployable's `config.ts` reads the environment, never this package), optionally pointed at a
 * Twilio-compatible endpoint such as the emulator.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import twilio from 'twilio';
import type BaseRequestClient from 'twilio/lib/base/RequestClient.js';
import type * as ResponseModule from 'twilio/lib/http/response.js';
import { FsTwilioError } from './errors.js';

/** Account SID + auth token, the classic Basic-auth pair. */
export interface AuthTokenCredentials {
  accountSid: string;
  authToken: string;
}

/** An API key (`SK…` + secret) acting for `accountSid` (twilio-facts §5, `BaseTwilio.ts`). */
export interface ApiKeyCredentials {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
}

/** Either form of REST credentials. */
export type TwilioCredentials = AuthTokenCredentials | ApiKeyCredentials;

/** Options of {@link createTwilioClient}. */
export interface TwilioClientOptions {
  /**
   * Origin (`http(s)://host:port`, no path) every request of every Twilio domain is sent to
   * instead of `https://{domain}.twilio.com`: the emulator, or any Twilio-compatible endpoint.
   */
  apiBaseUrl?: string;
  /** Twilio region (`au1`, `ie1`…): hosts become `api.{edge}.{region}.twilio.com`. */
  region?: string;
  /** Twilio edge location (`sydney`, `dublin`…). */
  edge?: string;
  /** Per-request timeout in milliseconds (default 10 000). A timeout rejects with status 0. */
  timeoutMs?: number;
  /** Appended to the SDK's `User-Agent`. */
  userAgentExtensions?: readonly string[];
}

/** Default per-request timeout: short, because the core retries with its own backoff. */
export const DEFAULT_TWILIO_TIMEOUT_MS = 10_000;

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const API_KEY_SID = /^SK[0-9a-fA-F]{32}$/;

/** What the request client saw of the last answer inside a {@link captureResponses} scope. */
export interface CapturedResponse {
  statusCode: number | null;
  headers: Readonly<Record<string, unknown>>;
}

/**
 * Carries a {@link CapturedResponse} through the SDK's promise chain. The SDK's `RestException`
 * drops the response headers, so `Retry-After` can only be read here, in the request client;
 * async-local storage keeps concurrent requests apart without touching the SDK's error path.
 */
const responseCapture = new AsyncLocalStorage<CapturedResponse>();

/**
 * Runs `operation` (one or more SDK calls) and records the status and headers of the answers its
 * requests get, when they go through a client made by {@link createTwilioClient}.
 */
export function captureResponses<T>(operation: () => Promise<T>): {
  result: Promise<T>;
  captured: CapturedResponse;
} {
  const captured: CapturedResponse = { statusCode: null, headers: {} };
  let result: Promise<T>;
  try {
    result = responseCapture.run(captured, operation);
  } catch (error) {
    // The SDK validates path parameters synchronously (`isValidPathParam`).
    result = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return { result, captured };
}

/**
 * The SDK's own `RequestClient` (axios, form encoding with `qs` `arrayFormat: 'repeat'`), with the
 * origin of `opts.uri` rewritten when a base URL is set (twilio-facts §5, option 1; twilio-node
 * `advanced-examples/custom-http-client.md`) and every answer recorded for `Retry-After`.
 */
class FlexStreamsRequestClient extends twilio.RequestClient {
  readonly #target: URL | null;

  constructor(options: BaseRequestClient.RequestClientOptions, target: URL | null) {
    super(options);
    this.#target = target;
  }

  override async request<TData>(
    opts: BaseRequestClient.RequestOptions<TData>,
  ): Promise<ResponseModule.default<TData>> {
    let uri = opts.uri;
    if (this.#target !== null) {
      const rewritten = new URL(opts.uri);
      rewritten.protocol = this.#target.protocol;
      rewritten.host = this.#target.host;
      uri = rewritten.toString();
    }
    const response = await super.request({ ...opts, uri });
    const captured = responseCapture.getStore();
    if (captured !== undefined) {
      captured.statusCode = response.statusCode;
      captured.headers = (response.headers ?? {}) as Record<string, unknown>;
    }
    return response;
  }
}

function credentialProblems(credentials: TwilioCredentials): string[] {
  const problems: string[] = [];
  if (!ACCOUNT_SID.test(credentials.accountSid)) {
    problems.push('accountSid must be "AC" followed by 32 hex digits');
  }
  const hasToken = 'authToken' in credentials;
  const hasKey = 'apiKeySid' in credentials || 'apiKeySecret' in credentials;
  if (hasToken && hasKey) {
    problems.push('give either authToken or apiKeySid + apiKeySecret, not both');
  } else if ('authToken' in credentials) {
    if (credentials.authToken.length === 0) problems.push('authToken must not be empty');
  } else if (!API_KEY_SID.test(credentials.apiKeySid)) {
    problems.push('apiKeySid must be "SK" followed by 32 hex digits');
  } else if (credentials.apiKeySecret.length === 0) {
    problems.push('apiKeySecret must not be empty');
  }
  return problems;
}

function parseBaseUrl(value: string, problems: string[]): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`apiBaseUrl "${value}" is not an absolute URL`);
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`apiBaseUrl must be http:// or https://, not ${url.protocol}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    problems.push('apiBaseUrl must be an origin only (no path, query or fragment)');
  }
  if (url.username !== '' || url.password !== '') {
    problems.push('apiBaseUrl must not carry credentials');
  }
  return url;
}

/**
 * Creates the official Twilio SDK client for the given credentials. With `apiBaseUrl`, every
 * request of every domain (`api`, `taskrouter`…) goes to that origin. The SDK's own 429 retry is
 * off (the core retries with backoff), and the SDK reads nothing from `process.env`: region, edge
 * and log level come from `options` only, so `TWILIO_REGION`/`TWILIO_EDGE` in the environment
 * cannot rewrite hosts behind the caller's back (twilio-facts §5 gotcha).
 *
 * @throws {FsTwilioError} `FS_TW_INVALID_OPTIONS` listing every problem, e.g. `region` or `edge`
 * together with `apiBaseUrl`.
 */
export function createTwilioClient(
  credentials: TwilioCredentials,
  options: TwilioClientOptions = {},
): twilio.Twilio {
  const problems = credentialProblems(credentials);
  const target =
    options.apiBaseUrl === undefined ? null : parseBaseUrl(options.apiBaseUrl, problems);
  if (options.apiBaseUrl !== undefined && (options.region ?? options.edge) !== undefined) {
    problems.push(
      'region/edge cannot be combined with apiBaseUrl: they rewrite hostnames to ' +
        'api.{edge}.{region}.twilio.com (e.g. localhost → localhost.us1.localhost); ' +
        'unset TWILIO_REGION and TWILIO_EDGE for emulator runs',
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    problems.push(`timeoutMs must be an integer from 1 to 600000, not ${timeoutMs}`);
  }
  if (problems.length > 0) {
    throw new FsTwilioError(
      'FS_TW_INVALID_OPTIONS',
      `Invalid Twilio client options: ${problems.join('; ')}.`,
    );
  }
  const httpClient = new FlexStreamsRequestClient({ timeout: timeoutMs, autoRetry: false }, target);
  const common = {
    httpClient,
    autoRetry: false,
    // '' (not undefined) stops the SDK from falling back to process.env (`BaseTwilio.setOpts`).
    region: options.region ?? '',
    edge: options.edge ?? '',
    logLevel: '',
    env: {},
    userAgentExtensions: [...(options.userAgentExtensions ?? []), 'flex-streams'],
  };
  if ('authToken' in credentials) {
    return twilio(credentials.accountSid, credentials.authToken, common);
  }
  return twilio(credentials.apiKeySid, credentials.apiKeySecret, {
    ...common,
    accountSid: credentials.accountSid,
  });
}
