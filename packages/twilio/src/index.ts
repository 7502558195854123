/**
 * `@flex-streams/twilio`: the adapters from the flex-streams core to real Twilio — the SDK client
 * factory, the `VoicePort` over the SDK, webhook signature validation and Flex token validation.
 * See README.md.
 */
export {
  captureResponses,
  createTwilioClient,
  DEFAULT_TWILIO_TIMEOUT_MS,
  type ApiKeyCredentials,
  type AuthTokenCredentials,
  type CapturedResponse,
  type TwilioClientOptions,
  type TwilioCredentials,
} from './client.js';
export { FS_TW_ERRORS, FsTwilioError, isFsTwilioError, type FsTwilioErrorCode } from './errors.js';
export {
  createFlexTokenValidator,
  createHttpFlexTokenValidator,
  DEFAULT_FLEX_TOKEN_TIMEOUT_MS,
  FlexTokenError,
  isFlexTokenError,
  parseFlexTokenAnswer,
  type FlexTokenCredentials,
  type FlexTokenFailure,
  type FlexTokenIdentity,
  type FlexTokenValidator,
  type FlexTokenValidatorFunction,
  type FlexTokenValidatorOptions,
  type HttpFlexTokenValidatorOptions,
} from './flex-token.js';
export { parseRetryAfterMs } from './retry-after.js';
export {
  createTwilioVoicePort,
  MAX_STREAM_PARAMETERS,
  toVoiceApiError,
  type TwilioVoicePortOptions,
} from './voice-port.js';
export {
  createTwilioTaskRouterPort,
  discoverFlexWorkspace,
  FLEX_WORKSPACE_NAME,
  type TwilioTaskRouterPortOptions,
} from './taskrouter-port.js';
export {
  createWebhookSignatureValidator,
  type WebhookParams,
  type WebhookRejectReason,
  type WebhookRequest,
  type WebhookSignatureOptions,
  type WebhookSignatureValidator,
  type WebhookValidation,
} from './webhook-signature.js';
