import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { twilioSignature } from './signature.js';

const authToken = '12345';

describe('twilioSignature', () => {
  it('matches the official SDK for a form webhook, including repeated parameters', () => {
    const url = 'https://example.com/status?x=1';
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      StatusCallbackEvent: ['participant-join', 'conference-start'],
    };
    const signature = twilioSignature(authToken, url, params);
    expect(twilio.validateRequest(authToken, signature, url, params)).toBe(true);
    expect(twilio.validateRequest('wrong-token', signature, url, params)).toBe(false);
  });

  it('signs a wss:// upgrade URL with no parameters', () => {
    const url = 'wss://media.example.com/streams';
    const signature = twilioSignature(authToken, url);
    expect(twilio.validateRequest(authToken, signature, url, {})).toBe(true);
    expect(twilio.validateRequest(authToken, signature, 'wss://media.example.com/other', {})).toBe(
      false,
    );
  });
});
