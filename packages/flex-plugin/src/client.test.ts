import { describe, expect, it } from 'vitest';
import { createControllerClient, normaliseControllerUrl } from './client.js';
import { isFlexPluginError } from './errors.js';
import { createConsoleLogger } from './logger.js';

function codeOf(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return isFlexPluginError(error) ? error.code : 'not a FlexPluginError';
  }
}

describe('normaliseControllerUrl', () => {
  it('keeps an http(s) base URL, with its path, without trailing slashes', () => {
    expect(normaliseControllerUrl('https://streams.example.com/')).toBe(
      'https://streams.example.com',
    );
    expect(normaliseControllerUrl(' https://example.com/flex-streams// ')).toBe(
      'https://example.com/flex-streams',
    );
    expect(normaliseControllerUrl('http://127.0.0.1:4012')).toBe('http://127.0.0.1:4012');
  });

  it('refuses what is not an http(s) base URL with FS_PLUGIN_ERR_CONFIG', () => {
    for (const bad of [
      undefined,
      42,
      '',
      'streams.example.com',
      'wss://x',
      'https://x/?a=1',
      'https://x/#f',
      // A bare `?` or `#` leaves `search` and `hash` empty but stays in `href`.
      'http://host/?',
      'http://host/#',
      'http://host/api/?',
    ])
      expect(codeOf(() => normaliseControllerUrl(bad))).toBe('FS_PLUGIN_ERR_CONFIG');
  });
});

describe('createControllerClient options', () => {
  const base = { controllerUrl: 'https://x', getToken: () => 't', logger: createConsoleLogger() };
  it('refuses unbounded or inconsistent retries and a non-positive timeout', () => {
    expect(
      codeOf(() =>
        createControllerClient({ ...base, retry: { attempts: 0, baseDelayMs: 1, maxDelayMs: 1 } }),
      ),
    ).toBe('FS_PLUGIN_ERR_CONFIG');
    expect(
      codeOf(() =>
        createControllerClient({ ...base, retry: { attempts: 11, baseDelayMs: 1, maxDelayMs: 1 } }),
      ),
    ).toBe('FS_PLUGIN_ERR_CONFIG');
    expect(
      codeOf(() =>
        createControllerClient({ ...base, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 5 } }),
      ),
    ).toBe('FS_PLUGIN_ERR_CONFIG');
    expect(codeOf(() => createControllerClient({ ...base, timeoutMs: 0 }))).toBe(
      'FS_PLUGIN_ERR_CONFIG',
    );
    expect(codeOf(() => createControllerClient(base))).toBeNull();
  });
});
