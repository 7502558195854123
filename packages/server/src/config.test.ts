import { readFileSync } from 'node:fs';
import { isFsError } from '@flex-streams/core';
import { describe, expect, it } from 'vitest';
import {
  loadServiceConfig,
  SERVICE_ENV_VARIABLES,
  STREAM_STATUS_PATH,
  type Environment,
} from './config.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const KEY = `SK${'b'.repeat(32)}`;

const minimal: Environment = {
  TWILIO_ACCOUNT_SID: ACCOUNT,
  TWILIO_AUTH_TOKEN: 'token',
  FLEX_STREAMS_STREAM_URL: 'wss://receiver.example.com/streams',
  FLEX_STREAMS_PUBLIC_URL: 'https://controller.example.com/',
};

function problemsOf(env: Environment): string {
  try {
    loadServiceConfig(env);
  } catch (error) {
    if (isFsError(error, 'FS_ERR_INVALID_CONFIG')) return error.message;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadServiceConfig', () => {
  it('fills defaults, derives the status callback URL from the public URL, and freezes', () => {
    const config = loadServiceConfig(minimal);
    expect(config.publicUrl).toBe('https://controller.example.com');
    expect(config.controller).toMatchObject({
      strategy: 'rest',
      leg: 'customer',
      track: 'both_tracks',
      streamUrl: 'wss://receiver.example.com/streams',
      statusCallbackUrl: `https://controller.example.com${STREAM_STATUS_PATH}`,
      maxStreamRestarts: 3,
    });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4012,
      drivers: { taskRouter: true, pluginApi: true },
      flexToken: { mode: 'twilio' },
      corsOrigins: ['https://flex.twilio.com'],
      logLevel: 'info',
      twilio: {
        credentials: { accountSid: ACCOUNT, authToken: 'token' },
        apiBaseUrl: null,
        workspaceSid: null,
      },
    });
    expect(config.dataDir).toMatch(/[/\\]data$/);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.twilio)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadServiceConfig({
      ...minimal,
      TWILIO_API_KEY_SID: KEY,
      TWILIO_API_KEY_SECRET: 'secret',
      TWILIO_API_BASE_URL: 'http://127.0.0.1:4010/',
      TWILIO_WORKSPACE_SID: `WS${'ab'.repeat(16)}`,
      FLEX_STREAMS_STRATEGY: 'twiml',
      FLEX_STREAMS_TRACK: 'inbound_track',
      FLEX_STREAMS_HOST: '0.0.0.0',
      FLEX_STREAMS_PORT: '0',
      FLEX_STREAMS_DATA_DIR: '/var/lib/flex-streams',
      FLEX_STREAMS_TASKROUTER_DRIVER: 'on',
      FLEX_STREAMS_PLUGIN_API: 'off',
      FLEX_STREAMS_MAX_STREAM_RESTARTS: '5',
      FLEX_STREAMS_LOG_LEVEL: 'debug',
      FLEX_STREAMS_CORS_ORIGINS: 'https://flex.twilio.com, http://localhost:3000',
      FLEX_STREAMS_RECONCILE_INTERVAL_MS: '60000',
      FLEX_STREAMS_ADMIN_TOKEN: 'operator-secret-0123456789',
    });
    expect(config.twilio).toMatchObject({
      credentials: { accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: 'secret' },
      authToken: 'token',
      apiBaseUrl: 'http://127.0.0.1:4010',
      workspaceSid: `WS${'ab'.repeat(16)}`,
    });
    expect(config.controller).toMatchObject({
      strategy: 'twiml',
      track: 'inbound_track',
      maxStreamRestarts: 5,
    });
    // With an API base URL the token is checked over HTTP against it unless told otherwise.
    expect(config.flexToken).toEqual({ mode: 'http', baseUrl: 'http://127.0.0.1:4010' });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      dataDir: '/var/lib/flex-streams',
      drivers: { taskRouter: true, pluginApi: false },
      logLevel: 'debug',
      corsOrigins: ['https://flex.twilio.com', 'http://localhost:3000'],
      reconcileIntervalMs: 60_000,
      adminToken: 'operator-secret-0123456789',
    });
  });

  it('uses an explicit token validation URL', () => {
    const config = loadServiceConfig({
      ...minimal,
      FLEX_STREAMS_FLEX_TOKEN_VALIDATION: 'http',
      FLEX_STREAMS_FLEX_TOKEN_URL: 'http://127.0.0.1:9999',
    });
    expect(config.flexToken).toEqual({ mode: 'http', baseUrl: 'http://127.0.0.1:9999' });
  });

  it('lists every problem in one error', () => {
    const message = problemsOf({
      TWILIO_ACCOUNT_SID: 'AC123',
      FLEX_STREAMS_PORT: '70000',
      FLEX_STREAMS_PUBLIC_URL: 'ftp://x',
      FLEX_STREAMS_LOG_LEVEL: 'loud',
      FLEX_STREAMS_PLUGIN_API: 'maybe',
      FLEX_STREAMS_FLEX_TOKEN_VALIDATION: 'http',
      FLEX_STREAMS_CORS_ORIGINS: 'https://flex.twilio.com/path',
      TWILIO_API_KEY_SID: KEY,
      TWILIO_WORKSPACE_SID: 'WS123',
      FLEX_STREAMS_RECONCILE_INTERVAL_MS: '500',
      FLEX_STREAMS_ADMIN_TOKEN: 'shört',
    });
    for (const expected of [
      'FLEX_STREAMS_RECONCILE_INTERVAL_MS must be 0 (off) or from 1000 to 3600000',
      'FLEX_STREAMS_ADMIN_TOKEN must be at least 16 characters',
      'FLEX_STREAMS_ADMIN_TOKEN must be visible ASCII characters',
      'TWILIO_WORKSPACE_SID must be "WS" followed by 32 hex digits',
      'TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex digits',
      'FLEX_STREAMS_PORT must be from 0 to 65535',
      'FLEX_STREAMS_PUBLIC_URL must be an absolute http:// or https:// URL',
      'FLEX_STREAMS_LOG_LEVEL must be',
      'FLEX_STREAMS_PLUGIN_API must be on or off',
      'TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET must be given together',
      'TWILIO_AUTH_TOKEN is required while FLEX_STREAMS_TASKROUTER_DRIVER is on',
      'FLEX_STREAMS_STREAM_URL is required',
      'FLEX_STREAMS_FLEX_TOKEN_URL (or TWILIO_API_BASE_URL) is required',
      "FLEX_STREAMS_CORS_ORIGINS: 'https://flex.twilio.com/path' is not an origin",
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('names missing essentials and passes on the core controller problems', () => {
    expect(problemsOf({})).toMatch(
      /TWILIO_ACCOUNT_SID is required[\s\S]*TWILIO_AUTH_TOKEN \(or TWILIO_API_KEY_SID[\s\S]*FLEX_STREAMS_PUBLIC_URL is required[\s\S]*FLEX_STREAMS_STREAM_URL is required/,
    );
    const message = problemsOf({
      ...minimal,
      FLEX_STREAMS_STRATEGY: 'twiml',
      FLEX_STREAMS_LEG: 'worker',
      FLEX_STREAMS_STREAM_URL: 'https://not-a-websocket.example.com',
      FLEX_STREAMS_TRACK: 'stereo',
    });
    // Each of the core's problems is named after the variable it comes from, one per line.
    expect(message).toMatch(
      /\n- FLEX_STREAMS_STRATEGY \+ FLEX_STREAMS_LEG: strategy 'twiml' cannot be used with leg 'worker'/,
    );
    expect(message).toMatch(/\n- FLEX_STREAMS_STREAM_URL: streamUrl must use wss/);
    expect(message).toMatch(/\n- FLEX_STREAMS_TRACK: track must be one of inbound_track/);
    expect(message).not.toContain('invalid controller configuration');
    // Still checked when the stream URL is missing.
    expect(
      problemsOf({ ...minimal, FLEX_STREAMS_STREAM_URL: undefined, FLEX_STREAMS_TRACK: 'stereo' }),
    ).toMatch(/FLEX_STREAMS_STREAM_URL is required[\s\S]*\n- FLEX_STREAMS_TRACK: track must be/);
  });

  it('refuses switching off both drivers, and leaves status callbacks off without an auth token', () => {
    expect(
      problemsOf({
        ...minimal,
        FLEX_STREAMS_TASKROUTER_DRIVER: 'off',
        FLEX_STREAMS_PLUGIN_API: 'off',
      }),
    ).toContain('nothing would ever start a stream');
    const config = loadServiceConfig({
      ...minimal,
      TWILIO_AUTH_TOKEN: undefined,
      TWILIO_API_KEY_SID: KEY,
      TWILIO_API_KEY_SECRET: 'secret',
      FLEX_STREAMS_TASKROUTER_DRIVER: 'off',
    });
    expect(config.twilio.authToken).toBeNull();
    expect(config.controller.statusCallbackUrl).toBeNull();
  });
});

describe('configuration docs', () => {
  const envExample = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rootReadme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  it('lists every variable in .env.example and in both README tables (package and root)', () => {
    expect(SERVICE_ENV_VARIABLES.length).toBeGreaterThan(15);
    for (const name of SERVICE_ENV_VARIABLES) {
      expect(envExample, name).toMatch(new RegExp(`^${name}=`, 'm'));
      expect(readme, name).toContain(`\`${name}\``);
      expect(rootReadme, `root README: ${name}`).toContain(`\`${name}\``);
    }
  });

  it('accepts .env.example as written once the credentials are filled in', () => {
    const env: Record<string, string> = {};
    for (const line of envExample.split('\n')) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line);
      if (match?.[1] !== undefined) env[match[1]] = match[2] ?? '';
    }
    const config = loadServiceConfig({
      ...env,
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: 't',
    });
    expect(config.controller.streamUrl).toBe('wss://receiver.example.com/media');
    expect(config.flexToken).toEqual({ mode: 'twilio' });
  });
});
