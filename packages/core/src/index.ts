/**
 * `@flex-streams/core`: segments, streams, strategies and use cases of flex-streams. Plain
 * TypeScript that receives its ports; no I/O. See README.md.
 */
export {
  createControllerConfig,
  CONTROLLER_DEFAULTS,
  type ControllerConfig,
  type ControllerConfigInput,
  type RetryPolicy,
} from './config.js';
export {
  createStreamController,
  FINAL_CALL_STATUSES,
  isSid,
  type CallStatusInput,
  type ConferenceEventInput,
  type ControllerDeps,
  type PauseInput,
  type PrepareTransferInput,
  type ReservationAcceptedInput,
  type ReservationEndEvent,
  type ReservationEndedInput,
  type StreamController,
  type StreamStatusInput,
  type TaskEndedInput,
  type UseCaseOutcome,
  type UseCaseResult,
  type WorkerLegEndedInput,
} from './controller.js';
export {
  applyCommand,
  parseCallStatusCallback,
  parseConferenceStatusCallback,
  parseStreamStatusCallback,
  parseTaskRouterEvent,
  type ControllerCommand,
  type WebhookForm,
} from './events.js';
export { createFsError, FsError, FS_ERRORS, isFsError, type FsErrorCode } from './errors.js';
export { createMemorySegmentStore } from './memory-store.js';
export {
  currentStream,
  isSegmentLive,
  isStreamLive,
  pauseLifecycle,
  segmentLifecycle,
  streamLifecycle,
  tracksUsedBy,
  type DeferralKind,
  type Leg,
  type PauseState,
  type RecordedError,
  type Segment,
  type SegmentEndReason,
  type SegmentPause,
  type SegmentState,
  type SegmentStream,
  type StrategyName,
  type StreamState,
  type StreamStopReason,
  type StreamTrack,
  type TransferMode,
} from './model.js';
export {
  parseStreamName,
  STREAM_PARAMETER_KEYS,
  streamNameFor,
  streamParametersFor,
} from './naming.js';
export {
  classifyVoiceError,
  isVoiceApiError,
  VoiceApiError,
  type CallStatus,
  type Clock,
  type CreateStreamRequest,
  type IdGenerator,
  type Logger,
  type ParticipantResource,
  type ParticipantSummary,
  type ReservationResource,
  type SegmentStore,
  type TaskRouterPort,
  type StreamResource,
  type VoiceErrorKind,
  type VoicePort,
} from './ports.js';
export { backoffDelayMs, withRetry, type RetryDeps } from './retry.js';
export {
  conferenceOfAttributes,
  DEFAULT_WORKER_LEG_POLICY,
  resolveWorkerCallSid,
  type WorkerLegDeps,
  type WorkerLegPolicy,
  type WorkerLegQuery,
} from './worker-leg.js';
export { createKeyedSerializer, type KeyedSerializer } from './serialize.js';
export {
  createRestStrategy,
  createStreamStrategy,
  createTwimlStrategy,
  type StartOutcome,
  type StrategyDeps,
  type StreamStrategy,
} from './strategies.js';
export { createSegmentIdGenerator, createSystemClock } from './system.js';
export { createStateMachine, type StateMachine, type TransitionTable } from './state-machine.js';
export {
  buildStartStreamTwiml,
  buildStopStreamTwiml,
  escapeXml,
  MAX_INLINE_TWIML_CHARS,
  type StartStreamTwimlInput,
} from './twiml.js';
