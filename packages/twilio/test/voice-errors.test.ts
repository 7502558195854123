import { classifyVoiceError, isVoiceApiError, type VoiceApiError } from '@flex-streams/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTwilioClient,
  createTwilioVoicePort,
  isFsTwilioError,
  type TwilioClientOptions,
} from '../src/index.js';
import {
  closedPort,
  startScriptedServer,
  startSilentServer,
  twilioErrorBody,
  type ScriptedServer,
} from './helpers.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const CALL = `CA${'b'.repeat(32)}`;
const STREAM = `MZ${'c'.repeat(32)}`;

let fake: ScriptedServer;

beforeAll(async () => {
  fake = await startScriptedServer({ status: 200, body: '{}' });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.requests.splice(0);
});

function portAt(apiBaseUrl: string, options: TwilioClientOptions & { now?: () => number } = {}) {
  const { now, ...clientOptions } = options;
  const client = createTwilioClient(
    { accountSid: ACCOUNT, authToken: 'token' },
    { apiBaseUrl, ...clientOptions },
  );
  return createTwilioVoicePort(client, now === undefined ? {} : { now });
}

async function rejection(promise: Promise<unknown>): Promise<VoiceApiError> {
  try {
    await promise;
  } catch (error) {
    if (isVoiceApiError(error)) return error;
    throw new Error(`expected a VoiceApiError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the port to reject');
}

const streamAnswer = (status: string) =>
  JSON.stringify({
    sid: STREAM,
    account_sid: ACCOUNT,
    call_sid: CALL,
    name: 'fs-x-0',
    status,
    date_updated: 'Thu, 30 Jul 2015 20:00:00 +0000',
    uri: `/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}/Streams/${STREAM}.json`,
  });

describe('the request that reaches a Twilio-compatible apiBaseUrl', () => {
  it('is the v2010 CreateStream form with ParameterN pairs, Basic auth, on the given origin', async () => {
    fake.answer = { status: 200, body: streamAnswer('in-progress') };
    const voice = portAt(fake.url);
    await expect(
      voice.createStream(CALL, {
        url: 'wss://receiver.example.com/streams',
        name: 'fs-x-0',
        track: 'both_tracks',
        statusCallback: 'https://service.example.com/v1/webhooks/streams',
        parameters: { taskSid: 'WT1', leg: 'customer' },
      }),
    ).resolves.toEqual({ sid: STREAM, name: 'fs-x-0', status: 'in-progress' });
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}/Streams.json`);
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT}:token`).toString('base64')}`,
    );
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      Url: 'wss://receiver.example.com/streams',
      Name: 'fs-x-0',
      Track: 'both_tracks',
      StatusCallback: 'https://service.example.com/v1/webhooks/streams',
      StatusCallbackMethod: 'POST',
      'Parameter1.Name': 'taskSid',
      'Parameter1.Value': 'WT1',
      'Parameter2.Name': 'leg',
      'Parameter2.Value': 'customer',
    });
  });

  it('stops by name with Status=stopped on the URL-encoded name', async () => {
    fake.answer = { status: 200, body: streamAnswer('stopped') };
    const voice = portAt(fake.url);
    await voice.stopStream(CALL, 'fs x 0');
    expect(fake.requests[0]?.url).toBe(
      `/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}/Streams/fs%20x%200.json`,
    );
    expect(fake.requests[0]?.body).toBe('Status=stopped');
  });
});

describe('VoiceApiError mapping of answers that are not 2xx', () => {
  it('maps 429 / 20429 with Retry-After seconds to retryable with retryAfterMs', async () => {
    fake.answer = {
      status: 429,
      headers: { 'Retry-After': '3' },
      body: twilioErrorBody(429, 20429, 'Too Many Requests'),
    };
    const error = await rejection(portAt(fake.url).updateCallTwiml(CALL, '<Response/>'));
    expect(error).toMatchObject({ status: 429, code: 20429, retryAfterMs: 3000 });
    expect(error.message).toContain('UpdateCall');
    expect(classifyVoiceError(error)).toBe('retryable');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('reads an HTTP-date Retry-After against the injected clock', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    fake.answer = {
      status: 429,
      headers: { 'Retry-After': 'Thu, 01 Jan 2026 00:00:05 GMT' },
      body: twilioErrorBody(429, 20429, 'Too Many Requests'),
    };
    const error = await rejection(portAt(fake.url, { now: () => now }).stopStream(CALL, 'fs-x-0'));
    expect(error.retryAfterMs).toBe(5000);
  });

  it('maps 503 (even with a non-JSON body) to retryable, code null', async () => {
    fake.answer = {
      status: 503,
      headers: { 'Content-Type': 'text/html' },
      body: '<html>Service Unavailable</html>',
    };
    const error = await rejection(portAt(fake.url).findInProgressConference('WT1'));
    expect(error).toMatchObject({ status: 503, code: null, retryAfterMs: null });
    expect(classifyVoiceError(error)).toBe('retryable');
  });

  it('maps 503 with Twilio error JSON, keeping its code', async () => {
    fake.answer = { status: 503, body: twilioErrorBody(503, 20503, 'Service unavailable') };
    const error = await rejection(portAt(fake.url).fetchParticipant(`CF${'d'.repeat(32)}`, CALL));
    expect(error).toMatchObject({ status: 503, code: 20503 });
    expect(classifyVoiceError(error)).toBe('retryable');
  });

  it('maps an RFC 9457 answer (TwilioServiceException) by its status and code', async () => {
    fake.answer = {
      status: 400,
      body: JSON.stringify({
        type: 'https://www.twilio.com/docs/errors/21220',
        title: 'Invalid call state',
        status: 400,
        code: 21220,
      }),
    };
    const error = await rejection(portAt(fake.url).updateCallTwiml(CALL, '<Response/>'));
    expect(error).toMatchObject({ status: 400, code: 21220 });
    expect(classifyVoiceError(error)).toBe('call-gone');
  });

  it('maps a 2xx answer it cannot read to that status, code null: other', async () => {
    fake.answer = { status: 200, body: streamAnswer('paused') };
    const error = await rejection(portAt(fake.url).stopStream(CALL, 'fs-x-0'));
    expect(error).toMatchObject({ status: 200, code: null });
    expect(isFsTwilioError(error.cause, 'FS_TW_UNEXPECTED_ANSWER')).toBe(true);
    expect(classifyVoiceError(error)).toBe('other');
  });
});

describe('VoiceApiError mapping when Twilio does not answer', () => {
  it('maps a server that never answers to status 0 (retryable) within the timeout', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const error = await rejection(
        portAt(silent.url, { timeoutMs: 300 }).updateCallTwiml(CALL, '<Response/>'),
      );
      expect(error).toMatchObject({ status: 0, code: null, retryAfterMs: null });
      expect(classifyVoiceError(error)).toBe('retryable');
      expect(silent.connections()).toBe(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  });

  it('maps a refused connection to status 0 (retryable)', async () => {
    const port = await closedPort();
    const error = await rejection(
      portAt(`http://127.0.0.1:${port}`).findInProgressConference('WT1'),
    );
    expect(error).toMatchObject({ status: 0, code: null });
    expect(error.message).toContain('ECONNREFUSED');
    expect(classifyVoiceError(error)).toBe('retryable');
  });
});

describe('concurrent requests', () => {
  it('keep their own Retry-After (each failure reads its own answer)', async () => {
    fake.answer = (request) => {
      const seconds = request.body.includes('first') ? '1' : '7';
      return {
        status: 429,
        headers: { 'Retry-After': seconds },
        body: twilioErrorBody(429, 20429, 'Too Many Requests'),
      };
    };
    const voice = portAt(fake.url);
    const [first, second] = await Promise.all([
      rejection(voice.updateCallTwiml(CALL, '<Response><Say>first</Say></Response>')),
      rejection(voice.updateCallTwiml(CALL, '<Response><Say>second</Say></Response>')),
    ]);
    expect(first.retryAfterMs).toBe(1000);
    expect(second.retryAfterMs).toBe(7000);
  });
});

describe('apiBaseUrl with TWILIO_REGION / TWILIO_EDGE in the environment', () => {
  it('still sends every request to the apiBaseUrl origin', async () => {
    const saved = { ...process.env };
    process.env.TWILIO_REGION = 'au1';
    process.env.TWILIO_EDGE = 'sydney';
    try {
      fake.answer = { status: 200, body: streamAnswer('stopped') };
      await portAt(fake.url).stopStream(CALL, 'fs-x-0');
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]?.headers.host).toBe(new URL(fake.url).host);
    } finally {
      process.env = saved;
    }
  });
});

describe('credentials never ride along in an error', () => {
  it('keeps no request config (Authorization) in the cause of a network failure', async () => {
    const port = await closedPort();
    const error = await rejection(
      portAt(`http://127.0.0.1:${port}`).updateCallTwiml(CALL, '<Response/>'),
    );
    const authorization = Buffer.from(`${ACCOUNT}:token`).toString('base64');
    expect(error.cause).toMatchObject({ name: 'AxiosError', code: 'ECONNREFUSED' });
    expect(JSON.stringify(error.cause, Object.getOwnPropertyNames(error.cause))).not.toContain(
      authorization,
    );
    expect(error.cause).not.toHaveProperty('config');
  });
});
