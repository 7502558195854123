/**
 * The service's wiring and error translation with the core's honest fake of Twilio Voice (so
 * Twilio failures can be scripted) and the in-memory store, over real HTTP: switched-off drivers,
 * a Twilio refusal answered with our code plus Twilio's, a signed stream-error callback restarting
 * the stream, the token service being down (503), a webhook body that is not a flat form.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemorySegmentStore, type Segment } from '@flex-streams/core';
import { createFakeVoice, type FakeVoice } from '@flex-streams/core/testing';
import { twilioSignature } from '@flex-streams/emulator';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig, startService, type RunningService } from '../src/index.js';
import { sid, startTokenService, waitFor, type ErrorAnswer } from './service-harness.js';

const ACCOUNT = sid('AC');
const AUTH_TOKEN = 'auth-token-of-the-account';
const PUBLIC_URL = 'https://controller.example.com';
const ALICE = sid('WK');

let dataDir: string;
let tokens: Awaited<ReturnType<typeof startTokenService>>;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fs-service-app-'));
  tokens = await startTokenService(ACCOUNT, AUTH_TOKEN, {
    'token-alice': { identity: 'alice', workerSid: ALICE },
  });
});
afterAll(async () => {
  await tokens.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function start(
  env: Record<string, string> = {},
): Promise<{ service: RunningService; voice: FakeVoice }> {
  const config = loadServiceConfig({
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    FLEX_STREAMS_STREAM_URL: 'wss://receiver.example.com/media',
    FLEX_STREAMS_PUBLIC_URL: PUBLIC_URL,
    FLEX_STREAMS_PORT: '0',
    FLEX_STREAMS_DATA_DIR: dataDir,
    FLEX_STREAMS_FLEX_TOKEN_VALIDATION: 'http',
    FLEX_STREAMS_FLEX_TOKEN_URL: tokens.url,
    ...env,
  });
  const voice = createFakeVoice();
  const service = await startService(config, {
    logger: pino({ level: 'silent' }),
    voice,
    store: createMemorySegmentStore(),
    // Fakes only: no TaskRouter to ask (the first plugin start binds a reservation).
    taskRouter: null,
  });
  return { service, voice };
}

function post(service: RunningService, path: string, body: unknown, token?: string) {
  return fetch(service.url + path, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
}

function postSignedForm(service: RunningService, path: string, form: Record<string, string>) {
  return fetch(service.url + path, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilioSignature(AUTH_TOKEN, PUBLIC_URL + path, form),
    },
    body: new URLSearchParams(form).toString(),
  });
}

describe('controller service wiring', () => {
  it('does not serve a switched-off driver', async () => {
    const { service } = await start({ FLEX_STREAMS_TASKROUTER_DRIVER: 'off' });
    try {
      const events = await postSignedForm(service, '/v1/taskrouter/events', {
        EventType: 'reservation.created',
      });
      expect(events.status).toBe(404);
      expect(((await events.json()) as ErrorAnswer).error.code).toBe('FS_ERR_ROUTE_NOT_FOUND');
    } finally {
      await service.close();
    }
    const pluginOff = await start({ FLEX_STREAMS_PLUGIN_API: 'off' });
    try {
      const response = await post(
        pluginOff.service,
        '/v1/plugin/segments/pause',
        { reservationSid: sid('WR') },
        'token-alice',
      );
      expect(response.status).toBe(404);
    } finally {
      await pluginOff.service.close();
    }
  });

  it("answers a Twilio refusal with our code and Twilio's, keeping the recorded segment", async () => {
    const { service, voice } = await start();
    try {
      const customerCallSid = sid('CA');
      voice.addCall(customerCallSid);
      voice.failNext(1, { status: 400, code: 31960 }, 'createStream');
      const reservationSid = sid('WR');
      const response = await post(
        service,
        '/v1/plugin/segments/start',
        { reservationSid, taskSid: sid('WT'), customerCallSid },
        'token-alice',
      );
      expect(response.status).toBe(502);
      const body = (await response.json()) as ErrorAnswer & {
        outcome: string;
        segments: Segment[];
      };
      expect(body.error).toMatchObject({ code: 'FS_ERR_TWILIO_REJECTED', twilioCode: 31960 });
      expect(body.outcome).toBe('failed');
      expect(body.segments[0]?.streams[0]).toMatchObject({
        state: 'failed',
        stopReason: 'start-failed',
      });
    } finally {
      await service.close();
    }
  });

  it('restarts a stream after a signed stream-error callback, and refuses an unsigned one', async () => {
    const { service, voice } = await start();
    try {
      const customerCallSid = sid('CA');
      voice.addCall(customerCallSid);
      const reservationSid = sid('WR');
      const started = await post(
        service,
        '/v1/plugin/segments/start',
        { reservationSid, taskSid: sid('WT'), customerCallSid },
        'token-alice',
      );
      const stream = ((await started.json()) as { segments: Segment[] }).segments[0]?.streams[0];
      expect(stream?.sid).toMatch(/^MZ/);
      const form = {
        AccountSid: ACCOUNT,
        CallSid: customerCallSid,
        StreamSid: stream?.sid ?? '',
        StreamName: stream?.name ?? '',
        StreamEvent: 'stream-error',
        StreamError: '31921: Stream - WebSocket - Close Error',
        Timestamp: new Date().toISOString(),
      };
      const unsigned = await fetch(`${service.url}/v1/streams/status`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      expect(unsigned.status).toBe(403);
      expect(voice.streams(customerCallSid)).toHaveLength(1);

      // The stream really breaks (the fake ends it as Twilio would), then Twilio reports it.
      voice.failStream(stream?.sid ?? '');

      expect((await postSignedForm(service, '/v1/streams/status', form)).status).toBe(204);
      const segments = await waitFor(
        () => service.controller.segmentsOfCall(customerCallSid),
        (list) => list[0]?.streams.length === 2,
        'the continuation stream',
      );
      expect(segments[0]?.streams.map((s) => [s.continuation, s.state])).toEqual([
        [0, 'failed'],
        [1, 'starting'],
      ]);
      expect(voice.streams(customerCallSid, 'in-progress').map((s) => s.name)).toEqual([
        `fs-${reservationSid}-1`,
      ]);
    } finally {
      await service.close();
    }
  });

  it('refuses a webhook body that is not a flat form, and answers 503 when tokens cannot be checked', async () => {
    const { service } = await start();
    try {
      const nested = await fetch(`${service.url}/v1/taskrouter/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Twilio-Signature': 'x' },
        body: JSON.stringify({ EventType: { nested: true } }),
      });
      expect(nested.status).toBe(400);
      expect(((await nested.json()) as ErrorAnswer).error.code).toBe('FS_ERR_MALFORMED_BODY');

      await tokens.close();
      const response = await post(
        service,
        '/v1/plugin/segments/pause',
        { reservationSid: sid('WR') },
        'token-alice',
      );
      expect(response.status).toBe(503);
      expect(((await response.json()) as ErrorAnswer).error.code).toBe('FS_ERR_TOKEN_UNAVAILABLE');
    } finally {
      await service.close();
    }
  });

  it('keeps the operator endpoints behind FLEX_STREAMS_ADMIN_TOKEN when it is set', async () => {
    const secret = 'operator-secret-0123456789';
    const { service } = await start({ FLEX_STREAMS_ADMIN_TOKEN: secret });
    try {
      const call = `${service.url}/v1/calls/${sid('CA')}`;
      for (const authorization of [undefined, 'Bearer wrong-secret-0123456789', secret]) {
        for (const url of [call, `${service.url}/metrics`]) {
          const answer = await fetch(url, {
            headers: authorization === undefined ? {} : { Authorization: authorization },
          });
          expect(answer.status, `${url} with ${authorization ?? 'nothing'}`).toBe(401);
          expect(((await answer.json()) as ErrorAnswer).error.code).toBe('FS_ERR_ADMIN_TOKEN');
        }
      }
      const bearer = { Authorization: `Bearer ${secret}` };
      // With the token: the call is simply unknown, and the metrics are served.
      expect((await fetch(call, { headers: bearer })).status).toBe(404);
      const metrics = await fetch(`${service.url}/metrics`, { headers: bearer });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('flex_streams_controller_rejections_total');
      // Health checks stay open for load balancers.
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    } finally {
      await service.close();
    }
  });
});
