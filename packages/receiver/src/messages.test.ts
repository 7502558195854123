import { describe, expect, it } from 'vitest';
import { isReceiverError } from './errors.js';
import { parseMessage } from './messages.js';

const MZ = `MZ${'a'.repeat(32)}`;
const CA = `CA${'b'.repeat(32)}`;
const AC = `AC${'c'.repeat(32)}`;

function codeOf(text: string): string {
  try {
    parseMessage(text);
  } catch (error) {
    if (isReceiverError(error)) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('parseMessage', () => {
  it('maps start to camelCase with tracks in channel order', () => {
    const message = parseMessage(
      JSON.stringify({
        event: 'start',
        sequenceNumber: '1',
        streamSid: MZ,
        start: {
          accountSid: AC,
          streamSid: MZ,
          callSid: CA,
          tracks: ['outbound', 'inbound'],
          customParameters: { streamName: 'x' },
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      }),
    );
    expect(message).toEqual({
      event: 'start',
      sequenceNumber: 1,
      streamSid: MZ,
      accountSid: AC,
      callSid: CA,
      tracks: ['inbound', 'outbound'],
      customParameters: { streamName: 'x' },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    });
  });

  it('decodes media payloads and numeric strings', () => {
    const message = parseMessage(
      JSON.stringify({
        event: 'media',
        sequenceNumber: '3',
        streamSid: MZ,
        media: { track: 'inbound', chunk: '2', timestamp: '40', payload: 'AAEC/w==' },
      }),
    );
    expect(message).toMatchObject({ event: 'media', track: 'inbound', chunk: 2, timestampMs: 40 });
    expect(message.event === 'media' && [...message.payload]).toEqual([0, 1, 2, 255]);
  });

  it('accepts connected and a stop without a body', () => {
    expect(codeOf('{"event":"connected","protocol":"Call","version":"1.0.0"}')).toBe('accepted');
    expect(codeOf(JSON.stringify({ event: 'stop', sequenceNumber: '9', streamSid: MZ }))).toBe(
      'accepted',
    );
  });

  it.each([
    ['not json', 'FS_RCV_INVALID_JSON'],
    ['null', 'FS_RCV_INVALID_MESSAGE'],
    ['"media"', 'FS_RCV_INVALID_MESSAGE'],
    ['{"event":"clear"}', 'FS_RCV_UNKNOWN_EVENT'],
    ['{"event":"toString"}', 'FS_RCV_UNKNOWN_EVENT'],
    ['{"event":"__proto__"}', 'FS_RCV_UNKNOWN_EVENT'],
    [`{"event":"stop","sequenceNumber":1,"streamSid":"${MZ}"}`, 'FS_RCV_INVALID_MESSAGE'],
    [`{"event":"stop","sequenceNumber":"1","streamSid":"MZ1"}`, 'FS_RCV_INVALID_MESSAGE'],
    [
      `{"event":"media","sequenceNumber":"1","streamSid":"${MZ}","media":{"track":"both","chunk":"1","timestamp":"0","payload":"AAAA"}}`,
      'FS_RCV_INVALID_MESSAGE',
    ],
    [
      `{"event":"media","sequenceNumber":"1","streamSid":"${MZ}","media":{"track":"inbound","chunk":"1","timestamp":"-5","payload":"AAAA"}}`,
      'FS_RCV_INVALID_MESSAGE',
    ],
    [
      `{"event":"media","sequenceNumber":"1","streamSid":"${MZ}","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":""}}`,
      'FS_RCV_INVALID_MESSAGE',
    ],
  ])('rejects %s with %s', (text, code) => {
    expect(codeOf(text)).toBe(code);
  });
});
