/**
 * @flex-streams/e2e: the emulator, the controller service and the receiver wired together, the
 * scenarios of issue 6 run on them, and their verification from recordings and the emulator's log.
 * See README.md.
 */
export {
  startStack,
  type Driver,
  type Leg,
  type Stack,
  type StackOptions,
  type Strategy,
} from './stack.js';
export { AGENTS, type AgentName, type ScenarioContext } from './context.js';
export { SCENARIOS, findScenario, type Scenario } from './scenarios.js';
export {
  defaultDriver,
  runScenario,
  validateCombination,
  type RunOptions,
  type ScenarioResult,
  type SegmentSummary,
} from './run.js';
export {
  countDisruptions,
  countRequests,
  holdIntervals,
  measureStreamEdges,
  STREAM_TIMING_MS,
  verify,
  WINDOW_TOLERANCE_MS,
  type Check,
  type Evidence,
  type RecordingInfo,
  type StreamEdge,
} from './verify.js';
export { E2E_ERRORS, E2eError, isE2eError, type E2eErrorCode } from './errors.js';
