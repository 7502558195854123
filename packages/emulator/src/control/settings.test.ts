import { describe, expect, it } from 'vitest';
import { ControlError } from '../errors.js';
import { NO_SETTINGS, applySettings, conferenceEvents, settingsJson } from './settings.js';

const refused = (input: unknown): ControlError => {
  try {
    applySettings(NO_SETTINGS, input);
  } catch (error) {
    if (error instanceof ControlError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
};

describe('applySettings', () => {
  it('sets each callback whole, with POST and the Flex default events `leave end`', () => {
    const settings = applySettings(NO_SETTINGS, {
      inboundStatusCallback: 'https://app.example/status',
      flexConferenceStatusCallback: 'http://127.0.0.1:9/conf',
    });
    expect(settings).toEqual({
      inboundStatusCallback: { url: 'https://app.example/status', method: 'POST' },
      flexConferenceStatusCallback: {
        url: 'http://127.0.0.1:9/conf',
        method: 'POST',
        events: ['leave', 'end'],
      },
    });
  });

  it('keeps what an update does not name, and removes a callback with null or ""', () => {
    const first = applySettings(NO_SETTINGS, {
      inboundStatusCallback: 'https://a.example/s',
      inboundStatusCallbackMethod: 'GET',
      flexConferenceStatusCallback: 'https://a.example/c',
      flexConferenceStatusCallbackEvent: 'join, leave end',
    });
    expect(first.flexConferenceStatusCallback?.events).toEqual(['join', 'leave', 'end']);
    const second = applySettings(first, { flexConferenceStatusCallback: null });
    expect(second).toEqual({ ...first, flexConferenceStatusCallback: null });
    expect(applySettings(second, { inboundStatusCallback: '' })).toEqual(NO_SETTINGS);
    expect(settingsJson(first)).toEqual({
      inboundStatusCallback: 'https://a.example/s',
      inboundStatusCallbackMethod: 'GET',
      flexConferenceStatusCallback: 'https://a.example/c',
      flexConferenceStatusCallbackMethod: 'POST',
      flexConferenceStatusCallbackEvent: ['join', 'leave', 'end'],
    });
  });

  it('refuses bad input with a 400 naming the field', () => {
    expect(refused({ inboundStatusCallback: 'ws://x.example' }).message).toMatch(
      /inboundStatusCallback must be an http\(s\) URL/,
    );
    expect(refused({ inboundStatusCallback: 42 }).status).toBe(400);
    expect(
      refused({
        flexConferenceStatusCallback: 'https://x.example',
        flexConferenceStatusCallbackEvent: ['leaves'],
      }).message,
    ).toMatch(/unknown event "leaves"/);
    expect(refused({ inboundStatusCallbackMethod: 'GET' }).message).toMatch(
      /must be given together with inboundStatusCallback/,
    );
    expect(refused({ nope: true }).code).toBe('EMU_ERR_BAD_REQUEST');
    expect(refused([]).message).toMatch(/JSON object/);
  });
});

describe('conferenceEvents', () => {
  it('takes an array or a space/comma-separated string of Twilio filter names', () => {
    expect(conferenceEvents('e', ['start', 'announcement'])).toEqual(['start', 'announcement']);
    expect(conferenceEvents('e', 'modify,speaker  hold')).toEqual(['modify', 'speaker', 'hold']);
    expect(conferenceEvents('e', undefined)).toEqual([]);
    expect(() => conferenceEvents('e', { start: true })).toThrow(ControlError);
    expect(() => conferenceEvents('e', 'start ended')).toThrow(/unknown event "ended"/);
  });
});
