import { describe, expect, it } from 'vitest';
import { createControllerConfig } from './config.js';
import { createStreamController } from './controller.js';
import { isFsError } from './errors.js';
import {
  applyCommand,
  parseCallStatusCallback,
  parseConferenceStatusCallback,
  parseStreamStatusCallback,
  parseTaskRouterEvent,
} from './events.js';
import { createMemorySegmentStore } from './memory-store.js';
import { createFakeClock, createFakeVoice, makeSid } from './testing/index.js';

const ids = {
  reservation: makeSid('WR', 1),
  task: makeSid('WT', 1),
  worker: makeSid('WK', 1),
  call: makeSid('CA', 1),
  conference: makeSid('CF', 1),
};
const reservationEvent = (eventType: string) => ({
  EventType: eventType,
  AccountSid: makeSid('AC', 1),
  WorkspaceSid: makeSid('WS', 1),
  ReservationSid: ids.reservation,
  TaskSid: ids.task,
  WorkerSid: ids.worker,
  TaskAttributes: JSON.stringify({ call_sid: ids.call, conference: { sid: ids.conference } }),
});

describe('parseTaskRouterEvent', () => {
  it('maps reservation.accepted to the accepted use case, with the conference when known', () => {
    expect(parseTaskRouterEvent(reservationEvent('reservation.accepted'))).toEqual({
      kind: 'reservation-accepted',
      input: {
        reservationSid: ids.reservation,
        taskSid: ids.task,
        workerSid: ids.worker,
        customerCallSid: ids.call,
        conferenceSid: ids.conference,
      },
    });
  });

  it('maps every reservation end and task end', () => {
    for (const event of ['wrapup', 'completed', 'canceled', 'rescinded', 'timeout']) {
      expect(parseTaskRouterEvent(reservationEvent(`reservation.${event}`))).toMatchObject({
        kind: 'reservation-ended',
        input: { event, customerCallSid: ids.call },
      });
    }
    expect(parseTaskRouterEvent({ ...reservationEvent('task.canceled') })).toEqual({
      kind: 'task-ended',
      input: { taskSid: ids.task, customerCallSid: ids.call, event: 'canceled' },
    });
  });

  it('passes over events it does not act on', () => {
    expect(parseTaskRouterEvent({ EventType: 'worker.activity.update' })).toEqual({
      kind: 'not-handled',
      eventType: 'worker.activity.update',
    });
  });

  it('passes over the events of tasks that are not calls (chat, SMS: no call_sid)', () => {
    const chat = {
      ...reservationEvent('reservation.accepted'),
      TaskChannelUniqueName: 'chat',
      TaskAttributes: JSON.stringify({ channelType: 'web', conversationSid: 'CH1' }),
    };
    expect(parseTaskRouterEvent(chat)).toEqual({
      kind: 'not-handled',
      eventType: 'reservation.accepted',
    });
    // Without TaskChannelUniqueName, the missing call_sid tells the same.
    const unnamed = { ...reservationEvent('task.canceled'), TaskAttributes: chat.TaskAttributes };
    expect(parseTaskRouterEvent(unnamed)).toMatchObject({
      kind: 'not-handled',
    });
    // A voice task with a malformed call_sid is still refused.
    expect(() =>
      parseTaskRouterEvent({
        ...reservationEvent('reservation.wrapup'),
        TaskChannelUniqueName: 'voice',
        TaskAttributes: JSON.stringify({ call_sid: 'CA1' }),
      }),
    ).toThrow(/call_sid must be/);
  });

  it('lists every problem of a malformed event in one FS_ERR_INVALID_INPUT', () => {
    try {
      parseTaskRouterEvent({
        EventType: 'reservation.wrapup',
        ReservationSid: 'WR1',
        TaskSid: ids.task,
        TaskAttributes: '{not json',
      });
      expect.unreachable();
    } catch (error) {
      expect(isFsError(error, 'FS_ERR_INVALID_INPUT')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('ReservationSid must be a WR… SID');
      expect(message).toContain('WorkerSid must be a WK… SID');
      expect(message).toContain('TaskAttributes must be a JSON object');
    }
    expect(() => parseTaskRouterEvent({})).toThrow(/EventType is required/);
  });
});

describe('parseStreamStatusCallback', () => {
  it('maps the callback fields, keeping StreamError', () => {
    expect(
      parseStreamStatusCallback({
        AccountSid: makeSid('AC', 1),
        CallSid: ids.call,
        StreamSid: makeSid('MZ', 1),
        StreamName: 'fs-x',
        StreamEvent: 'stream-error',
        StreamError: '31921: closed',
        Timestamp: '2026-01-01T00:00:00Z',
      }),
    ).toEqual({
      kind: 'stream-status',
      input: {
        callSid: ids.call,
        streamSid: makeSid('MZ', 1),
        streamName: 'fs-x',
        event: 'stream-error',
        error: '31921: closed',
      },
    });
  });

  it('rejects an unknown StreamEvent', () => {
    expect(() =>
      parseStreamStatusCallback({
        CallSid: ids.call,
        StreamSid: makeSid('MZ', 1),
        StreamName: 'x',
        StreamEvent: 'stream-paused',
      }),
    ).toThrow(/StreamEvent 'stream-paused'/);
  });
});

describe('webhook driver and plugin driver together', () => {
  it('start one stream per segment, and the status callbacks confirm it', async () => {
    const voice = createFakeVoice();
    const clock = createFakeClock();
    voice.addCall(ids.call);
    const silent = (): void => undefined;
    const controller = createStreamController({
      voice,
      clock,
      store: createMemorySegmentStore(),
      logger: { debug: silent, info: silent, warn: silent, error: silent },
      newId: () => 'SG1',
      config: createControllerConfig({
        streamUrl: 'wss://rx.example.com/s',
        statusCallbackUrl: 'https://ctl.example.com/status',
      }),
    });
    const fromWebhook = applyCommand(
      controller,
      parseTaskRouterEvent(reservationEvent('reservation.accepted')),
    );
    const fromPlugin = controller.reservationAccepted({
      reservationSid: ids.reservation,
      taskSid: ids.task,
      workerSid: ids.worker,
      customerCallSid: ids.call,
    });
    const outcomes = await clock.drive(Promise.all([fromWebhook, fromPlugin]));
    expect(outcomes.map((r) => r?.outcome).sort()).toEqual(['applied', 'duplicate']);
    expect(voice.streams(ids.call)).toHaveLength(1);
    for (const event of voice.takeStatusEvents()) {
      const form = {
        CallSid: event.callSid,
        StreamSid: event.streamSid,
        StreamName: event.streamName,
        StreamEvent: event.event,
      };
      await clock.drive(applyCommand(controller, parseStreamStatusCallback(form)));
    }
    const [segment] = await controller.segmentsOfCall(ids.call);
    expect(segment?.streams.map((s) => s.state)).toEqual(['streaming']);
    await clock.drive(
      applyCommand(controller, parseTaskRouterEvent(reservationEvent('reservation.wrapup'))),
    );
    expect(voice.streams(ids.call, 'in-progress')).toEqual([]);
  });
});

describe('parseCallStatusCallback', () => {
  it('maps CallSid and CallStatus, and lists every problem of a malformed form', () => {
    expect(
      parseCallStatusCallback({ CallSid: ids.call, CallStatus: 'completed', CallDuration: '42' }),
    ).toEqual({ kind: 'call-status', input: { callSid: ids.call, callStatus: 'completed' } });
    let thrown: unknown;
    try {
      parseCallStatusCallback({ CallSid: 'CA1', CallStatus: 'hungup' });
    } catch (error) {
      thrown = error;
    }
    expect(isFsError(thrown, 'FS_ERR_INVALID_INPUT')).toBe(true);
    expect(String(thrown)).toMatch(/CallSid must be a CA… SID.*CallStatus 'hungup' is not one of/);
  });
});

describe('parseConferenceStatusCallback', () => {
  const base = {
    ConferenceSid: ids.conference,
    FriendlyName: ids.task,
    AccountSid: makeSid('AC', 1),
  };
  it('maps participant-leave (with its CallSid) and conference-end; other events are not handled', () => {
    expect(
      parseConferenceStatusCallback({
        ...base,
        StatusCallbackEvent: 'participant-leave',
        CallSid: ids.call,
        ReasonParticipantLeft: 'participant_hung_up',
      }),
    ).toEqual({
      kind: 'conference-event',
      input: {
        conferenceSid: ids.conference,
        friendlyName: ids.task,
        event: 'participant-leave',
        callSid: ids.call,
      },
    });
    expect(
      parseConferenceStatusCallback({
        ...base,
        StatusCallbackEvent: 'participant-leave',
        CallSid: ids.call,
        ParticipantCallStatus: 'completed',
      }),
    ).toMatchObject({ input: { participantCallStatus: 'completed' } });
    expect(
      parseConferenceStatusCallback({
        ...base,
        StatusCallbackEvent: 'participant-join',
        CallSid: ids.call,
      }),
    ).toEqual({
      kind: 'conference-event',
      input: {
        conferenceSid: ids.conference,
        friendlyName: ids.task,
        event: 'participant-join',
        callSid: ids.call,
      },
    });
    expect(
      parseConferenceStatusCallback({ ...base, StatusCallbackEvent: 'conference-end' }),
    ).toEqual({
      kind: 'conference-event',
      input: { conferenceSid: ids.conference, friendlyName: ids.task, event: 'conference-end' },
    });
    expect(
      parseConferenceStatusCallback({
        ...base,
        StatusCallbackEvent: 'participant-hold',
        CallSid: ids.call,
      }),
    ).toEqual({ kind: 'not-handled', eventType: 'participant-hold' });
  });
  it('refuses a leave without a CallSid and a form without a conference', () => {
    expect(() =>
      parseConferenceStatusCallback({ ...base, StatusCallbackEvent: 'participant-leave' }),
    ).toThrow(/CallSid must be a CA… SID/);
    expect(() =>
      parseConferenceStatusCallback({
        ...base,
        FriendlyName: 'x'.repeat(129),
        StatusCallbackEvent: 'conference-end',
      }),
    ).toThrow(/FriendlyName is 129 characters, at most 128/);
    expect(() => parseConferenceStatusCallback({ StatusCallbackEvent: 'conference-end' })).toThrow(
      /ConferenceSid must be a CF… SID/,
    );
  });
});
