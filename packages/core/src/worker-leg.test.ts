import { describe, expect, it } from 'vitest';
import {
  VoiceApiError,
  type Logger,
  type ParticipantSummary,
  type TaskRouterPort,
} from './ports.js';
import { createFakeClock } from './testing/index.js';
import { conferenceOfAttributes, resolveWorkerCallSid } from './worker-leg.js';

const sid = (prefix: string, digit: string) => prefix + digit.repeat(32);
const TASK = sid('WT', '1');
const RESERVATION = sid('WR', '2');
const CUSTOMER = sid('CA', 'c');
const AGENT_A = sid('CA', 'a');
const AGENT_B = sid('CA', 'b');
const CONFERENCE = sid('CF', 'f');

const warnings: string[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (_fields, message) => warnings.push(message),
  error: () => undefined,
};

/**
 * An honest in-memory TaskRouter: the task's attributes and the conference's participants change
 * as a test's script says, after a given number of reads (the agent joins after the accept).
 */
function fakeTaskRouter(script: {
  attributes: (read: number) => Record<string, unknown> | null;
  participants: (read: number) => ParticipantSummary[];
  failFirst?: number;
}) {
  const reads = { attributes: 0, participants: 0 };
  const port: TaskRouterPort = {
    fetchReservation: () => Promise.resolve(null),
    fetchTaskAttributes(taskSid) {
      reads.attributes += 1;
      if (reads.attributes <= (script.failFirst ?? 0)) {
        return Promise.reject(new VoiceApiError({ status: 503, code: null, message: 'down' }));
      }
      return Promise.resolve(taskSid === TASK ? script.attributes(reads.attributes) : null);
    },
    listParticipants(conferenceSid) {
      reads.participants += 1;
      return Promise.resolve(
        conferenceSid === CONFERENCE ? script.participants(reads.participants) : [],
      );
    },
  };
  return { port, reads };
}

const query = { taskSid: TASK, reservationSid: RESERVATION, customerCallSid: CUSTOMER };
const policy = { attempts: 5, intervalMs: 200 };

describe('conferenceOfAttributes', () => {
  it('reads conference.sid and participants.worker from a JSON string or an object', () => {
    const attributes = { conference: { sid: CONFERENCE, participants: { worker: AGENT_A } } };
    expect(conferenceOfAttributes(JSON.stringify(attributes))).toEqual({
      workerCallSid: AGENT_A,
      conferenceSid: CONFERENCE,
    });
    expect(conferenceOfAttributes(attributes).workerCallSid).toBe(AGENT_A);
    for (const bad of ['{', null, 7, { conference: { participants: { worker: 'x' } } }]) {
      expect(conferenceOfAttributes(bad)).toEqual({ workerCallSid: null, conferenceSid: null });
    }
  });
});

describe('resolveWorkerCallSid', () => {
  it("takes the event's conference.participants.worker without any lookup", async () => {
    const clock = createFakeClock();
    const tr = fakeTaskRouter({ attributes: () => ({}), participants: () => [] });
    const found = await resolveWorkerCallSid(
      { taskRouter: tr.port, findConference: () => Promise.resolve(null), clock, logger },
      {
        ...query,
        eventAttributes: JSON.stringify({ conference: { participants: { worker: AGENT_B } } }),
        otherLegs: [],
      },
      policy,
    );
    expect(found).toBe(AGENT_B);
    expect(tr.reads.attributes).toBe(0);
  });

  it("never takes another live agent's leg from the attributes; polls until the new one shows", async () => {
    const clock = createFakeClock();
    // Stale attributes name agent A (the transferring one) for two reads, then agent B.
    const tr = fakeTaskRouter({
      attributes: (read) => ({
        conference: { sid: CONFERENCE, participants: { worker: read <= 2 ? AGENT_A : AGENT_B } },
      }),
      participants: () => [
        { callSid: CUSTOMER, label: null, hold: false, endConferenceOnExit: false },
        { callSid: AGENT_A, label: null, hold: false, endConferenceOnExit: false },
      ],
    });
    const found = await clock.drive(
      resolveWorkerCallSid(
        { taskRouter: tr.port, findConference: () => Promise.resolve(null), clock, logger },
        {
          ...query,
          eventAttributes: { conference: { participants: { worker: AGENT_A } } },
          otherLegs: [AGENT_A],
        },
        policy,
      ),
    );
    expect(found).toBe(AGENT_B);
    expect(clock.sleeps).toEqual([200, 200]);
  });

  it('falls back to the one participant that is neither the customer nor another agent', async () => {
    const clock = createFakeClock();
    const tr = fakeTaskRouter({
      attributes: () => ({ call_sid: CUSTOMER }),
      participants: (read) => [
        { callSid: CUSTOMER, label: 'customer', hold: false, endConferenceOnExit: false },
        { callSid: AGENT_A, label: null, hold: false, endConferenceOnExit: false },
        ...(read >= 3
          ? [{ callSid: AGENT_B, label: null, hold: false, endConferenceOnExit: false }]
          : []),
      ],
      failFirst: 1,
    });
    const found = await clock.drive(
      resolveWorkerCallSid(
        {
          taskRouter: tr.port,
          findConference: (name) => Promise.resolve(name === TASK ? CONFERENCE : null),
          clock,
          logger,
        },
        { ...query, otherLegs: [AGENT_A] },
        policy,
      ),
    );
    expect(found).toBe(AGENT_B);
    expect(warnings).toContain('worker leg lookup failed; retrying');
  });

  it('gives up with null after the bounded attempts when the leg is ambiguous or absent', async () => {
    const clock = createFakeClock();
    const tr = fakeTaskRouter({
      attributes: () => ({ conference: { sid: CONFERENCE } }),
      participants: () => [
        { callSid: CUSTOMER, label: null, hold: false, endConferenceOnExit: false },
        { callSid: AGENT_A, label: null, hold: false, endConferenceOnExit: false },
        { callSid: AGENT_B, label: null, hold: false, endConferenceOnExit: false },
      ],
    });
    const found = await clock.drive(
      resolveWorkerCallSid(
        { taskRouter: tr.port, findConference: () => Promise.resolve(null), clock, logger },
        { ...query, otherLegs: [] },
        policy,
      ),
    );
    expect(found).toBeNull();
    expect(tr.reads.attributes).toBe(5);
    expect(clock.sleeps).toEqual([200, 200, 200, 200]);
  });

  it('without a TaskRouter port, only the event attributes can tell', async () => {
    const clock = createFakeClock();
    const found = await clock.drive(
      resolveWorkerCallSid(
        { taskRouter: null, findConference: () => Promise.resolve(CONFERENCE), clock, logger },
        { ...query, eventAttributes: '{}', otherLegs: [] },
        { attempts: 2, intervalMs: 10 },
      ),
    );
    expect(found).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });
});
