/**
 * Honest fakes of the core's ports, for unit tests here and in adapter packages
 * (`@flex-streams/core/testing`).
 */
export { createFakeClock, type FakeClock } from './fake-clock.js';
export {
  createFakeVoice,
  makeSid,
  type FakeRequest,
  type FakeStatusEvent,
  type FakeStream,
  type FakeVoice,
} from './fake-voice.js';
export { describeSegmentStoreContract, makeTestSegment } from './store-contract.js';
