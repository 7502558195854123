import { describe, expect, it, vi } from 'vitest';
import {
  createFlexTokenValidator,
  isFlexTokenError,
  parseFlexTokenAnswer,
  type FlexTokenFailure,
  type FlexTokenValidator,
  type FlexTokenValidatorFunction,
} from './flex-token.js';
import { isFsTwilioError } from './errors.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const WORKER = `WK${'b'.repeat(32)}`;

/** The service's answer for a valid token (twilio-flex-token-validator README, facts §6). */
const VALID_ANSWER = {
  valid: true,
  code: 0,
  message: null,
  expiration: '2026-09-24T23:22:44.240Z',
  realm_user_id: 'agent@example.com',
  identity: 'agent_40example_2Dcom',
  roles: ['agent'],
  worker_sid: WORKER,
};

/** What the fake "service" does for a token: answer JSON, fail on the network, or hang. */
type ServiceBehaviour = { answer: unknown } | { networkError: string } | 'hang';

/**
 * An honest fake of `twilio-flex-token-validator`'s `validator` (1.6.0 `dist/index.js`): it checks
 * its arguments as the library does, then resolves with the answer when `valid` is true and
 * otherwise rejects with the answer's `message` — a string, not an Error — or with the network
 * error's message.
 */
function fakeLibrary(service: Record<string, ServiceBehaviour>): FlexTokenValidatorFunction {
  return (token, accountSid, authToken, _realm, apiCredentials) =>
    new Promise<object>((resolve, reject) => {
      // Rejections with strings are the library's documented behaviour, kept on purpose.
      /* eslint-disable @typescript-eslint/prefer-promise-reject-errors */
      if (!token) {
        reject('Unauthorized: Token was not provided');
        return;
      }
      if (!accountSid) {
        reject('Unauthorized: AccountSid was not provided');
        return;
      }
      if (!authToken && (!apiCredentials?.Sid || !apiCredentials.Secret)) {
        reject('Unauthorized: AuthToken or Api Credentials were not provided');
        return;
      }
      const behaviour = service[token] ?? {
        answer: { valid: false, code: 20160, message: 'Invalid token' },
      };
      if (behaviour === 'hang') return;
      if ('networkError' in behaviour) {
        reject(behaviour.networkError);
        return;
      }
      const answer = behaviour.answer as { valid?: boolean; message?: string };
      if (answer.valid === true) resolve(answer);
      else reject(answer.message);
      /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
    });
}

async function failure(validator: FlexTokenValidator, token: string): Promise<FlexTokenFailure> {
  try {
    await validator.validate(token);
  } catch (error) {
    if (isFlexTokenError(error)) return error.reason;
    throw error;
  }
  throw new Error('expected the validator to reject');
}

describe('createFlexTokenValidator (production, through twilio-flex-token-validator)', () => {
  it('maps a valid answer to a FlexTokenIdentity and passes the auth token', async () => {
    const library = vi.fn(fakeLibrary({ good: { answer: VALID_ANSWER } }));
    const validator = createFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 'secret-token' },
      { validate: library, realm: 'au1' },
    );
    await expect(validator.validate('good')).resolves.toEqual({
      identity: 'agent_40example_2Dcom',
      workerSid: WORKER,
      roles: ['agent'],
      expiration: Date.parse('2026-09-24T23:22:44.240Z'),
      realmUserId: 'agent@example.com',
    });
    expect(library).toHaveBeenCalledWith('good', ACCOUNT, 'secret-token', 'au1');
  });

  it('passes API key credentials as {Sid, Secret}', async () => {
    const library = vi.fn(fakeLibrary({ good: { answer: VALID_ANSWER } }));
    const validator = createFlexTokenValidator(
      { accountSid: ACCOUNT, apiKeySid: `SK${'c'.repeat(32)}`, apiKeySecret: 'key-secret' },
      { validate: library },
    );
    await validator.validate('good');
    expect(library).toHaveBeenCalledWith('good', ACCOUNT, undefined, undefined, {
      Sid: `SK${'c'.repeat(32)}`,
      Secret: 'key-secret',
    });
  });

  it('maps refusals: expired (20104 / "expired"), invalid (anything else, empty token)', async () => {
    const validator = createFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 't' },
      {
        validate: fakeLibrary({
          old: { answer: { valid: false, code: 20104, message: 'Token expired' } },
          forged: { answer: { valid: false, code: 20160, message: 'Invalid token' } },
        }),
      },
    );
    expect(await failure(validator, 'old')).toBe('expired');
    expect(await failure(validator, 'forged')).toBe('invalid');
    expect(await failure(validator, '')).toBe('invalid');
  });

  it('maps network failures, unreadable answers and refused credentials to unavailable', async () => {
    const validator = createFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 't' },
      {
        validate: fakeLibrary({
          refused: { networkError: 'connect ECONNREFUSED 52.1.2.3:443' },
          dns: { networkError: 'getaddrinfo ENOTFOUND iam.twilio.com' },
          hangup: { networkError: 'socket hang up' },
          html: { networkError: 'Unexpected token < in JSON at position 0' },
          creds: { answer: { code: 20003, message: 'Authenticate', status: 401 } },
          down: { answer: { code: 20500, message: 'Internal Server Error', status: 500 } },
          shapeless: { answer: { valid: true, roles: ['agent'] } },
        }),
      },
    );
    for (const token of ['refused', 'dns', 'hangup', 'html', 'creds', 'down', 'shapeless']) {
      expect(await failure(validator, token)).toBe('unavailable');
    }
  });

  it('gives up after timeoutMs when the service never answers', async () => {
    const validator = createFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 't' },
      { validate: fakeLibrary({ slow: 'hang' }), timeoutMs: 50 },
    );
    const started = Date.now();
    expect(await failure(validator, 'slow')).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('carries stable codes and HTTP statuses per reason', async () => {
    const validator = createFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 't' },
      {
        validate: fakeLibrary({
          old: { answer: { valid: false, code: 20104, message: 'Token expired' } },
          refused: { networkError: 'connect ECONNREFUSED 52.1.2.3:443' },
        }),
      },
    );
    await expect(validator.validate('old')).rejects.toMatchObject({
      code: 'FS_TW_FLEX_TOKEN_EXPIRED',
      status: 401,
    });
    await expect(validator.validate('x')).rejects.toMatchObject({
      code: 'FS_TW_FLEX_TOKEN_INVALID',
      status: 401,
    });
    await expect(validator.validate('refused')).rejects.toMatchObject({
      code: 'FS_TW_FLEX_TOKEN_UNAVAILABLE',
      status: 503,
    });
  });

  it('refuses bad credentials at construction', () => {
    expect(() => createFlexTokenValidator({ accountSid: 'nope', authToken: '' })).toThrow(
      /accountSid.*authToken/,
    );
    try {
      createFlexTokenValidator({ accountSid: ACCOUNT, authToken: 't' }, { timeoutMs: -1 });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(isFsTwilioError(error, 'FS_TW_INVALID_OPTIONS')).toBe(true);
    }
  });
});

describe('parseFlexTokenAnswer', () => {
  it('tolerates a missing worker_sid, roles and expiration', () => {
    expect(parseFlexTokenAnswer({ valid: true, identity: 'sup' })).toEqual({
      identity: 'sup',
      workerSid: null,
      roles: [],
      expiration: null,
      realmUserId: null,
    });
  });

  it('does not trust an answer without identity or with non-string roles', () => {
    for (const answer of [
      null,
      { valid: false, identity: 'x' },
      { valid: true },
      { valid: true, identity: 'x', roles: [1] },
      { valid: true, identity: 'x', roles: 'agent' },
    ]) {
      expect(() => parseFlexTokenAnswer(answer)).toThrow(
        expect.objectContaining({ reason: 'unavailable' }) as Error,
      );
    }
  });
});
