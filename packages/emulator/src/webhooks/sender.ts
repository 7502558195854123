import qs from 'qs';
import type { Logger } from 'pino';
import type { EventLog } from '../events.js';
import { twilioSignature } from './signature.js';

/** What a webhook returned: HTTP status and body text. */
export interface WebhookResponse {
  readonly status: number;
  readonly body: string;
}

/** One webhook the emulator sends, signed as Twilio signs it. */
export interface WebhookRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly params: Readonly<Record<string, string>>;
  /** What it is for, in the event log: `twiml`, `call-status`, `conference-status`, `stream-status`, `taskrouter-event`. */
  readonly purpose: string;
  readonly callSid?: string;
}

/** Sends webhooks; never throws (a failure resolves `null` and is logged). */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResponse | null>;
}

/**
 * Twilio's webhook transport: POST sends the parameters form-encoded in the body and signs
 * URL + sorted parameters; GET appends them to the query string and signs the full URL alone
 * (https://www.twilio.com/docs/usage/security#validating-requests, twilio-facts §7). Twilio waits up
 * to 15 s for an answer (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
 */
export function createWebhookSender(options: {
  authToken: string;
  events: EventLog;
  logger: Logger;
  timeoutMs?: number;
}): WebhookSender {
  const { authToken, events, logger } = options;
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    async send(request) {
      let url = request.url;
      let body: string | undefined;
      const headers: Record<string, string> = {
        'User-Agent': 'TwilioProxy/1.1',
        Accept: '*/*',
      };
      if (request.method === 'GET') {
        const query = qs.stringify(request.params);
        if (query !== '') url += (url.includes('?') ? '&' : '?') + query;
        headers['X-Twilio-Signature'] = twilioSignature(authToken, url);
      } else {
        body = qs.stringify(request.params);
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        headers['X-Twilio-Signature'] = twilioSignature(authToken, url, request.params);
      }
      const base = {
        url: request.url,
        method: request.method,
        purpose: request.purpose,
        callSid: request.callSid ?? null,
        event:
          request.params.StatusCallbackEvent ??
          request.params.StreamEvent ??
          request.params.CallStatus ??
          request.params.EventType ??
          null,
      };
      try {
        const response = await fetch(url, {
          method: request.method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        events.append('webhook', { ...base, status: response.status });
        return { status: response.status, body: text };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        events.append('webhook', { ...base, status: null, error: message });
        logger.warn({ url: request.url, purpose: request.purpose, err: message }, 'webhook failed');
        return null;
      }
    },
  };
}
