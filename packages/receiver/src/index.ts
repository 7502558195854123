/**
 * @flex-streams/receiver: a Twilio Media Streams WebSocket receiver that records every stream to
 * a WAV file with a JSON sidecar. See README.md.
 */
export { startReceiver, type Receiver } from './receiver.js';
export {
  receiverOptionsSchema,
  type ReceiverOptions,
  type ResolvedReceiverOptions,
} from './options.js';
export {
  RECEIVER_ERRORS,
  ReceiverError,
  isReceiverError,
  type ReceiverErrorCode,
} from './errors.js';
export type {
  AnomalyEvent,
  LevelEvent,
  ReceiverEventMap,
  ReceiverEvents,
  RejectedEvent,
  StreamStartedEvent,
  StreamStoppedEvent,
} from './events.js';
export type { Anomalies, EndReason, Sidecar } from './sidecar.js';
export type { Gap, TrackLevel } from './timeline.js';
export type { Overflow } from './writer.js';
export type { RecordingFile, RecordingStorage } from './storage.js';
export { fileSystemStorage } from './storage.js';
export { repairRecordings, type RepairedRecording } from './repair.js';
export { parseMessage, type InboundMessage, type Track } from './messages.js';
export { WAV_HEADER_BYTES, readWavHeader, type WavHeaderInfo } from './wav.js';
