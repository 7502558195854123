import { describe, expect, it } from 'vitest';
import { createTwilioClient, DEFAULT_TWILIO_TIMEOUT_MS } from './client.js';
import { isFsTwilioError } from './errors.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const KEY = `SK${'b'.repeat(32)}`;

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isFsTwilioError(error, 'FS_TW_INVALID_OPTIONS')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected createTwilioClient to throw');
}

describe('createTwilioClient', () => {
  it('accepts auth-token and API-key credentials', () => {
    const byToken = createTwilioClient({ accountSid: ACCOUNT, authToken: 't' });
    expect(byToken.accountSid).toBe(ACCOUNT);
    expect(byToken.username).toBe(ACCOUNT);
    const byKey = createTwilioClient({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: 's' });
    expect(byKey.accountSid).toBe(ACCOUNT);
    expect(byKey.username).toBe(KEY);
  });

  it('lists every problem of bad credentials and options in one error', () => {
    const message = refusal(() =>
      createTwilioClient(
        { accountSid: 'SK123', authToken: '' },
        { apiBaseUrl: 'ftp://127.0.0.1:1/path?x=1', timeoutMs: 0 },
      ),
    );
    expect(message).toContain('accountSid must be "AC"');
    expect(message).toContain('authToken must not be empty');
    expect(message).toContain('apiBaseUrl must be http:// or https://');
    expect(message).toContain('origin only');
    expect(message).toContain('timeoutMs');
  });

  it('refuses an API key SID that is not SK…, and mixed credentials', () => {
    expect(
      refusal(() =>
        createTwilioClient({ accountSid: ACCOUNT, apiKeySid: ACCOUNT, apiKeySecret: 's' }),
      ),
    ).toContain('apiKeySid must be "SK"');
    expect(
      refusal(() =>
        createTwilioClient({
          accountSid: ACCOUNT,
          authToken: 't',
          apiKeySid: KEY,
          apiKeySecret: 's',
        }),
      ),
    ).toContain('not both');
  });

  it('refuses region or edge together with apiBaseUrl, saying why', () => {
    const credentials = { accountSid: ACCOUNT, authToken: 't' };
    for (const extra of [{ region: 'au1' }, { edge: 'sydney' }]) {
      const message = refusal(() =>
        createTwilioClient(credentials, { apiBaseUrl: 'http://127.0.0.1:4010', ...extra }),
      );
      expect(message).toContain('region/edge cannot be combined with apiBaseUrl');
      expect(message).toContain('TWILIO_REGION');
    }
  });

  it('never lets TWILIO_REGION / TWILIO_EDGE / TWILIO_LOG_LEVEL from the environment in', () => {
    const saved = { ...process.env };
    process.env.TWILIO_REGION = 'au1';
    process.env.TWILIO_EDGE = 'sydney';
    process.env.TWILIO_LOG_LEVEL = 'debug';
    try {
      const plain = createTwilioClient({ accountSid: ACCOUNT, authToken: 't' });
      expect(plain.region).toBe('');
      expect(plain.edge).toBe('');
      expect(plain.logLevel).toBe('');
      const chosen = createTwilioClient(
        { accountSid: ACCOUNT, authToken: 't' },
        { region: 'ie1', edge: 'dublin' },
      );
      expect(chosen.region).toBe('ie1');
      expect(chosen.edge).toBe('dublin');
    } finally {
      process.env = saved;
    }
  });

  it('turns the SDK auto-retry off and applies the timeout', () => {
    const client = createTwilioClient({ accountSid: ACCOUNT, authToken: 't' });
    expect(client.httpClient.autoRetry).toBe(false);
    expect(client.httpClient.defaultTimeout).toBe(DEFAULT_TWILIO_TIMEOUT_MS);
    const quick = createTwilioClient({ accountSid: ACCOUNT, authToken: 't' }, { timeoutMs: 250 });
    expect(quick.httpClient.defaultTimeout).toBe(250);
  });
});
