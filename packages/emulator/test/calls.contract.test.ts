import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/index.js';
import { contractViolations, recordingClient, waitFor, type Exchange } from './helpers/contract.js';
import { startWebhookServer } from './helpers/webhook-server.js';

let emu: Emulator;
let app: Awaited<ReturnType<typeof startWebhookServer>>;
let client: twilio.Twilio;
let exchanges: Exchange[];

beforeAll(async () => {
  emu = await startEmulator();
  app = await startWebhookServer();
  ({ client, exchanges } = recordingClient(emu));
});
afterAll(async () => {
  await emu.close();
  await app.close();
});
afterEach(() => {
  // splice: each test answers for its own exchanges.
  expect(contractViolations(exchanges.splice(0))).toEqual([]);
});

const statusOf = (sid: string): string | undefined =>
  emu.state().calls.find((c) => c.sid === sid)?.status;

async function restError(promise: Promise<unknown>): Promise<{ status: number; code: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status: number; code: number };
    return { status: e.status, code: e.code };
  }
  throw new Error('expected the SDK to throw');
}

describe('Calls through the official SDK', () => {
  it('creates a call with inline TwiML that is answered, runs and ends when its TwiML runs out', async () => {
    const call = await client.calls.create({
      to: '+15550001',
      from: '+15550002',
      twiml: '<Response><Pause length="1"/></Response>',
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(call.direction).toBe('outbound-api');
    await waitFor(
      () => statusOf(call.sid),
      (s) => s === 'in-progress',
      'answer',
    );
    const ended = await waitFor(
      () => client.calls(call.sid).fetch(),
      (c) => c.status === 'completed',
      'end',
    );
    expect(ended.endTime).toBeInstanceOf(Date);
    // A 1 s <Pause>: whole seconds, one more if the machine is slow.
    expect(['1', '2']).toContain(ended.duration);
    const verbs = emu.events().filter((e) => e.type === 'twiml.verb' && e.callSid === call.sid);
    expect(verbs.map((e) => e.verb)).toEqual(['Pause']);
  });

  it('fetches TwiML from Url with a valid X-Twilio-Signature and the standard parameters', async () => {
    app.route('/voice', '<Response><Say>hello</Say><Hangup/></Response>');
    const call = await client.calls.create({
      to: '+15550003',
      from: '+15550004',
      url: `${app.url}/voice?x=1`,
    });
    const hit = await waitFor(
      () => app.received.find((r) => r.params.CallSid === call.sid),
      Boolean,
      'TwiML fetch',
    );
    expect(hit?.method).toBe('POST');
    expect(hit?.params).toMatchObject({
      AccountSid: emu.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: 'in-progress',
      Direction: 'outbound-api',
      From: '+15550004',
      To: '+15550003',
      Caller: '+15550004',
      Called: '+15550003',
    });
    expect(
      twilio.validateRequest(
        emu.authToken,
        hit?.signature ?? '',
        hit?.url ?? '',
        hit?.params ?? {},
      ),
    ).toBe(true);
    await waitFor(
      () => statusOf(call.sid),
      (s) => s === 'completed',
      'hangup',
    );
  });

  it('lists calls newest first with v2010 paging and filters', async () => {
    const sids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const call = await client.calls.create({
        to: '+15559999',
        from: '+1555000',
        twiml: '<Response><Pause length="5"/></Response>',
      });
      sids.push(call.sid);
    }
    const page = await client.calls.page({ to: '+15559999', pageSize: 2 });
    expect(page.instances.map((c) => c.sid)).toEqual([sids[2], sids[1]]);
    const next = await page.nextPage();
    expect(next?.instances.map((c) => c.sid)).toEqual([sids[0]]);
    const all = await client.calls.list({ to: '+15559999', pageSize: 1 });
    expect(all.map((c) => c.sid)).toEqual([...sids].reverse());
    for (const sid of sids) await client.calls(sid).update({ status: 'completed' });
    const completed = await client.calls.list({ to: '+15559999', status: 'completed' });
    expect(completed).toHaveLength(3);
  });

  it('redirects an in-progress call with new TwiML or a Url, and hangs it up with Status=completed', async () => {
    const call = await client.calls.create({
      to: '+15550005',
      from: '+15550006',
      twiml: '<Response><Pause length="30"/></Response>',
    });
    await waitFor(
      () => statusOf(call.sid),
      (s) => s === 'in-progress',
      'answer',
    );
    await client
      .calls(call.sid)
      .update({ twiml: '<Response><Say>changed</Say><Pause length="30"/></Response>' });
    await waitFor(
      () =>
        emu
          .events()
          .filter((e) => e.type === 'twiml.verb' && e.callSid === call.sid)
          .map((e) => e.verb),
      (v) => v.includes('Say'),
      'the new TwiML',
    );
    app.route('/next', '<Response><Pause length="30"/></Response>');
    await client.calls(call.sid).update({ url: `${app.url}/next`, method: 'GET' });
    const fetched = await waitFor(
      () => app.received.find((r) => r.path === '/next'),
      Boolean,
      'GET TwiML',
    );
    expect(fetched?.method).toBe('GET');
    expect(
      twilio.validateRequest(emu.authToken, fetched?.signature ?? '', fetched?.url ?? '', {}),
    ).toBe(true);
    const hungUp = await client.calls(call.sid).update({ status: 'completed' });
    expect(hungUp.status).toBe('completed');
    expect(statusOf(call.sid)).toBe('completed');
  });

  it('answers Twilio errors for bad requests and leaves other calls untouched', async () => {
    const bystander = await client.calls.create({
      to: '+15550007',
      from: '+15550008',
      twiml: '<Response><Pause length="30"/></Response>',
    });
    await waitFor(
      () => statusOf(bystander.sid),
      (s) => s === 'in-progress',
      'answer',
    );

    expect(await restError(client.calls('CA00000000000000000000000000000000').fetch())).toEqual({
      status: 404,
      code: 20404,
    });
    expect(
      await restError(client.calls.create({ to: '', from: '+1', twiml: '<Response/>' })),
    ).toEqual({ status: 400, code: 21201 });
    expect(
      await restError(client.calls.create({ to: '+1', from: '', twiml: '<Response/>' })),
    ).toEqual({ status: 400, code: 21213 });
    expect(await restError(client.calls.create({ to: '+1', from: '+2' }))).toEqual({
      status: 400,
      code: 21205,
    });
    const long = `<Response><Say>${'a'.repeat(4000)}</Say></Response>`;
    expect(await restError(client.calls.create({ to: '+1', from: '+2', twiml: long }))).toEqual({
      status: 400,
      code: 32018,
    });

    const ended = await client.calls.create({ to: '+1', from: '+2', twiml: '<Response/>' });
    await waitFor(
      () => statusOf(ended.sid),
      (s) => s === 'completed',
      'empty TwiML ends the call',
    );
    expect(await restError(client.calls(ended.sid).update({ twiml: '<Response/>' }))).toEqual({
      status: 400,
      code: 21220,
    });

    const wrong = recordingClient(emu, { username: emu.accountSid, password: 'not-the-token' });
    expect(await restError(wrong.client.calls.list())).toEqual({ status: 401, code: 20003 });
    expect(contractViolations(wrong.exchanges)).toEqual([]);

    expect(statusOf(bystander.sid)).toBe('in-progress');
    await client.calls(bystander.sid).update({ status: 'completed' });
  });

  it('ends a call with malformed or unknown TwiML and logs 12100 / 12200, never affecting others', async () => {
    const bystander = await client.calls.create({
      to: '+15550009',
      from: '+1',
      twiml: '<Response><Pause length="30"/></Response>',
    });
    const broken = await client.calls.create({
      to: '+1',
      from: '+2',
      twiml: '<Response><Say>oops</Response>',
    });
    const unknown = await client.calls.create({
      to: '+1',
      from: '+2',
      twiml: '<Response><Dance/></Response>',
    });
    const badAttr = await client.calls.create({
      to: '+1',
      from: '+2',
      twiml: '<Response><Dial><Conference beep="loud">x</Conference></Dial></Response>',
    });
    for (const [sid, code] of [
      [broken.sid, 12100],
      [unknown.sid, 12200],
      [badAttr.sid, 12200],
    ] as const) {
      await waitFor(
        () => statusOf(sid),
        (s) => s === 'completed',
        'the broken call to end',
      );
      expect(emu.events().find((e) => e.type === 'twiml.error' && e.callSid === sid)?.code).toBe(
        code,
      );
    }
    expect(statusOf(bystander.sid)).toBe('in-progress');
    await client.calls(bystander.sid).update({ status: 'completed' });
  });

  it('accepts an API key created through the control API', async () => {
    const response = await fetch(`${emu.url}/_emulator/api-keys`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ friendlyName: 'tests' }),
    });
    const key = (await response.json()) as { sid: string; secret: string };
    expect(key.sid).toMatch(/^SK[0-9a-f]{32}$/);
    const viaKey = recordingClient(emu, { username: key.sid, password: key.secret });
    const page = await viaKey.client.calls.page({ pageSize: 1 });
    expect(page.instances).toHaveLength(1);
    const wrongSecret = recordingClient(emu, { username: key.sid, password: 'nope' });
    expect(await restError(wrongSecret.client.calls.list())).toEqual({ status: 401, code: 20003 });
    expect(contractViolations([...viaKey.exchanges, ...wrongSecret.exchanges])).toEqual([]);
  });

  it("answers 404 for another account's SID in the path", async () => {
    const other = twilio(emu.accountSid, emu.authToken, {
      httpClient: recordingClient(emu).client.httpClient,
      accountSid: emu.accountSid,
    });
    const error = await restError(
      other.api.v2010.accounts('AC00000000000000000000000000000000').calls.list(),
    );
    expect(error).toEqual({ status: 404, code: 20404 });
  });

  it('follows <Redirect> to a relative URL with a signed request, then plays <Play>', async () => {
    app.route('/first', '<Response><Redirect method="POST">second?step=2</Redirect></Response>');
    app.route(
      '/second',
      '<Response><Play loop="0">https://example.com/music.mp3</Play></Response>',
    );
    const call = await client.calls.create({
      to: '+15550011',
      from: '+15550012',
      url: `${app.url}/first`,
    });
    const second = await waitFor(
      () => app.received.find((r) => r.path === '/second' && r.params.CallSid === call.sid),
      Boolean,
      'the redirect',
    );
    expect(second?.url).toBe(`${app.url}/second?step=2`);
    expect(
      twilio.validateRequest(
        emu.authToken,
        second?.signature ?? '',
        second?.url ?? '',
        second?.params ?? {},
      ),
    ).toBe(true);
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === call.sid)?.activity,
      (a) => a === 'play',
      '<Play>',
    );
    await client.calls(call.sid).update({ status: 'completed' });
  });

  it('ends a call whose TwiML URL fails with 11200 and leaves the others alone', async () => {
    app.route('/broken', 'oops', 500);
    const call = await client.calls.create({
      to: '+15550013',
      from: '+15550014',
      url: `${app.url}/broken`,
    });
    await waitFor(
      () => statusOf(call.sid),
      (s) => s === 'completed',
      'the call to end',
    );
    expect(emu.events().find((e) => e.type === 'twiml.error' && e.callSid === call.sid)?.code).toBe(
      11200,
    );
  });
});
