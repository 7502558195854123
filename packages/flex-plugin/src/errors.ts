/**
 * The plugin's error catalogue (style §6). These are logged and returned, never thrown into
 * Flex's action pipeline: a plugin error must not block an agent's accept, transfer or wrap-up.
 * The one exception is {@link FLEX_PLUGIN_ERRORS.FS_PLUGIN_ERR_CONFIG}, thrown by
 * `registerFlexStreams` at start-up, before any action runs.
 */
export const FLEX_PLUGIN_ERRORS = {
  /** The controller URL or an option is unusable (thrown at registration). */
  FS_PLUGIN_ERR_CONFIG: 'the plugin configuration is invalid',
  /** The controller answered 4xx: not retried; `serviceCode` carries its `error.code`. */
  FS_PLUGIN_ERR_REFUSED: 'the controller refused the request',
  /** The controller answered 429 or 5xx on every attempt. */
  FS_PLUGIN_ERR_UNAVAILABLE: 'the controller was unavailable on every attempt',
  /** No answer on any attempt: network error or timeout. */
  FS_PLUGIN_ERR_NETWORK: 'the controller could not be reached',
  /** `getToken()` gave no token (or threw). */
  FS_PLUGIN_ERR_NO_TOKEN: 'no Flex token to authenticate with',
  /** The task lacks what the request needs (e.g. `attributes.call_sid`). */
  FS_PLUGIN_ERR_BAD_TASK: 'the task lacks data the request needs',
} as const;

/** A stable code of {@link FLEX_PLUGIN_ERRORS}. */
export type FlexPluginErrorCode = keyof typeof FLEX_PLUGIN_ERRORS;

/** Details of an error answered by the controller. */
export interface FlexPluginErrorDetails {
  /** HTTP status of the last answer, when there was one. */
  readonly status?: number;
  /** The controller's `error.code` (`FS_ERR_…`), when it sent one. */
  readonly serviceCode?: string;
  /** Twilio's error code the controller passed on (`error.twilioCode`). */
  readonly twilioCode?: number;
  /** How many HTTP attempts were made. */
  readonly attempts?: number;
  readonly cause?: unknown;
}

/** An error of the plugin, with a stable code and what the controller said. */
export class FlexPluginError extends Error {
  readonly code: FlexPluginErrorCode;
  readonly status: number | undefined;
  readonly serviceCode: string | undefined;
  readonly twilioCode: number | undefined;
  readonly attempts: number | undefined;

  constructor(code: FlexPluginErrorCode, message: string, details: FlexPluginErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'FlexPluginError';
    this.code = code;
    this.status = details.status;
    this.serviceCode = details.serviceCode;
    this.twilioCode = details.twilioCode;
    this.attempts = details.attempts;
  }
}

/** Type guard for {@link FlexPluginError}. */
export function isFlexPluginError(value: unknown): value is FlexPluginError {
  return value instanceof FlexPluginError;
}
