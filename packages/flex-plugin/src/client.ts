/**
 * The HTTP client of the controller's plugin API (packages/server README "Endpoints"):
 * `POST {controllerUrl}/v1/plugin/segments/{action}` with a JSON body and the agent's Flex token
 * as `Authorization: Bearer`. It never throws: every outcome is a {@link PluginCallResult}, so a
 * Flex action listener can log it and let the action go on.
 */
import { FlexPluginError } from './errors.js';
import type { PluginLogger } from './logger.js';

/** The plugin API's actions. */
export type PluginAction = 'start' | 'stop' | 'prepare-transfer' | 'pause' | 'resume';

/** Where the plugin API lives under the controller URL. */
export const PLUGIN_API_PATH = '/v1/plugin/segments';
/** Where conference status callbacks go (packages/server README "Call end", driver 3). */
export const CONFERENCE_STATUS_PATH = '/v1/conferences/status';

/** Bounded retries with exponential backoff (network errors, timeouts, 429 and 5xx only). */
export interface RetryOptions {
  /** Attempts in all, first included (1–10). */
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each next one. */
  readonly baseDelayMs: number;
  /** Cap of one delay (also of a `Retry-After` the controller sends with 429/503). */
  readonly maxDelayMs: number;
}

/** Defaults: 4 attempts, 250 ms, 500 ms, 1 s apart (under 2 s of waiting in all). */
export const DEFAULT_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 250, maxDelayMs: 2_000 };
/** Default timeout of one attempt. */
export const DEFAULT_TIMEOUT_MS = 8_000;

/** What {@link createControllerClient} needs. */
export interface ControllerClientOptions {
  /** Base URL of the controller service, e.g. `https://streams.example.com` (no trailing path). */
  readonly controllerUrl: string;
  /**
   * The agent's current Flex token, read on **every** attempt: Flex refreshes it
   * (`manager.user.token`, facts §6), so a stored copy would expire.
   */
  readonly getToken: () => string;
  readonly fetch?: typeof fetch;
  readonly logger: PluginLogger;
  readonly retry?: RetryOptions;
  readonly timeoutMs?: number;
  /** The backoff's wait (a port, so tests can count or shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The outcome of one plugin API call, after its retries. */
export type PluginCallResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly body: unknown;
      readonly attempts: number;
    }
  | { readonly ok: false; readonly error: FlexPluginError };

/** The controller's plugin API. */
export interface ControllerClient {
  readonly controllerUrl: string;
  /** `POST {controllerUrl}/v1/plugin/segments/{action}`; never rejects. */
  call(action: PluginAction, body: Readonly<Record<string, unknown>>): Promise<PluginCallResult>;
}

/** Checks and normalises the controller URL (http(s), no query or fragment, no trailing slash). */
export function normaliseControllerUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new FlexPluginError(
      'FS_PLUGIN_ERR_CONFIG',
      `controllerUrl must be the controller's http(s) base URL, got ${JSON.stringify(value)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch (cause) {
    throw new FlexPluginError(
      'FS_PLUGIN_ERR_CONFIG',
      `controllerUrl is not a URL: ${JSON.stringify(value)}`,
      { cause },
    );
  }
  // `search` and `hash` are empty for a bare `?` or `#`, which `href` keeps: test the text too.
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.search !== '' ||
    url.hash !== '' ||
    /[?#]/.test(url.href)
  ) {
    throw new FlexPluginError(
      'FS_PLUGIN_ERR_CONFIG',
      `controllerUrl must be an http(s) URL with no query or fragment, got ${JSON.stringify(value)}`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

function checkRetry(retry: RetryOptions): RetryOptions {
  const { attempts, baseDelayMs, maxDelayMs } = retry;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 10)
    throw new FlexPluginError(
      'FS_PLUGIN_ERR_CONFIG',
      `retry.attempts must be 1-10, got ${attempts}`,
    );
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= baseDelayMs))
    throw new FlexPluginError(
      'FS_PLUGIN_ERR_CONFIG',
      `retry delays must be 0 <= baseDelayMs <= maxDelayMs, got ${baseDelayMs} and ${maxDelayMs}`,
    );
  return retry;
}

/** The service's error JSON `{error: {code, message, twilioCode?}}` (packages/server README). */
function serviceError(body: unknown): { code?: string; message?: string; twilioCode?: number } {
  if (typeof body !== 'object' || body === null || !('error' in body)) return {};
  const error: unknown = body.error;
  if (typeof error !== 'object' || error === null) return {};
  const out: { code?: string; message?: string; twilioCode?: number } = {};
  if ('code' in error && typeof error.code === 'string') out.code = error.code;
  if ('message' in error && typeof error.message === 'string') out.message = error.message;
  if ('twilioCode' in error && typeof error.twilioCode === 'number')
    out.twilioCode = error.twilioCode;
  return out;
}

/** `Retry-After` in seconds (RFC 9110 §10.2.3; the HTTP-date form is ignored). */
function retryAfterMs(response: Response): number | null {
  const value = response.headers.get('retry-after');
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim()) * 1000;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Creates the client; throws `FS_PLUGIN_ERR_CONFIG` for a bad URL or retry option. */
export function createControllerClient(options: ControllerClientOptions): ControllerClient {
  const controllerUrl = normaliseControllerUrl(options.controllerUrl);
  const retry = checkRetry(options.retry ?? DEFAULT_RETRY);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new FlexPluginError('FS_PLUGIN_ERR_CONFIG', `timeoutMs must be > 0, got ${timeoutMs}`);
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const sleep =
    options.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, ms);
      }));
  const { logger } = options;

  const readToken = (): string | null => {
    try {
      const token = options.getToken();
      return typeof token === 'string' && token !== '' ? token : null;
    } catch {
      return null;
    }
  };

  return {
    controllerUrl,
    async call(action, body) {
      const url = `${controllerUrl}${PLUGIN_API_PATH}/${action}`;
      let last: FlexPluginError | null = null;
      for (let attempt = 1; attempt <= retry.attempts; attempt += 1) {
        const token = readToken();
        if (token === null) {
          return {
            ok: false,
            error: new FlexPluginError(
              'FS_PLUGIN_ERR_NO_TOKEN',
              `no Flex token for ${action}: the Flex session may have ended (log in again)`,
              { attempts: attempt - 1 },
            ),
          };
        }
        let wait = Math.min(retry.baseDelayMs * 2 ** (attempt - 1), retry.maxDelayMs);
        try {
          const response = await doFetch(url, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              Accept: 'application/json',
              Authorization: `Bearer ${token}`,
            },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(timeoutMs),
          });
          const answer = await readBody(response);
          if (response.ok)
            return { ok: true, status: response.status, body: answer, attempts: attempt };
          const said = serviceError(answer);
          const details = {
            status: response.status,
            attempts: attempt,
            ...(said.code === undefined ? {} : { serviceCode: said.code }),
            ...(said.twilioCode === undefined ? {} : { twilioCode: said.twilioCode }),
          };
          const message = `${action} answered ${response.status} ${said.code ?? ''}: ${said.message ?? ''}`;
          if (response.status !== 429 && response.status < 500) {
            // A 4xx says the request itself is wrong (token, ownership, state): the same request
            // would be refused again.
            return {
              ok: false,
              error: new FlexPluginError('FS_PLUGIN_ERR_REFUSED', message, details),
            };
          }
          last = new FlexPluginError('FS_PLUGIN_ERR_UNAVAILABLE', message, details);
          const after = retryAfterMs(response);
          if (after !== null) wait = Math.min(after, retry.maxDelayMs);
        } catch (cause) {
          last = new FlexPluginError(
            'FS_PLUGIN_ERR_NETWORK',
            `${action} got no answer from ${controllerUrl}: ${cause instanceof Error ? cause.message : String(cause)}`,
            { attempts: attempt, cause },
          );
        }
        if (attempt < retry.attempts) {
          logger.debug(
            { action, attempt, code: last.code, status: last.status, waitMs: wait },
            'plugin API call failed; trying again',
          );
          await sleep(wait);
        }
      }
      return {
        ok: false,
        error:
          last ??
          new FlexPluginError('FS_PLUGIN_ERR_NETWORK', `${action} was not attempted`, {
            attempts: 0,
          }),
      };
    },
  };
}
