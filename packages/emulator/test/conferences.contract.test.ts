import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/index.js';
import { contractViolations, recordingClient, waitFor, type Exchange } from './helpers/contract.js';
import { startWebhookServer } from './helpers/webhook-server.js';

let emu: Emulator;
let app: Awaited<ReturnType<typeof startWebhookServer>>;
let client: twilio.Twilio;
let exchanges: Exchange[];
let room = 0;

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

const newRoom = (): string => `WT${String(++room).padStart(32, '0')}`;
const call = (sid: string) => emu.state().calls.find((c) => c.sid === sid);
const conferenceNamed = (name: string) =>
  emu.state().conferences.find((c) => c.friendlyName === name && c.status !== 'completed');

/** An inbound call that dials into `name` with `attrs`, then runs `after`. */
async function dialIn(name: string, attrs = '', after = ''): Promise<string> {
  const { callSid } = await emu.placeInboundCall({
    from: '+15551230000',
    to: '+15559870000',
    twiml: `<Response><Dial><Conference ${attrs}>${name}</Conference></Dial>${after}</Response>`,
  });
  await waitFor(
    () => call(callSid)?.conferenceSid,
    (s) => typeof s === 'string',
    `${callSid} to join`,
  );
  return callSid;
}

function verbsRun(callSid: string): unknown[] {
  return emu
    .events()
    .filter((e) => e.type === 'twiml.verb' && e.callSid === callSid)
    .map((e) => e.verb);
}

async function restError(promise: Promise<unknown>): Promise<{ status: number; code: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status: number; code: number };
    return { status: e.status, code: e.code };
  }
  throw new Error('expected the SDK to throw');
}

describe('Conferences and participants through the official SDK', () => {
  it('lists by FriendlyName and Status, fetches, and addresses participants by CallSid or label', async () => {
    const name = newRoom();
    const customer = await dialIn(name, 'participantLabel="customer"');
    const agent = await dialIn(name, 'participantLabel="agent"');
    const [conference] = await client.conferences.list({
      friendlyName: name,
      status: 'in-progress',
    });
    expect(conference?.friendlyName).toBe(name);
    expect(conference?.status).toBe('in-progress');
    const sid = conference?.sid ?? '';
    expect((await client.conferences(sid).fetch()).sid).toBe(sid);
    const participants = await client.conferences(sid).participants.list();
    expect(participants.map((p) => p.callSid)).toEqual([customer, agent]);
    const byLabel = await client.conferences(sid).participants('customer').fetch();
    expect(byLabel.callSid).toBe(customer);
    expect(byLabel.label).toBe('customer');
    expect((await client.conferences(sid).participants(agent).fetch()).label).toBe('agent');
    expect(await client.conferences.list({ friendlyName: name, status: 'completed' })).toEqual([]);
    await emu.hangup(customer);
    await emu.hangup(agent);
  });

  it('updates Hold, Muted, EndConferenceOnExit and Coaching, and filters the participant list', async () => {
    const name = newRoom();
    const customer = await dialIn(name);
    const agent = await dialIn(name);
    const sid = conferenceNamed(name)?.sid ?? '';
    const held = await client
      .conferences(sid)
      .participants(customer)
      .update({ hold: true, holdUrl: 'https://example.com/hold' });
    expect(held.hold).toBe(true);
    const muted = await client
      .conferences(sid)
      .participants(agent)
      .update({ muted: true, endConferenceOnExit: true });
    expect(muted.muted).toBe(true);
    expect(muted.endConferenceOnExit).toBe(true);
    expect(
      (await client.conferences(sid).participants.list({ hold: true })).map((p) => p.callSid),
    ).toEqual([customer]);
    expect(
      (await client.conferences(sid).participants.list({ muted: true })).map((p) => p.callSid),
    ).toEqual([agent]);
    const coach = await client
      .conferences(sid)
      .participants(agent)
      .update({ coaching: true, callSidToCoach: customer });
    expect(coach.coaching).toBe(true);
    expect(coach.callSidToCoach).toBe(customer);
    const types = emu
      .events()
      .filter((e) => e.conferenceSid === sid)
      .map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['conference.hold', 'conference.mute', 'conference.modify']),
    );
    await emu.hangup(customer);
    await emu.hangup(agent);
  });

  it('ends the conference when a participant with endConferenceOnExit leaves; the others go on to their next verb', async () => {
    const name = newRoom();
    const customer = await dialIn(
      name,
      'endConferenceOnExit="false"',
      '<Say>after</Say><Pause length="10"/>',
    );
    const agent = await dialIn(name, 'endConferenceOnExit="true"');
    await emu.hangup(agent);
    const ended = await waitFor(
      () => emu.state().conferences.find((c) => c.friendlyName === name),
      (c) => c?.status === 'completed',
      'the conference to end',
    );
    expect(ended?.reasonConferenceEnded).toBe('participant-with-end-conference-on-exit-left');
    expect(ended?.callSidEndingConference).toBe(agent);
    await waitFor(
      () => verbsRun(customer),
      (v) => v.includes('Say'),
      'the customer to run <Say>',
    );
    expect(call(customer)?.status).toBe('in-progress');
    const fetched = await client.conferences(ended?.sid ?? '').fetch();
    expect(fetched.reasonConferenceEnded).toBe('participant-with-end-conference-on-exit-left');
    expect(await client.conferences(fetched.sid).participants.list()).toEqual([]);
    await emu.hangup(customer);
  });

  it('takes a redirected call out of its conference, ending it when its endConferenceOnExit was true', async () => {
    const name = newRoom();
    const customer = await dialIn(name, 'endConferenceOnExit="true"');
    const agent = await dialIn(name, '', '<Say>agent goes on</Say><Pause length="10"/>');
    const sid = conferenceNamed(name)?.sid ?? '';
    await client.calls(customer).update({ twiml: '<Response><Pause length="10"/></Response>' });
    const conference = await waitFor(
      () => client.conferences(sid).fetch(),
      (c) => c.status === 'completed',
      'end',
    );
    expect(conference.reasonConferenceEnded).toBe('participant-with-end-conference-on-exit-left');
    await waitFor(
      () => verbsRun(agent),
      (v) => v.includes('Say'),
      'the agent to go on',
    );
    const leave = emu.events().find((e) => e.type === 'conference.leave' && e.callSid === customer);
    expect(leave?.reason).toBe('participant_updated_via_api');
    await emu.hangup(customer);
    await emu.hangup(agent);
  });

  it('keeps the conference when a redirected participant had endConferenceOnExit=false; a held participant rejoins unheld', async () => {
    const name = newRoom();
    const customer = await dialIn(name, 'endConferenceOnExit="true"');
    const agent = await dialIn(name);
    const sid = conferenceNamed(name)?.sid ?? '';
    await client
      .conferences(sid)
      .participants(customer)
      .update({ endConferenceOnExit: false, hold: true });
    await client.calls(customer).update({
      twiml: `<Response><Dial><Conference endConferenceOnExit="true">${name}</Conference></Dial></Response>`,
    });
    await waitFor(
      () =>
        emu.events().filter((e) => e.type === 'conference.join' && e.callSid === customer).length,
      (n) => n === 2,
      'the customer to rejoin',
    );
    const conference = await client.conferences(sid).fetch();
    expect(conference.status).toBe('in-progress');
    const rejoined = await client.conferences(sid).participants(customer).fetch();
    expect(rejoined.hold).toBe(false);
    expect(rejoined.endConferenceOnExit).toBe(true);
    const disruptions = emu
      .events()
      .filter((e) => e.type === 'conference.leave' && e.callSid === customer);
    expect(disruptions).toHaveLength(1);
    await emu.hangup(agent);
    await emu.hangup(customer);
  });

  it('ends the conference when the last participant leaves', async () => {
    const name = newRoom();
    const only = await dialIn(name);
    const sid = conferenceNamed(name)?.sid ?? '';
    await emu.hangup(only);
    const conference = await client.conferences(sid).fetch();
    expect(conference.status).toBe('completed');
    expect(conference.reasonConferenceEnded).toBe('last-participant-left');
  });

  it('keeps startConferenceOnEnter=false participants waiting until someone with true joins', async () => {
    const name = newRoom();
    const waiting = await dialIn(name, 'startConferenceOnEnter="false"');
    const sid = conferenceNamed(name)?.sid ?? '';
    expect((await client.conferences(sid).fetch()).status).toBe('init');
    const starter = await dialIn(name);
    expect((await client.conferences(sid).fetch()).status).toBe('in-progress');
    await emu.hangup(waiting);
    await emu.hangup(starter);
  });

  it('ends a conference with Status=completed; every call goes on to its next verb', async () => {
    const name = newRoom();
    const a = await dialIn(name, '', '<Say>a</Say><Pause length="10"/>');
    const b = await dialIn(name, '', '<Say>b</Say><Pause length="10"/>');
    const sid = conferenceNamed(name)?.sid ?? '';
    const updated = await client.conferences(sid).update({ status: 'completed' });
    expect(updated.status).toBe('completed');
    expect(updated.reasonConferenceEnded).toBe('conference-ended-via-api');
    await waitFor(
      () => [verbsRun(a), verbsRun(b)],
      (v) => v.every((x) => x.includes('Say')),
      'both to go on',
    );
    await emu.hangup(a);
    await emu.hangup(b);
  });

  it('creates a participant by REST (201) and kicks it (204); a kicked TwiML participant goes on', async () => {
    const name = newRoom();
    const customer = await dialIn(name, '', '<Say>kicked</Say><Pause length="10"/>');
    const sid = conferenceNamed(name)?.sid ?? '';
    const created = await client.conferences(sid).participants.create({
      from: '+15550100',
      to: 'client:agent',
      label: 'agent',
      endConferenceOnExit: true,
      beep: 'false',
    });
    expect(created.callSid).toMatch(/^CA/);
    expect(created.endConferenceOnExit).toBe(true);
    expect(call(created.callSid)?.direction).toBe('outbound-api');
    const byName = await client
      .conferences(name)
      .participants.create({ from: '+1', to: '+2', label: 'byname' });
    expect(byName.conferenceSid).toBe(sid);
    expect(await client.conferences(sid).participants(customer).remove()).toBe(true);
    await waitFor(
      () => verbsRun(customer),
      (v) => v.includes('Say'),
      'the kicked customer to go on',
    );
    expect((await client.conferences(sid).fetch()).status).toBe('in-progress');
    await client.conferences(sid).participants('agent').remove();
    const ended = await client.conferences(sid).fetch();
    expect(ended.reasonConferenceEnded).toBe('participant-with-end-conference-on-exit-kicked');
    await waitFor(
      () => call(created.callSid)?.status,
      (s) => s === 'completed',
      'the REST participant call to end',
    );
    await emu.hangup(customer);
  });

  it('answers Twilio errors for unknown conferences and participants and missing parameters', async () => {
    const name = newRoom();
    const customer = await dialIn(name);
    const sid = conferenceNamed(name)?.sid ?? '';
    expect(
      await restError(client.conferences('CF00000000000000000000000000000000').fetch()),
    ).toEqual({ status: 404, code: 20404 });
    expect(
      await restError(
        client.conferences(sid).participants('CA00000000000000000000000000000000').fetch(),
      ),
    ).toEqual({ status: 404, code: 20404 });
    expect(
      await restError(client.conferences(sid).participants('nobody').update({ hold: true })),
    ).toEqual({ status: 404, code: 20404 });
    expect(
      await restError(client.conferences(sid).participants.create({ from: '', to: '+1' })),
    ).toEqual({ status: 400, code: 21213 });
    expect(
      await restError(client.conferences(sid).participants.create({ from: '+1', to: '' })),
    ).toEqual({ status: 400, code: 21201 });
    expect(await restError(client.conferences(sid).update({ status: 'paused' as never }))).toEqual({
      status: 400,
      code: 20001,
    });
    expect(
      await restError(
        client
          .conferences(sid)
          .participants(customer)
          .update({ hold: 'perhaps' as never }),
      ),
    ).toEqual({ status: 400, code: 20001 });
    expect(await restError(client.calls(customer).update({ status: 'ringing' as never }))).toEqual({
      status: 400,
      code: 20001,
    });
    expect(conferenceNamed(name)?.participants.map((p) => p.callSid)).toEqual([customer]);
    await emu.hangup(customer);
  });

  it('sends signed conference status callbacks with Twilio fields', async () => {
    const name = newRoom();
    const callback = `${app.url}/conference-events`;
    const customer = await dialIn(
      name,
      `statusCallback="${callback}" statusCallbackEvent="start end join leave hold"`,
    );
    const agent = await dialIn(name, 'endConferenceOnExit="true"');
    const sid = conferenceNamed(name)?.sid ?? '';
    await client.conferences(sid).participants(customer).update({ hold: true });
    await emu.hangup(agent);
    const received = await waitFor(
      () =>
        app.received.filter(
          (r) => r.path === '/conference-events' && r.params.ConferenceSid === sid,
        ),
      (list) => list.some((r) => r.params.StatusCallbackEvent === 'conference-end'),
      'conference-end',
    );
    const byEvent = new Map(received.map((r) => [r.params.StatusCallbackEvent, r]));
    expect([...byEvent.keys()].sort()).toEqual(
      [
        'conference-end',
        'conference-start',
        'participant-hold',
        'participant-join',
        'participant-leave',
      ].sort(),
    );
    for (const r of received) {
      expect(twilio.validateRequest(emu.authToken, r.signature ?? '', r.url, r.params)).toBe(true);
      expect(r.params).toMatchObject({ AccountSid: emu.accountSid, FriendlyName: name });
    }
    expect(byEvent.get('participant-hold')?.params).toMatchObject({
      CallSid: customer,
      Hold: 'true',
      Muted: 'false',
    });
    expect(byEvent.get('conference-end')?.params).toMatchObject({
      ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
      CallSidEndingConference: agent,
    });
    const sequence = received.map((r) => Number(r.params.SequenceNumber)).sort((x, y) => x - y);
    expect(sequence).toEqual(sequence.map((_, i) => i + 1));
    await emu.hangup(customer);
  });

  it('takes repeated ConferenceStatusCallbackEvent keys from a REST participant create (qs arrays)', async () => {
    const name = newRoom();
    const callback = `${app.url}/rest-conference-events`;
    const created = await client.conferences(name).participants.create({
      from: '+15550100',
      to: '+15550200',
      conferenceStatusCallback: callback,
      conferenceStatusCallbackEvent: ['start', 'join', 'mute'],
    });
    const sid = created.conferenceSid;
    await client.conferences(sid).participants(created.callSid).update({ muted: true });
    const events = await waitFor(
      () =>
        app.received
          .filter((r) => r.path === '/rest-conference-events' && r.params.ConferenceSid === sid)
          .map((r) => r.params.StatusCallbackEvent),
      (list) => list.length === 3,
      'three callbacks',
    );
    expect(events).toEqual(['conference-start', 'participant-join', 'participant-mute']);
    await emu.hangup(created.callSid);
  });

  it('joins a <Conference coach="CA…"> participant as the coach of that call', async () => {
    const name = newRoom();
    const agent = await dialIn(name);
    const supervisor = await dialIn(name, `coach="${agent}"`);
    const sid = conferenceNamed(name)?.sid ?? '';
    const fetched = await client.conferences(sid).participants(supervisor).fetch();
    expect(fetched.coaching).toBe(true);
    expect(fetched.callSidToCoach).toBe(agent);
    await emu.hangup(supervisor);
    await emu.hangup(agent);
  });
});
