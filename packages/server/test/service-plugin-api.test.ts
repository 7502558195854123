/**
 * The Flex plugin API of the controller service against the emulator, with agents' tokens checked
 * by the HTTP validator against a local server speaking Twilio's token validation protocol:
 * start / pause / resume / stop, another worker's reservation (403), missing, refused and expired
 * tokens (401), malformed bodies (400), CORS for the configured Flex origin only.
 */
import type { Segment } from '@flex-streams/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callInConference,
  sid,
  startWorld,
  waitFor,
  type ErrorAnswer,
  type World,
} from './service-harness.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

const FLEX = 'https://flex.twilio.com';

interface PluginAnswer {
  outcome: string;
  detail: string;
  segments: Segment[];
}

async function plugin(
  action: string,
  body: Record<string, string>,
  options: { token?: string; bearer?: string; form?: boolean; origin?: string } = {},
): Promise<Response> {
  const fields = options.token === undefined ? body : { ...body, Token: options.token };
  return fetch(`${world.service.url}/v1/plugin/segments/${action}`, {
    method: 'POST',
    headers: {
      'Content-Type':
        options.form === true ? 'application/x-www-form-urlencoded' : 'application/json',
      ...(options.bearer === undefined ? {} : { Authorization: `Bearer ${options.bearer}` }),
      ...(options.origin === undefined ? {} : { Origin: options.origin }),
    },
    body: options.form === true ? new URLSearchParams(fields).toString() : JSON.stringify(fields),
  });
}

function streamsOn(callSid: string) {
  return world.emu.state().streams.filter((s) => s.callSid === callSid);
}

async function segmentOf(callSid: string): Promise<Segment | undefined> {
  const response = await fetch(`${world.service.url}/v1/calls/${callSid}`);
  return ((await response.json()) as { segments?: Segment[] }).segments?.[0];
}

async function errorOf(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as ErrorAnswer).error.code];
}

describe('plugin API', () => {
  it('starts, pauses, resumes and stops the agent own segment; the stream follows', async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const reservationSid = sid('WR');
    const start = await plugin(
      'start',
      { reservationSid, taskSid, customerCallSid },
      { bearer: 'token-alice', origin: FLEX },
    );
    expect(start.status).toBe(200);
    expect(start.headers.get('access-control-allow-origin')).toBe(FLEX);
    const started = (await start.json()) as PluginAnswer;
    expect(started.outcome).toBe('applied');
    expect(started.segments[0]).toMatchObject({ workerSid: world.workers.alice, reservationSid });
    // The stream URL is the configured one, whatever the client might have wished.
    expect(streamsOn(customerCallSid)).toEqual([
      expect.objectContaining({ name: `fs-${reservationSid}-0`, url: world.receiver.url }),
    ]);

    // A second start (the TaskRouter driver or a retried click) is a duplicate.
    const again = await plugin(
      'start',
      { reservationSid, taskSid, customerCallSid },
      { token: 'token-alice', form: true },
    );
    expect(((await again.json()) as PluginAnswer).outcome).toBe('duplicate');

    const pause = await plugin(
      'pause',
      { reservationSid, reason: 'card number', idempotencyKey: 'p-1' },
      { token: 'token-alice' },
    );
    expect(pause.status).toBe(200);
    expect(((await pause.json()) as PluginAnswer).outcome).toBe('applied');
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams[0]?.status === 'stopped',
      'the paused stream to stop',
    );

    const resume = await plugin('resume', { reservationSid }, { token: 'token-alice' });
    expect(resume.status).toBe(200);
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.length === 2 && streams[1]?.status === 'in-progress',
      'the continuation stream',
    );
    expect(streamsOn(customerCallSid)[1]?.name).toBe(`fs-${reservationSid}-1`);
    const resumed = await segmentOf(customerCallSid);
    expect(resumed?.pauses).toEqual([
      expect.objectContaining({ by: world.workers.alice, reason: 'card number', state: 'closed' }),
    ]);

    const prepare = await plugin('prepare-transfer', { reservationSid }, { token: 'token-alice' });
    expect(prepare.status).toBe(200);

    const stop = await plugin('stop', { reservationSid }, { token: 'token-alice' });
    expect(stop.status).toBe(200);
    await waitFor(
      () => streamsOn(customerCallSid),
      (streams) => streams.every((s) => s.status === 'stopped'),
      'every stream to stop',
    );
    expect(await segmentOf(customerCallSid)).toMatchObject({ state: 'ended', endReason: 'wrapup' });
  });

  it("refuses another worker's reservation with 403 and changes nothing", async () => {
    const { customerCallSid, taskSid } = await callInConference(world.emu);
    const reservationSid = sid('WR');
    await plugin('start', { reservationSid, taskSid, customerCallSid }, { token: 'token-alice' });
    // Settle first: the emulator's stream-started callback changes the segment on its own.
    const before = await waitFor(
      () => segmentOf(customerCallSid),
      (segment) => segment?.streams[0]?.state === 'streaming',
      'the segment to be streaming',
    );

    for (const action of ['pause', 'stop', 'prepare-transfer', 'resume']) {
      expect(
        await errorOf(await plugin(action, { reservationSid }, { token: 'token-bob' })),
      ).toEqual([403, 'FS_ERR_NOT_SEGMENT_OWNER']);
    }
    expect(
      await errorOf(
        await plugin('start', { reservationSid, taskSid, customerCallSid }, { token: 'token-bob' }),
      ),
    ).toEqual([403, 'FS_ERR_NOT_SEGMENT_OWNER']);
    expect(
      await errorOf(await plugin('pause', { reservationSid }, { token: 'token-supervisor' })),
    ).toEqual([403, 'FS_ERR_NOT_A_WORKER']);

    expect(await segmentOf(customerCallSid)).toEqual(before);
    expect(streamsOn(customerCallSid)).toEqual([
      expect.objectContaining({ status: 'in-progress' }),
    ]);
  });

  it('answers 401 without a token, with a refused one and with an expired one', async () => {
    const body = { reservationSid: sid('WR') };
    expect(await errorOf(await plugin('pause', body))).toEqual([401, 'FS_ERR_BAD_TOKEN']);
    expect(await errorOf(await plugin('pause', body, { token: 'forged' }))).toEqual([
      401,
      'FS_ERR_BAD_TOKEN',
    ]);
    expect(await errorOf(await plugin('pause', body, { bearer: 'expired' }))).toEqual([
      401,
      'FS_ERR_TOKEN_EXPIRED',
    ]);
    // From the Flex origin the refusal carries the CORS header, so the plugin can read why.
    const fromFlex = await plugin('pause', body, { token: 'forged', origin: FLEX });
    expect(fromFlex.headers.get('access-control-allow-origin')).toBe(FLEX);
    expect(await errorOf(fromFlex)).toEqual([401, 'FS_ERR_BAD_TOKEN']);
  });

  it('answers 400 for malformed bodies, 404 for an unknown reservation', async () => {
    const invalidJson = await fetch(`${world.service.url}/v1/plugin/segments/pause`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer token-alice' },
      body: '{"reservationSid":',
    });
    expect(await errorOf(invalidJson)).toEqual([400, 'FS_ERR_MALFORMED_BODY']);

    const response = await plugin(
      'start',
      { reservationSid: 'WR1', taskSid: sid('WT'), customerCallSid: 'nope' },
      { token: 'token-alice' },
    );
    expect(response.status).toBe(400);
    const answer = (await response.json()) as ErrorAnswer;
    expect(answer.error.code).toBe('FS_ERR_MALFORMED_BODY');
    expect(answer.error.message).toMatch(/reservationSid[\s\S]*customerCallSid/);

    expect(
      await errorOf(await plugin('stop', { reservationSid: sid('WR') }, { token: 'token-alice' })),
    ).toEqual([404, 'FS_ERR_SEGMENT_NOT_FOUND']);
    expect(
      await errorOf(await plugin('pause', { reservationSid: sid('WR') }, { token: 'token-alice' })),
    ).toEqual([404, 'FS_ERR_SEGMENT_NOT_FOUND']);
  });

  it('answers the CORS preflight of the Flex origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${world.service.url}/v1/plugin/segments/start`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,authorization',
        },
      });
    const allowed = await preflight(FLEX);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(FLEX);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);

    const refused = await preflight('https://evil.example.com');
    expect(await errorOf(refused)).toEqual([403, 'FS_ERR_ORIGIN_NOT_ALLOWED']);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const requestsBefore = world.tokens.requests;
    expect(
      await errorOf(
        await plugin(
          'pause',
          { reservationSid: sid('WR') },
          { token: 'token-alice', origin: 'https://evil.example.com' },
        ),
      ),
    ).toEqual([403, 'FS_ERR_ORIGIN_NOT_ALLOWED']);
    // Refused before the token was even sent for validation.
    expect(world.tokens.requests).toBe(requestsBefore);
  });
});
