/**
 * The controller service's configuration: the only file of the deployable that reads the
 * environment (style §7). Every variable is validated with zod, every problem is reported in one
 * `FS_ERR_INVALID_CONFIG` error, and the result is frozen. Every variable is in the README's table
 * and in the repository's `.env.example`.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  createControllerConfig,
  createFsError,
  isFsError,
  type ControllerConfig,
} from '@flex-streams/core';
import type { TwilioCredentials } from '@flex-streams/twilio';
import { z } from 'zod';

/** How agents' Flex tokens are checked: Twilio's IAM service, or an HTTP service speaking it. */
export type FlexTokenValidation = { mode: 'twilio' } | { mode: 'http'; baseUrl: string };

/** pino levels accepted by `FLEX_STREAMS_LOG_LEVEL`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated, frozen configuration of the controller service. */
export interface ServiceConfig {
  readonly twilio: Readonly<{
    /** REST credentials: the auth token pair, or an API key acting for the account. */
    credentials: Readonly<TwilioCredentials>;
    /** The account's auth token: Twilio signs webhooks with it (null with an API key only). */
    authToken: string | null;
    /** A Twilio-compatible origin (the emulator) instead of `https://*.twilio.com`, or null. */
    apiBaseUrl: string | null;
    /**
     * The Flex workspace (`WS…`): the plugin API checks with TaskRouter that a reservation is the
     * token's worker's, and the worker leg is looked up in its tasks. Null when not configured.
     */
    workspaceSid: string | null;
  }>;
  /** The core's controller options (strategy, leg, track, stream URL, status callback URL…). */
  readonly controller: ControllerConfig;
  /** The service's public base URL, exactly as given to Twilio (no trailing slash). */
  readonly publicUrl: string;
  readonly host: string;
  readonly port: number;
  /** Absolute path of the data directory (segments are persisted under `calls/`). */
  readonly dataDir: string;
  readonly drivers: Readonly<{ taskRouter: boolean; pluginApi: boolean }>;
  readonly flexToken: Readonly<FlexTokenValidation>;
  /** Origins allowed to call the plugin API from a browser (CORS), e.g. `https://flex.twilio.com`. */
  readonly corsOrigins: readonly string[];
  /**
   * Milliseconds between reconciler passes (0: off): live calls with no stream running have their
   * call status read, so a hang-up during a pause or a deferral still ends the segments.
   */
  readonly reconcileIntervalMs: number;
  /**
   * When set, `GET /v1/calls/:callSid` and `/metrics` need `Authorization: Bearer {it}` (they name
   * calls, agents and tasks); null leaves them open for a private network.
   */
  readonly adminToken: string | null;
  /**
   * Serve the operator dashboard (`GET /dashboard`, a page over `GET /v1/calls`). The page holds
   * no data; what it shows comes from the operator endpoints, behind `adminToken` when set.
   */
  readonly dashboard: boolean;
  /**
   * Days a call's segments are kept in the data directory after its last segment ended; 0 keeps
   * them forever. Checked at start-up and every hour.
   */
  readonly retentionDays: number;
  readonly logLevel: LogLevel;
}

/** The environment as a plain record (`process.env` by default). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Defaults of the optional variables. */
export const SERVICE_CONFIG_DEFAULTS = {
  host: '127.0.0.1',
  port: 4012,
  dataDir: 'data',
  corsOrigins: ['https://flex.twilio.com'],
  // One FetchCall per live call with no running stream per pass: cheap, and a paused segment's
  // call end is seen within 15 s even when no status callback is configured.
  reconcileIntervalMs: 15_000,
  // A call file per call, all read at start-up: unbounded growth is not a sensible default.
  retentionDays: 30,
  logLevel: 'info',
} as const;

/** The variable each option of the core's controller config comes from. */
const CONTROLLER_OPTION_VARIABLES: readonly [RegExp, string][] = [
  [/^strategy 'twiml' cannot be used with leg/, 'FLEX_STREAMS_STRATEGY + FLEX_STREAMS_LEG'],
  [/^strategy\b/, 'FLEX_STREAMS_STRATEGY'],
  [/^leg\b/, 'FLEX_STREAMS_LEG'],
  [/^track\b/, 'FLEX_STREAMS_TRACK'],
  [/^streamUrl\b/, 'FLEX_STREAMS_STREAM_URL'],
  [/^statusCallbackUrl\b/, 'FLEX_STREAMS_PUBLIC_URL'],
  [/^maxStreamRestarts\b/, 'FLEX_STREAMS_MAX_STREAM_RESTARTS'],
];

/**
 * The core reports its problems by option name, one per `- ` line; a person fixing the
 * environment needs the variable, so each line is prefixed with the variable it comes from.
 */
function controllerProblems(message: string): string[] {
  const lines = message.split('\n- ').slice(1);
  if (lines.length === 0) return [`controller configuration: ${message}`];
  return lines.map((line) => {
    const variable = CONTROLLER_OPTION_VARIABLES.find(([pattern]) => pattern.test(line))?.[1];
    return variable === undefined ? `controller configuration: ${line}` : `${variable}: ${line}`;
  });
}

/** The path Twilio posts stream status callbacks to, under the public URL. */
export const STREAM_STATUS_PATH = '/v1/streams/status';

const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const onOff = (name: string) =>
  optional.pipe(
    z
      .enum(['on', 'off', 'true', 'false', '1', '0'], {
        error: `${name} must be on or off`,
      })
      .optional(),
  );

const httpUrl = (name: string) =>
  optional.pipe(
    z
      .string()
      .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
        error: `${name} must be an absolute http:// or https:// URL`,
      })
      .optional(),
  );

const ENV_FIELDS = {
  TWILIO_ACCOUNT_SID: optional.pipe(
    z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/, {
        error: 'TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex digits',
      })
      .optional(),
  ),
  TWILIO_AUTH_TOKEN: optional,
  TWILIO_API_KEY_SID: optional.pipe(
    z
      .string()
      .regex(/^SK[0-9a-fA-F]{32}$/, {
        error: 'TWILIO_API_KEY_SID must be "SK" followed by 32 hex digits',
      })
      .optional(),
  ),
  TWILIO_API_KEY_SECRET: optional,
  TWILIO_API_BASE_URL: httpUrl('TWILIO_API_BASE_URL'),
  TWILIO_WORKSPACE_SID: optional.pipe(
    z
      .string()
      .regex(/^WS[0-9a-fA-F]{32}$/, {
        error: 'TWILIO_WORKSPACE_SID must be "WS" followed by 32 hex digits',
      })
      .optional(),
  ),
  FLEX_STREAMS_STRATEGY: optional,
  FLEX_STREAMS_LEG: optional,
  FLEX_STREAMS_TRACK: optional,
  FLEX_STREAMS_STREAM_URL: optional,
  FLEX_STREAMS_PUBLIC_URL: httpUrl('FLEX_STREAMS_PUBLIC_URL').pipe(
    z
      .string()
      .refine((value) => !/[?#]/.test(value), {
        error: 'FLEX_STREAMS_PUBLIC_URL must not have a query or fragment',
      })
      .optional(),
  ),
  FLEX_STREAMS_HOST: optional,
  FLEX_STREAMS_PORT: optional.pipe(
    z.coerce
      .number<string | undefined>({ error: 'FLEX_STREAMS_PORT must be a number' })
      .int({ error: 'FLEX_STREAMS_PORT must be an integer' })
      .min(0, { error: 'FLEX_STREAMS_PORT must be from 0 to 65535' })
      .max(65535, { error: 'FLEX_STREAMS_PORT must be from 0 to 65535' })
      .optional(),
  ),
  FLEX_STREAMS_DATA_DIR: optional,
  FLEX_STREAMS_TASKROUTER_DRIVER: onOff('FLEX_STREAMS_TASKROUTER_DRIVER'),
  FLEX_STREAMS_PLUGIN_API: onOff('FLEX_STREAMS_PLUGIN_API'),
  FLEX_STREAMS_FLEX_TOKEN_VALIDATION: optional.pipe(
    z
      .enum(['twilio', 'http'], {
        error: 'FLEX_STREAMS_FLEX_TOKEN_VALIDATION must be twilio or http',
      })
      .optional(),
  ),
  FLEX_STREAMS_FLEX_TOKEN_URL: httpUrl('FLEX_STREAMS_FLEX_TOKEN_URL'),
  FLEX_STREAMS_MAX_STREAM_RESTARTS: optional.pipe(
    z.coerce
      .number<string | undefined>({ error: 'FLEX_STREAMS_MAX_STREAM_RESTARTS must be a number' })
      .int({ error: 'FLEX_STREAMS_MAX_STREAM_RESTARTS must be an integer' })
      .min(0, { error: 'FLEX_STREAMS_MAX_STREAM_RESTARTS must be from 0 to 100' })
      .max(100, { error: 'FLEX_STREAMS_MAX_STREAM_RESTARTS must be from 0 to 100' })
      .optional(),
  ),
  FLEX_STREAMS_RECONCILE_INTERVAL_MS: optional.pipe(
    z.coerce
      .number<string | undefined>({ error: 'FLEX_STREAMS_RECONCILE_INTERVAL_MS must be a number' })
      .int({ error: 'FLEX_STREAMS_RECONCILE_INTERVAL_MS must be an integer' })
      .refine((ms) => ms === 0 || (ms >= 1000 && ms <= 3_600_000), {
        error:
          'FLEX_STREAMS_RECONCILE_INTERVAL_MS must be 0 (off) or from 1000 to 3600000 milliseconds',
      })
      .optional(),
  ),
  FLEX_STREAMS_LOG_LEVEL: optional.pipe(
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'FLEX_STREAMS_LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent',
      })
      .optional(),
  ),
  FLEX_STREAMS_CORS_ORIGINS: optional,
  FLEX_STREAMS_ADMIN_TOKEN: optional.pipe(
    z
      .string()
      .min(16, { error: 'FLEX_STREAMS_ADMIN_TOKEN must be at least 16 characters' })
      .refine((value) => /^[\x21-\x7e]+$/.test(value), {
        // HTTP clients send header values as bytes, browsers as Latin-1: only visible ASCII is
        // the same token for every client (RFC 6750 tokens are ASCII too).
        error: 'FLEX_STREAMS_ADMIN_TOKEN must be visible ASCII characters, no spaces',
      })
      .optional(),
  ),
  FLEX_STREAMS_DASHBOARD: onOff('FLEX_STREAMS_DASHBOARD'),
  FLEX_STREAMS_RETENTION_DAYS: optional.pipe(
    z.coerce
      .number<string | undefined>({ error: 'FLEX_STREAMS_RETENTION_DAYS must be a number' })
      .int({ error: 'FLEX_STREAMS_RETENTION_DAYS must be a whole number of days' })
      .min(0, { error: 'FLEX_STREAMS_RETENTION_DAYS must be from 0 (keep forever) to 3650' })
      .max(3650, { error: 'FLEX_STREAMS_RETENTION_DAYS must be from 0 (keep forever) to 3650' })
      .optional(),
  ),
} as const;

/** Every environment variable the service reads (the README table and `.env.example` list them). */
export const SERVICE_ENV_VARIABLES: readonly string[] = Object.freeze(Object.keys(ENV_FIELDS));

type EnvValues = {
  [K in keyof typeof ENV_FIELDS]: z.output<(typeof ENV_FIELDS)[K]>;
};

/** Parses each variable on its own, so one bad value never hides the problems of the others. */
function parseEnv(env: Environment, problems: string[]): EnvValues {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(ENV_FIELDS)) {
    const parsed = (schema as z.ZodType).safeParse(env[name]);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      for (const issue of parsed.error.issues) problems.push(issue.message);
    }
  }
  return values as EnvValues;
}

function isOn(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === 'on' || value === 'true' || value === '1';
}

function corsOrigins(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [...SERVICE_CONFIG_DEFAULTS.corsOrigins];
  const origins: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    if (!URL.canParse(item) || new URL(item).origin !== item.replace(/\/$/, '')) {
      problems.push(
        `FLEX_STREAMS_CORS_ORIGINS: '${item}' is not an origin (scheme://host[:port], no path)`,
      );
      continue;
    }
    origins.push(new URL(item).origin);
  }
  return origins;
}

/**
 * Reads and validates the service's configuration from `env` (`process.env` by default). Throws one
 * `FS_ERR_INVALID_CONFIG` error listing every problem, each naming its variable.
 */
export function loadServiceConfig(env: Environment = process.env): ServiceConfig {
  const problems: string[] = [];
  const vars = parseEnv(env, problems);
  const given = (name: keyof typeof ENV_FIELDS): boolean => (env[name] ?? '').trim() !== '';

  const accountSid = vars.TWILIO_ACCOUNT_SID;
  const authToken = vars.TWILIO_AUTH_TOKEN ?? null;
  const apiKeySid = vars.TWILIO_API_KEY_SID;
  const apiKeySecret = vars.TWILIO_API_KEY_SECRET;
  if (!given('TWILIO_ACCOUNT_SID')) problems.push('TWILIO_ACCOUNT_SID is required');
  if (given('TWILIO_API_KEY_SID') !== given('TWILIO_API_KEY_SECRET')) {
    problems.push('TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET must be given together');
  }
  if (authToken === null && !given('TWILIO_API_KEY_SID')) {
    problems.push('TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID + TWILIO_API_KEY_SECRET) is required');
  }
  const taskRouter = isOn(vars.FLEX_STREAMS_TASKROUTER_DRIVER, true);
  const pluginApi = isOn(vars.FLEX_STREAMS_PLUGIN_API, true);
  if (authToken === null && taskRouter) {
    // Twilio signs webhooks with the account's auth token, never with an API key secret
    // (https://www.twilio.com/docs/usage/security#validating-requests).
    problems.push(
      'TWILIO_AUTH_TOKEN is required while FLEX_STREAMS_TASKROUTER_DRIVER is on: Twilio signs ' +
        'webhooks with the auth token, an API key cannot check them',
    );
  }
  if (!pluginApi && !taskRouter) {
    problems.push(
      'FLEX_STREAMS_TASKROUTER_DRIVER and FLEX_STREAMS_PLUGIN_API are both off: nothing would ever start a stream',
    );
  }

  const publicUrl = vars.FLEX_STREAMS_PUBLIC_URL?.replace(/\/+$/, '');
  if (!given('FLEX_STREAMS_PUBLIC_URL')) {
    problems.push(
      'FLEX_STREAMS_PUBLIC_URL is required (the https:// URL Twilio reaches this service at)',
    );
  }
  if (!given('FLEX_STREAMS_STREAM_URL')) {
    problems.push("FLEX_STREAMS_STREAM_URL is required (the receiver's public wss:// URL)");
  }

  let flexToken: FlexTokenValidation = { mode: 'twilio' };
  const tokenMode =
    vars.FLEX_STREAMS_FLEX_TOKEN_VALIDATION ??
    (vars.TWILIO_API_BASE_URL === undefined ? 'twilio' : 'http');
  if (tokenMode === 'http') {
    const baseUrl = vars.FLEX_STREAMS_FLEX_TOKEN_URL ?? vars.TWILIO_API_BASE_URL;
    if (baseUrl === undefined) {
      if (!given('FLEX_STREAMS_FLEX_TOKEN_URL') && !given('TWILIO_API_BASE_URL')) {
        problems.push(
          'FLEX_STREAMS_FLEX_TOKEN_URL (or TWILIO_API_BASE_URL) is required when FLEX_STREAMS_FLEX_TOKEN_VALIDATION is http',
        );
      }
    } else {
      flexToken = { mode: 'http', baseUrl: baseUrl.replace(/\/+$/, '') };
    }
  }

  let controller: ControllerConfig | null = null;
  try {
    // Without a stream URL (already reported) the other controller options are still checked,
    // against a stand-in URL, so every problem is listed at once; the result is then dropped.
    const checked = createControllerConfig({
      streamUrl: vars.FLEX_STREAMS_STREAM_URL ?? 'wss://stream-url.invalid/media',
      // Status callbacks are signed with the auth token; without it they could not be trusted.
      statusCallbackUrl:
        publicUrl === undefined || authToken === null ? null : publicUrl + STREAM_STATUS_PATH,
      ...(vars.FLEX_STREAMS_STRATEGY === undefined ? {} : { strategy: vars.FLEX_STREAMS_STRATEGY }),
      ...(vars.FLEX_STREAMS_LEG === undefined ? {} : { leg: vars.FLEX_STREAMS_LEG }),
      ...(vars.FLEX_STREAMS_TRACK === undefined ? {} : { track: vars.FLEX_STREAMS_TRACK }),
      ...(vars.FLEX_STREAMS_MAX_STREAM_RESTARTS === undefined
        ? {}
        : { maxStreamRestarts: vars.FLEX_STREAMS_MAX_STREAM_RESTARTS }),
    });
    if (vars.FLEX_STREAMS_STREAM_URL !== undefined) controller = checked;
  } catch (error) {
    if (!isFsError(error, 'FS_ERR_INVALID_CONFIG')) throw error;
    problems.push(...controllerProblems(error.message));
  }

  const origins = corsOrigins(vars.FLEX_STREAMS_CORS_ORIGINS, problems);

  if (problems.length > 0 || controller === null || publicUrl === undefined) {
    throw createFsError(
      'FS_ERR_INVALID_CONFIG',
      `The flex-streams service cannot start; fix these environment variables ` +
        `(see packages/server/README.md, "Configuration", and .env.example):\n- ${problems.join('\n- ')}`,
    );
  }

  const credentials: TwilioCredentials =
    apiKeySid !== undefined && apiKeySecret !== undefined
      ? { accountSid: accountSid ?? '', apiKeySid, apiKeySecret }
      : { accountSid: accountSid ?? '', authToken: authToken ?? '' };
  const dataDir = vars.FLEX_STREAMS_DATA_DIR ?? SERVICE_CONFIG_DEFAULTS.dataDir;

  return Object.freeze({
    twilio: Object.freeze({
      credentials: Object.freeze(credentials),
      authToken,
      apiBaseUrl: vars.TWILIO_API_BASE_URL?.replace(/\/+$/, '') ?? null,
      workspaceSid: vars.TWILIO_WORKSPACE_SID ?? null,
    }),
    controller,
    publicUrl,
    host: vars.FLEX_STREAMS_HOST ?? SERVICE_CONFIG_DEFAULTS.host,
    port: vars.FLEX_STREAMS_PORT ?? SERVICE_CONFIG_DEFAULTS.port,
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir),
    drivers: Object.freeze({ taskRouter, pluginApi }),
    flexToken: Object.freeze(flexToken),
    corsOrigins: Object.freeze(origins),
    reconcileIntervalMs:
      vars.FLEX_STREAMS_RECONCILE_INTERVAL_MS ?? SERVICE_CONFIG_DEFAULTS.reconcileIntervalMs,
    adminToken: vars.FLEX_STREAMS_ADMIN_TOKEN ?? null,
    dashboard: isOn(vars.FLEX_STREAMS_DASHBOARD, true),
    retentionDays: vars.FLEX_STREAMS_RETENTION_DAYS ?? SERVICE_CONFIG_DEFAULTS.retentionDays,
    logLevel: vars.FLEX_STREAMS_LOG_LEVEL ?? SERVICE_CONFIG_DEFAULTS.logLevel,
  });
}

/**
 * True when Twilio credentials are configured (`TWILIO_ACCOUNT_SID` is set): `flex-streams start`
 * then runs against Twilio (or `TWILIO_API_BASE_URL`); otherwise it runs the emulator in-process.
 */
export function hasTwilioAccount(env: Environment = process.env): boolean {
  return (env.TWILIO_ACCOUNT_SID ?? '').trim() !== '';
}

/**
 * {@link loadServiceConfig} over the process environment with `overrides` on top: how
 * `flex-streams start` points the service at the emulator and applies its command-line flags.
 */
export function loadServiceConfigWith(overrides: Environment): ServiceConfig {
  return loadServiceConfig({ ...process.env, ...overrides });
}
