import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpFlexTokenValidator,
  isFlexTokenError,
  type FlexTokenFailure,
  type FlexTokenValidator,
} from '../src/index.js';
import {
  closedPort,
  startScriptedServer,
  startSilentServer,
  twilioErrorBody,
  type ScriptedAnswer,
  type ScriptedServer,
} from './helpers.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const WORKER = `WK${'b'.repeat(32)}`;
const KEY = `SK${'c'.repeat(32)}`;

/**
 * A local stand-in for Twilio's token validation service (README "Token validation protocol"):
 * it checks the method, path, Basic auth and JSON body exactly, and answers per token.
 */
function validationService(request: {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}): ScriptedAnswer {
  const expectedAuth = [
    `Basic ${Buffer.from(`${ACCOUNT}:auth-token`).toString('base64')}`,
    `Basic ${Buffer.from(`${KEY}:key-secret`).toString('base64')}`,
  ];
  if (request.method !== 'POST' || request.url !== `/v1/Accounts/${ACCOUNT}/Tokens/validate`) {
    return { status: 404, body: twilioErrorBody(404, 20404, 'Not found') };
  }
  if (!expectedAuth.includes(String(request.headers.authorization))) {
    return { status: 401, body: twilioErrorBody(401, 20003, 'Authenticate') };
  }
  if (!String(request.headers['content-type']).startsWith('application/json')) {
    return { status: 400, body: twilioErrorBody(400, 20001, 'JSON body expected') };
  }
  const { token } = JSON.parse(request.body) as { token?: unknown };
  switch (token) {
    case 'good':
      return {
        status: 200,
        body: JSON.stringify({
          valid: true,
          code: 0,
          message: null,
          expiration: '2026-09-24T23:22:44.240Z',
          realm_user_id: 'agent@example.com',
          identity: 'agent_40example_2Dcom',
          roles: ['agent', 'supervisor'],
          worker_sid: WORKER,
        }),
      };
    case 'old':
      return {
        status: 200,
        body: JSON.stringify({ valid: false, code: 20104, message: 'Token expired' }),
      };
    case 'forged':
      return {
        status: 200,
        body: JSON.stringify({ valid: false, code: 20160, message: 'Invalid token' }),
      };
    case 'forged-403':
      return {
        status: 403,
        body: JSON.stringify({ valid: false, code: 20160, message: 'Invalid token' }),
      };
    case 'bad-request':
      return { status: 400, body: twilioErrorBody(400, 20001, 'Token malformed') };
    case 'overload':
      return { status: 429, body: twilioErrorBody(429, 20429, 'Too Many Requests') };
    case 'crash':
      return { status: 500, body: twilioErrorBody(500, 20500, 'Internal Server Error') };
    case 'html':
      return { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<html></html>' };
    case 'shapeless':
      return { status: 200, body: JSON.stringify({ valid: true }) };
    default:
      return {
        status: 200,
        body: JSON.stringify({ valid: false, code: 20160, message: 'Invalid token' }),
      };
  }
}

let service: ScriptedServer;

beforeAll(async () => {
  service = await startScriptedServer({ status: 500, body: '{}' });
  service.answer = validationService;
});
afterAll(async () => {
  await service.close();
});
afterEach(() => {
  service.requests.splice(0);
});

async function failure(validator: FlexTokenValidator, token: string): Promise<FlexTokenFailure> {
  try {
    await validator.validate(token);
  } catch (error) {
    if (isFlexTokenError(error)) return error.reason;
    throw error;
  }
  throw new Error('expected the validator to reject');
}

const byToken = () =>
  createHttpFlexTokenValidator(
    { accountSid: ACCOUNT, authToken: 'auth-token' },
    { baseUrl: service.url },
  );

describe('createHttpFlexTokenValidator against a local validation service', () => {
  it('sends POST /v1/Accounts/{AccountSid}/Tokens/validate with Basic auth and {"token"}', async () => {
    const identity = await byToken().validate('good');
    expect(identity).toEqual({
      identity: 'agent_40example_2Dcom',
      workerSid: WORKER,
      roles: ['agent', 'supervisor'],
      expiration: Date.parse('2026-09-24T23:22:44.240Z'),
      realmUserId: 'agent@example.com',
    });
    expect(service.requests).toHaveLength(1);
    expect(JSON.parse(service.requests[0]?.body ?? '')).toEqual({ token: 'good' });
  });

  it('authenticates with an API key too', async () => {
    const validator = createHttpFlexTokenValidator(
      { accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: 'key-secret' },
      { baseUrl: `${service.url}/` },
    );
    await expect(validator.validate('good')).resolves.toMatchObject({ workerSid: WORKER });
  });

  it('maps valid:false to expired (20104) or invalid, at any status; other 4xx to invalid', async () => {
    const validator = byToken();
    expect(await failure(validator, 'old')).toBe('expired');
    expect(await failure(validator, 'forged')).toBe('invalid');
    expect(await failure(validator, 'forged-403')).toBe('invalid');
    expect(await failure(validator, 'bad-request')).toBe('invalid');
    expect(await failure(validator, '')).toBe('invalid');
    // The empty token never reaches the service.
    expect(service.requests).toHaveLength(4);
  });

  it('maps 429, 5xx, non-JSON and shapeless answers to unavailable', async () => {
    const validator = byToken();
    for (const token of ['overload', 'crash', 'html', 'shapeless']) {
      expect(await failure(validator, token)).toBe('unavailable');
    }
  });

  it('maps our own credentials being refused (401) to unavailable, saying what to check', async () => {
    const validator = createHttpFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 'wrong' },
      { baseUrl: service.url },
    );
    const error = await validator.validate('good').catch((e: unknown) => e);
    expect(isFlexTokenError(error, 'unavailable')).toBe(true);
    expect((error as Error).message).toContain('refused our credentials');
  });

  it('maps no answer (timeout) and a refused connection to unavailable', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const hung = createHttpFlexTokenValidator(
        { accountSid: ACCOUNT, authToken: 'auth-token' },
        { baseUrl: silent.url, timeoutMs: 200 },
      );
      expect(await failure(hung, 'good')).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
    const port = await closedPort();
    const nobody = createHttpFlexTokenValidator(
      { accountSid: ACCOUNT, authToken: 'auth-token' },
      { baseUrl: `http://127.0.0.1:${port}` },
    );
    expect(await failure(nobody, 'good')).toBe('unavailable');
  });

  it('refuses a bad base URL at construction', () => {
    expect(() =>
      createHttpFlexTokenValidator(
        { accountSid: ACCOUNT, authToken: 'auth-token' },
        { baseUrl: 'not a url' },
      ),
    ).toThrow(expect.objectContaining({ code: 'FS_TW_INVALID_OPTIONS' }) as Error);
  });
});
