import { describe, expect, it } from 'vitest';
import {
  CONNECTED_MESSAGE,
  createMediaMessageBuilder,
  startMessage,
  stopMessage,
} from './messages.js';
import type { MediaStreamSpec } from './ports.js';

const spec: MediaStreamSpec = {
  streamSid: 'MZ1',
  accountSid: 'AC1',
  callSid: 'CA1',
  url: 'wss://example.com/x',
  name: 'agent-a',
  tracks: ['outbound'],
  customParameters: { 'quote"d': 'a\\b' },
};

describe('Media Streams messages', () => {
  it('serialise connected exactly as Twilio does', () => {
    expect(JSON.parse(CONNECTED_MESSAGE)).toStrictEqual({
      event: 'connected',
      protocol: 'Call',
      version: '1.0.0',
    });
  });

  it('keep start and stop in Twilio key order, without the stream name', () => {
    expect(startMessage(spec)).toBe(
      '{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"accountSid":"AC1",' +
        '"streamSid":"MZ1","callSid":"CA1","tracks":["outbound"],' +
        '"customParameters":{"quote\\"d":"a\\\\b"},' +
        '"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}',
    );
    expect(JSON.parse(stopMessage(spec, 42))).toStrictEqual({
      event: 'stop',
      sequenceNumber: '42',
      streamSid: 'MZ1',
      stop: { accountSid: 'AC1', callSid: 'CA1' },
    });
  });

  it('build media messages that parse to string fields', () => {
    const build = createMediaMessageBuilder('MZ"1');
    expect(JSON.parse(build(7, 'inbound', 3, 40, 'AAAA'))).toStrictEqual({
      event: 'media',
      sequenceNumber: '7',
      streamSid: 'MZ"1',
      media: { track: 'inbound', chunk: '3', timestamp: '40', payload: 'AAAA' },
    });
  });
});
