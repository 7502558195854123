import { twilioSignature } from '@flex-streams/emulator';
import { describe, expect, it } from 'vitest';
import { createWebhookSignatureValidator } from './webhook-signature.js';

const TOKEN = '0123456789abcdef0123456789abcdef';
const PARAMS = {
  EventType: 'reservation.accepted',
  ReservationSid: `WR${'1'.repeat(32)}`,
  TaskSid: `WT${'2'.repeat(32)}`,
};

describe('createWebhookSignatureValidator', () => {
  it('accepts what the emulator signs on the public URL while the service sees only the path', () => {
    const validator = createWebhookSignatureValidator({
      authToken: TOKEN,
      publicBaseUrl: 'https://flex-streams.example.com/edge/',
    });
    const publicUrl = 'https://flex-streams.example.com/edge/v1/webhooks/taskrouter?tenant=a';
    const result = validator.validate({
      pathAndQuery: '/v1/webhooks/taskrouter?tenant=a',
      signature: twilioSignature(TOKEN, publicUrl, PARAMS),
      params: PARAMS,
    });
    expect(result).toEqual({ valid: true, url: publicUrl });
  });

  it('accepts repeated form keys (arrays) signed as Twilio signs them', () => {
    const validator = createWebhookSignatureValidator({
      authToken: TOKEN,
      publicBaseUrl: 'https://svc.example.com',
    });
    const params = { ...PARAMS, Tag: ['b', 'a'] };
    const signature = twilioSignature(TOKEN, 'https://svc.example.com/hook', params);
    expect(validator.validate({ pathAndQuery: '/hook', signature, params }).valid).toBe(true);
  });

  it('accepts a signature made without the default port (validateRequest tries both forms)', () => {
    const validator = createWebhookSignatureValidator({
      authToken: TOKEN,
      publicBaseUrl: 'https://svc.example.com:443',
    });
    const signature = twilioSignature(TOKEN, 'https://svc.example.com/hook', PARAMS);
    expect(validator.validate({ pathAndQuery: '/hook', signature, params: PARAMS }).valid).toBe(
      true,
    );
  });

  it('refuses a request without the header: missing-signature', () => {
    const validator = createWebhookSignatureValidator({
      authToken: TOKEN,
      publicBaseUrl: 'https://svc.example.com',
    });
    for (const signature of [undefined, '', []]) {
      const result = validator.validate({ pathAndQuery: '/hook', signature, params: PARAMS });
      expect(result).toMatchObject({
        valid: false,
        reason: 'missing-signature',
        code: 'FS_TW_SIGNATURE_MISSING',
      });
    }
  });

  it('refuses tampered parameters, another URL, another token or a repeated header: mismatch', () => {
    const validator = createWebhookSignatureValidator({
      authToken: TOKEN,
      publicBaseUrl: 'https://svc.example.com',
    });
    const url = 'https://svc.example.com/hook';
    const good = twilioSignature(TOKEN, url, PARAMS);
    const cases = [
      { signature: good, params: { ...PARAMS, TaskSid: `WT${'9'.repeat(32)}` }, path: '/hook' },
      { signature: good, params: PARAMS, path: '/other' },
      { signature: twilioSignature('another-token', url, PARAMS), params: PARAMS, path: '/hook' },
      {
        signature: twilioSignature(TOKEN, 'http://svc.example.com/hook', PARAMS),
        params: PARAMS,
        path: '/hook',
      },
      { signature: [good, good], params: PARAMS, path: '/hook' },
    ];
    for (const { signature, params, path } of cases) {
      const result = validator.validate({ pathAndQuery: path, signature, params });
      expect(result).toMatchObject({
        valid: false,
        reason: 'mismatch',
        code: 'FS_TW_SIGNATURE_MISMATCH',
      });
      expect(result.valid || result.message.includes('public base URL')).toBe(true);
    }
  });

  it('builds public URLs from the base and the path', () => {
    const validator = createWebhookSignatureValidator({
      authToken: TOKEN,
      publicBaseUrl: 'https://svc.example.com/prefix',
    });
    expect(validator.publicUrlFor('/a?b=1')).toBe('https://svc.example.com/prefix/a?b=1');
    expect(validator.publicUrlFor('a')).toBe('https://svc.example.com/prefix/a');
  });

  it('refuses bad options with FS_TW_INVALID_OPTIONS', () => {
    for (const options of [
      { authToken: '', publicBaseUrl: 'https://svc.example.com' },
      { authToken: TOKEN, publicBaseUrl: 'svc.example.com' },
      { authToken: TOKEN, publicBaseUrl: 'wss://svc.example.com' },
      { authToken: TOKEN, publicBaseUrl: 'https://svc.example.com/?q=1' },
    ]) {
      expect(() => createWebhookSignatureValidator(options)).toThrow(
        expect.objectContaining({ code: 'FS_TW_INVALID_OPTIONS' }) as Error,
      );
    }
    // Every problem in one message.
    expect(() => createWebhookSignatureValidator({ authToken: '', publicBaseUrl: 'nope' })).toThrow(
      /authToken.*publicBaseUrl/,
    );
  });
});
