import { createHmac } from 'node:crypto';

/** Form parameters of a webhook: repeated keys carry arrays. */
export type WebhookParams = Readonly<Record<string, string | readonly string[]>>;

/**
 * The `X-Twilio-Signature` Twilio puts on every webhook and on a Media Stream's WebSocket upgrade:
 * base64(HMAC-SHA1(authToken, url + each parameter name and value, names sorted)). For a repeated
 * parameter every distinct value is appended, sorted.
 * Source: twilio-node `src/webhooks/webhooks.ts` (`getExpectedTwilioSignature`), and
 * https://www.twilio.com/docs/usage/security#validating-requests. Written here rather than imported
 * so that the emulator stays an independent oracle: tests validate it with the official SDK.
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: WebhookParams = {},
): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      data += name + value;
    } else {
      for (const item of [...new Set(value)].sort()) data += name + item;
    }
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}
