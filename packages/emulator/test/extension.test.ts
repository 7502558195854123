import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorWith, type Emulator, type EmulatorExtension } from '../src/emulator.js';
import type { EmulatorEvent } from '../src/events.js';
import { createMediaStreamsClient } from '../src/media/client.js';
import { waitFor } from './helpers/contract.js';

const seen: EmulatorEvent[] = [];
/** A stand-in for step 3's TaskRouter: one route on another domain, and a reaction to Enqueue. */
const taskRouterLike: EmulatorExtension = ({ app, events }) => {
  app.get('/v1/Services', { config: { operation: 'ListService' } }, () => ({ services: [] }));
  events.subscribe((event) => {
    if (event.type === 'twiml.verb' && event.verb === 'Enqueue') {
      seen.push(event);
      events.append('task.created', { callSid: event.callSid, workflowSid: event.workflowSid });
    }
  });
};

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulatorWith({}, createMediaStreamsClient, [taskRouterLike]);
});
afterAll(async () => {
  await emu.close();
});

describe('emulator extensions', () => {
  it('serve authenticated routes on other Twilio domains, logged as REST requests', async () => {
    const anonymous = await fetch(`${emu.url}/v1/Services`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: number }).code).toBe(20003);
    const auth = `Basic ${Buffer.from(`${emu.accountSid}:${emu.authToken}`).toString('base64')}`;
    const ok = await fetch(`${emu.url}/v1/Services`, { headers: { Authorization: auth } });
    expect(ok.status).toBe(200);
    expect(
      emu
        .events()
        .filter((e) => e.type === 'rest.request' && e.path === '/v1/Services')
        .map((e) => e.status),
    ).toEqual([401, 200]);
  });

  it('react to the model through the event log and add their own event types', async () => {
    const { callSid } = await emu.placeInboundCall({
      from: '+1',
      to: '+2',
      twiml:
        '<Response><Enqueue workflowSid="WW123"><Task>{"type":"support"}</Task></Enqueue></Response>',
    });
    const created = await waitFor(
      () => emu.events().find((e) => e.type === 'task.created'),
      Boolean,
      'task.created',
    );
    expect(created).toMatchObject({ callSid, workflowSid: 'WW123' });
    expect(seen[0]).toMatchObject({ callSid, queue: 'WW123', task: '{"type":"support"}' });
    await emu.hangup(callSid);
  });
});
