/**
 * `X-Twilio-Signature` validation for the form-encoded webhooks the HTTP adapters receive
 * (TaskRouter event callbacks, stream status callbacks). Twilio signs the URL it was given — the
 * public one, usually in front of a proxy — so the URL is rebuilt from the configured public base
 * URL plus the path and query the service saw (twilio-facts §7; twilio-node
 * `src/webhooks/webhooks.ts`, whose `validateRequest` does the HMAC and its URL variants).
 */
import twilio from 'twilio';
import { FsTwilioError, type FsTwilioErrorCode } from './errors.js';

/** Form parameters of a webhook: repeated keys carry arrays (as `qs` parses them). */
export type WebhookParams = Readonly<Record<string, string | readonly string[]>>;

/** Why a webhook was refused. */
export type WebhookRejectReason = 'missing-signature' | 'mismatch';

/** The answer of {@link WebhookSignatureValidator.validate}. `url` is the URL that was checked. */
export type WebhookValidation =
  | { valid: true; url: string }
  | {
      valid: false;
      url: string;
      reason: WebhookRejectReason;
      /** The catalogue code an HTTP adapter answers with (status 403). */
      code: Extract<FsTwilioErrorCode, 'FS_TW_SIGNATURE_MISSING' | 'FS_TW_SIGNATURE_MISMATCH'>;
      /** A message for a person: what happened and what to check. */
      message: string;
    };

/** One webhook request as the service saw it. */
export interface WebhookRequest {
  /** The request target as received, path plus query (`/v1/webhooks/taskrouter?x=1`). */
  pathAndQuery: string;
  /** The `X-Twilio-Signature` header as Node delivers it (absent, one value or repeated). */
  signature: string | readonly string[] | undefined;
  /** The parsed form body (empty for GET callbacks, whose parameters are in the query). */
  params: WebhookParams;
}

/** Validates `X-Twilio-Signature` for one account and one public base URL. */
export interface WebhookSignatureValidator {
  validate(request: WebhookRequest): WebhookValidation;
  /** The public URL Twilio signed for a request target (`publicBaseUrl` + `pathAndQuery`). */
  publicUrlFor(pathAndQuery: string): string;
}

/** Options of {@link createWebhookSignatureValidator}. */
export interface WebhookSignatureOptions {
  /** The auth token of the account whose webhooks these are (Twilio signs with it). */
  authToken: string;
  /**
   * The public base URL given to Twilio (`https://flex-streams.example.com` or
   * `https://example.com/prefix` when a proxy strips a prefix). No query, no fragment.
   */
  publicBaseUrl: string;
}

/**
 * Creates a validator. Throws `FS_TW_INVALID_OPTIONS` when the auth token is empty or the base URL
 * is not an absolute `http(s)` URL without query or fragment.
 */
export function createWebhookSignatureValidator(
  options: WebhookSignatureOptions,
): WebhookSignatureValidator {
  const problems: string[] = [];
  if (options.authToken.length === 0) problems.push('authToken must not be empty');
  let base = '';
  try {
    const url = new URL(options.publicBaseUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      problems.push(`publicBaseUrl must be http:// or https://, not ${url.protocol}`);
    }
    if (url.search !== '' || url.hash !== '') {
      problems.push('publicBaseUrl must not have a query or fragment');
    }
    base = url.toString().replace(/\/+$/, '');
  } catch {
    problems.push(`publicBaseUrl "${options.publicBaseUrl}" is not an absolute URL`);
  }
  if (problems.length > 0) {
    throw new FsTwilioError(
      'FS_TW_INVALID_OPTIONS',
      `Invalid webhook signature options: ${problems.join('; ')}.`,
    );
  }
  const { authToken } = options;

  function publicUrlFor(pathAndQuery: string): string {
    return base + (pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`);
  }

  return {
    publicUrlFor,
    validate(request) {
      const url = publicUrlFor(request.pathAndQuery);
      const header = request.signature;
      const signature = typeof header === 'string' ? header : header?.[0];
      if (signature === undefined || signature.length === 0) {
        return {
          valid: false,
          url,
          reason: 'missing-signature',
          code: 'FS_TW_SIGNATURE_MISSING',
          message:
            'The request has no X-Twilio-Signature header: only Twilio may call this webhook. ' +
            'See https://www.twilio.com/docs/usage/security#validating-requests',
        };
      }
      // A repeated header is never what Twilio sends: refuse rather than pick one.
      const single = typeof header === 'string' || header?.length === 1;
      if (single && twilio.validateRequest(authToken, signature, url, request.params)) {
        return { valid: true, url };
      }
      return {
        valid: false,
        url,
        reason: 'mismatch',
        code: 'FS_TW_SIGNATURE_MISMATCH',
        message:
          `X-Twilio-Signature does not match ${url} and the form parameters: check that the ` +
          'public base URL is exactly the one configured in Twilio (scheme, host, port, prefix) ' +
          'and that the auth token belongs to the account sending the webhook. ' +
          'See https://www.twilio.com/docs/usage/security#validating-requests',
      };
    },
  };
}
