import { describe, expect, it } from 'vitest';
import { isFsError } from './errors.js';
import { buildStartStreamTwiml, buildStopStreamTwiml, escapeXml } from './twiml.js';

const base = {
  taskSid: 'WT00000000000000000000000000000001',
  name: 'fs-WR00000000000000000000000000000001-0',
  url: 'wss://rx.example.com/streams',
  track: 'both_tracks',
  statusCallback: null,
} as const;

describe('TwiML builders', () => {
  it('start: stream with parameters, then the silent re-dial into the task conference', () => {
    const twiml = buildStartStreamTwiml({
      ...base,
      parameters: { workerSid: 'WK1', leg: 'customer' },
    });
    expect(twiml).toBe(
      '<Response><Start><Stream name="fs-WR00000000000000000000000000000001-0" url="wss://rx.example.com/streams" track="both_tracks">' +
        '<Parameter name="workerSid" value="WK1"/><Parameter name="leg" value="customer"/></Stream></Start>' +
        '<Dial><Conference beep="false" endConferenceOnExit="true">WT00000000000000000000000000000001</Conference></Dial></Response>',
    );
  });

  it('escapes every attribute value and the room name', () => {
    const twiml = buildStartStreamTwiml({
      ...base,
      statusCallback: 'https://cb.example.com/s?a=1&b=2',
      parameters: { note: `<"it's" & more>` },
    });
    expect(twiml).toContain('statusCallback="https://cb.example.com/s?a=1&amp;b=2"');
    expect(twiml).toContain('value="&lt;&quot;it&apos;s&quot; &amp; more&gt;"');
    expect(escapeXml('a<b')).toBe('a&lt;b');
  });

  it('stop: <Stop><Stream name/></Stop> then the re-dial', () => {
    expect(buildStopStreamTwiml({ taskSid: base.taskSid, name: base.name })).toBe(
      `<Response><Stop><Stream name="${base.name}"/></Stop><Dial><Conference beep="false" endConferenceOnExit="true">${base.taskSid}</Conference></Dial></Response>`,
    );
  });

  it("refuses TwiML over Twilio's 4000-character limit", () => {
    const parameters = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`key${i}`, 'x'.repeat(100)]),
    );
    try {
      buildStartStreamTwiml({ ...base, parameters });
      expect.unreachable();
    } catch (error) {
      expect(isFsError(error, 'FS_ERR_TWIML_TOO_LONG')).toBe(true);
    }
    const fits = buildStartStreamTwiml({ ...base, parameters: { a: 'x'.repeat(3500) } });
    expect(fits.length).toBeLessThanOrEqual(4000);
  });
});
