import { describe, expect, it } from 'vitest';
import { parseTwiml, TwimlError } from './parse.js';

function codeOf(xml: string): number | undefined {
  try {
    parseTwiml(xml);
  } catch (error) {
    if (error instanceof TwimlError) return error.code;
    throw error;
  }
  return undefined;
}

describe('parseTwiml', () => {
  it('keeps verb order and reads Start/Stream with Parameters and Dial/Conference defaults', () => {
    const verbs = parseTwiml(`<?xml version="1.0" encoding="UTF-8"?>
      <Response>
        <Start><Stream name="Stream_WKa" url="wss://x.example/s" track="both_tracks">
          <Parameter name="workerSid" value="WKa"/></Stream></Start>
        <Say loop="2">Hi</Say>
        <Dial><Conference endConferenceOnExit="true" statusCallback="https://cb.example/c"
          statusCallbackEvent="start end join">WT123</Conference></Dial>
        <Stop><Stream name="Stream_WKa"/></Stop>
        <Hangup/>
      </Response>`);
    expect(verbs.map((v) => v.verb)).toEqual(['Start', 'Say', 'Dial', 'Stop', 'Hangup']);
    expect(verbs[0]).toEqual({
      verb: 'Start',
      streams: [
        {
          url: 'wss://x.example/s',
          name: 'Stream_WKa',
          track: 'both_tracks',
          statusCallback: null,
          statusCallbackMethod: 'POST',
          parameters: { workerSid: 'WKa' },
        },
      ],
    });
    expect(verbs[1]).toEqual({ verb: 'Say', text: 'Hi', loop: 2 });
    expect(verbs[2]).toMatchObject({
      verb: 'Dial',
      conference: {
        name: 'WT123',
        beep: 'true',
        startConferenceOnEnter: true,
        endConferenceOnExit: true,
        statusCallbackEvent: ['start', 'end', 'join'],
      },
    });
    expect(verbs[3]).toEqual({ verb: 'Stop', streamNames: ['Stream_WKa'] });
  });

  it('reads Enqueue, Redirect, Pause and Play', () => {
    expect(
      parseTwiml(
        '<Response><Enqueue workflowSid="WW1">support</Enqueue><Redirect method="GET">/next</Redirect><Pause length="3"/><Play loop="0">x.mp3</Play></Response>',
      ),
    ).toEqual([
      { verb: 'Enqueue', queueName: 'support', waitUrl: null, workflowSid: 'WW1', task: null },
      { verb: 'Redirect', url: '/next', method: 'GET' },
      { verb: 'Pause', lengthS: 3 },
      { verb: 'Play', url: 'x.mp3', loop: 0 },
    ]);
  });

  it('keeps the <Task> attributes of <Enqueue> for TaskRouter', () => {
    expect(
      parseTwiml(
        '<Response><Enqueue workflowSid="WW1"><Task priority="5">{"type":"support"}</Task></Enqueue></Response>',
      ),
    ).toEqual([
      {
        verb: 'Enqueue',
        queueName: 'WW1',
        waitUrl: null,
        workflowSid: 'WW1',
        task: '{"type":"support"}',
      },
    ]);
    expect(codeOf('<Response><Enqueue>q<Say>x</Say></Enqueue></Response>')).toBe(12200);
  });

  it('refuses XML that is not well formed or has no <Response> root with 12100', () => {
    expect(codeOf('<Response><Say>x</Response>')).toBe(12100);
    expect(codeOf('not xml at all <')).toBe(12100);
    expect(codeOf('<Reply><Say>x</Say></Reply>')).toBe(12100);
  });

  it('refuses unknown verbs, unknown attributes and bad attribute values with 12200', () => {
    expect(codeOf('<Response><Dance/></Response>')).toBe(12200);
    expect(codeOf('<Response><Say colour="red">x</Say></Response>')).toBe(12200);
    expect(codeOf('<Response><Pause length="soon"/></Response>')).toBe(12200);
    expect(codeOf('<Response><Start><Stream url="wss://x" track="left"/></Start></Response>')).toBe(
      12200,
    );
    expect(
      codeOf('<Response><Dial><Conference muted="maybe">x</Conference></Dial></Response>'),
    ).toBe(12200);
    expect(codeOf('<Response><Dial><Number>+1555</Number></Dial></Response>')).toBe(12200);
    expect(codeOf('<Response><Stop><Stream/></Stop></Response>')).toBe(12200);
    expect(
      codeOf(
        '<Response><Dial><Conference statusCallbackEvent="start explode">x</Conference></Dial></Response>',
      ),
    ).toBe(12200);
  });
});
