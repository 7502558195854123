/**
 * @flex-streams/emulator: a local, stateful emulator of Twilio Voice (REST API 2010-04-01, TwiML,
 * conferences, webhooks), Media Streams, and TaskRouter with Flex's voice orchestration, driven by
 * the official `twilio` SDK and a control API. See README.md.
 */
import { startEmulatorWith, type Emulator, type EmulatorOptions } from './emulator.js';
import { createMediaStreamsClient } from './media/client.js';

export type { Emulator, EmulatorOptions, InboundCallInput } from './emulator.js';
export type {
  CallbackTarget,
  ConferenceCallbackTarget,
  EmulatorSettings,
  EmulatorSettingsInput,
} from './control/settings.js';
export {
  CONFERENCE_STATUS_CALLBACK_EVENTS,
  type ConferenceStatusCallbackEvent,
} from './twiml/parse.js';
export type { EmulatorState } from './control/state.js';
export type { EmulatorEvent, EmulatorEventType } from './events.js';
export { ControlError, TwilioApiError, type ControlErrorCode } from './errors.js';
export type {
  AcceptOptions,
  QueuedCallInput,
  TaskRouterModel,
  WorkerInput,
} from './taskrouter/model.js';
export type { TaskRouterState } from './taskrouter/serialize.js';
export type { TaskRouterEventType } from './taskrouter/event-callback.js';
export { emulatorHttpClient } from './http-client.js';
export { twilioSignature } from './webhooks/signature.js';
export * from './audio/index.js';

/**
 * Starts the emulator: the Twilio-shaped REST API (Voice and TaskRouter), the control API under
 * `/_emulator/` and the Media Streams engine. Resolves once it listens; `emulator.url` is `http://127.0.0.1:PORT`.
 */
export function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulatorWith(options, (deps) => createMediaStreamsClient(deps));
}
