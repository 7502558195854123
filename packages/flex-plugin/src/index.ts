/**
 * @flex-streams/flex-plugin: the Flex UI 2.x plugin's logic, independent of `@twilio/flex-ui`.
 * See README.md.
 */
export {
  CONFERENCE_STATUS_PATH,
  createControllerClient,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_MS,
  normaliseControllerUrl,
  PLUGIN_API_PATH,
  type ControllerClient,
  type ControllerClientOptions,
  type PluginAction,
  type PluginCallResult,
  type RetryOptions,
} from './client.js';
export {
  FLEX_PLUGIN_ERRORS,
  FlexPluginError,
  isFlexPluginError,
  type FlexPluginErrorCode,
  type FlexPluginErrorDetails,
} from './errors.js';
export type {
  AcceptTaskPayload,
  FlexActionListener,
  FlexActions,
  FlexConference,
  FlexConferenceOptions,
  FlexConferenceParticipant,
  FlexTask,
  FlexTaskTransfer,
  TaskActionPayload,
  TransferTaskPayload,
} from './flex-types.js';
export { createConsoleLogger, type PluginLogger } from './logger.js';
export {
  applyConferenceOptions,
  CONFERENCE_EVENTS,
  conferenceSidOf,
  isVoiceTask,
  registerFlexStreams,
  startBodyOf,
  workerCallSidOf,
  type FlexStreamsDeps,
  type FlexStreamsHandle,
} from './register.js';
export {
  controllerUrlFromConfiguration,
  FlexStreamsPlugin,
  type FlexLike,
  type FlexManagerLike,
  type FlexStreamsPluginOptions,
} from './plugin.js';
