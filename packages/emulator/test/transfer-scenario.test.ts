import type twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/index.js';
import { recordingClient, waitFor } from './helpers/contract.js';
import { startServer, type TestServer } from './media-harness.js';

/**
 * The warm-transfer recipe of facts' appendix, driven both ways, to show what the event log lets a
 * test measure: REST requests spent and disruptions of the customer's leg.
 */
let emu: Emulator;
let ws: TestServer;
let client: twilio.Twilio;

beforeAll(async () => {
  emu = await startEmulator();
  ws = await startServer();
  ({ client } = recordingClient(emu));
});
afterAll(async () => {
  await emu.close();
  await ws.close();
});

async function inConference(room: string, endConferenceOnExit: boolean): Promise<string> {
  const { callSid } = await emu.placeInboundCall({
    from: '+15550001',
    to: '+15550002',
    twiml: `<Response><Dial><Conference beep="false" endConferenceOnExit="${String(endConferenceOnExit)}">${room}</Conference></Dial></Response>`,
  });
  await waitFor(
    () => emu.state().calls.find((c) => c.sid === callSid)?.conferenceSid,
    Boolean,
    'join',
  );
  return callSid;
}

function costSince(seq: number, customer: string): { rest: number; leaves: number } {
  const events = emu.events(seq);
  return {
    rest: events.filter((e) => e.type === 'rest.request').length,
    leaves: events.filter((e) => e.type === 'conference.leave' && e.callSid === customer).length,
  };
}

describe('warm transfer with one both_tracks stream per agent on the customer leg', () => {
  it('by REST Streams: two streams (4 tracks), A stopped by name, no customer disruption', async () => {
    const room = 'WTrest';
    const customer = await inConference(room, true);
    await inConference(room, true);
    const start = emu.events().at(-1)?.seq ?? 0;
    const url = `${ws.origin}/rest`;
    await client.calls(customer).streams.create({ url, name: 'Stream_WKa', track: 'both_tracks' });
    await inConference(room, false);
    await client.calls(customer).streams.create({ url, name: 'Stream_WKb', track: 'both_tracks' });
    await client.calls(customer).streams('Stream_WKa').update({ status: 'stopped' });
    const streams = emu.state().streams.filter((s) => s.callSid === customer);
    expect(streams.map((s) => [s.name, s.status])).toEqual([
      ['Stream_WKa', 'stopped'],
      ['Stream_WKb', 'in-progress'],
    ]);
    expect(costSince(start, customer)).toEqual({ rest: 3, leaves: 0 });
  });

  it('by TwiML redirects: the same streams cost two leave/rejoins of the customer', async () => {
    const room = 'WTtwiml';
    const customer = await inConference(room, true);
    await inConference(room, true);
    const sid = emu.state().conferences.find((c) => c.friendlyName === room)?.sid ?? '';
    const start = emu.events().at(-1)?.seq ?? 0;
    const url = `${ws.origin}/twiml`;
    const rejoin = `<Dial><Conference beep="false" endConferenceOnExit="true">${room}</Conference></Dial>`;
    await client.conferences(sid).participants(customer).update({ endConferenceOnExit: false });
    await client.calls(customer).update({
      twiml: `<Response><Start><Stream name="Stream_WKa" url="${url}" track="both_tracks"/></Start>${rejoin}</Response>`,
    });
    await inConference(room, false);
    await waitFor(
      () => emu.state().calls.find((c) => c.sid === customer)?.conferenceSid,
      (s) => s === sid,
      'rejoin',
    );
    await client.conferences(sid).participants(customer).update({ endConferenceOnExit: false });
    await client.calls(customer).update({
      twiml: `<Response><Stop><Stream name="Stream_WKa"/></Stop><Start><Stream name="Stream_WKb" url="${url}" track="both_tracks"/></Start>${rejoin}</Response>`,
    });
    await waitFor(
      () =>
        emu
          .state()
          .streams.filter((s) => s.callSid === customer)
          .map((s) => [s.name, s.status]),
      (list) =>
        JSON.stringify(list) ===
        JSON.stringify([
          ['Stream_WKa', 'stopped'],
          ['Stream_WKb', 'in-progress'],
        ]),
      'A stopped and B running',
    );
    expect(costSince(start, customer)).toEqual({ rest: 4, leaves: 2 });
    expect(emu.state().conferences.find((c) => c.sid === sid)?.status).toBe('in-progress');
  });
});
