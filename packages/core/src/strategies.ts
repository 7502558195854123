/**
 * How a segment's stream is started and stopped on Twilio: the policies behind the `strategy`
 * setting. Both only produce calls on the {@link VoicePort}; the controller decides when.
 * Why `rest` is the default: docs/decisions/0001-rest-streams-by-default.md.
 */
import type { ControllerConfig } from './config.js';
import { createFsError, isFsError, type FsError } from './errors.js';
import type { Segment, SegmentStream, StrategyName } from './model.js';
import type { Clock, Logger, ParticipantSummary, VoicePort } from './ports.js';
import { classifyVoiceError, isVoiceApiError } from './ports.js';
import { withRetry } from './retry.js';
import { buildStartStreamTwiml, buildStopStreamTwiml } from './twiml.js';

/** The ports and settings a strategy works with. */
export interface StrategyDeps {
  voice: VoicePort;
  clock: Clock;
  logger: Logger;
  random: () => number;
  config: ControllerConfig;
}

/** What a successful start reports: the `MZ…` SID when Twilio returned one, and any warnings. */
export interface StartOutcome {
  sid: string | null;
  /** Problems that did not stop the stream (e.g. hold could not be restored). */
  warnings: FsError[];
}

/**
 * A way to start and stop streams. Methods reject with a `VoiceApiError` (after retries) or an
 * `FsError`; the controller records either on the segment. A strategy may fill in
 * `segment.conferenceSid` when it looks the conference up.
 */
export interface StreamStrategy {
  readonly name: StrategyName;
  start(segment: Segment, stream: SegmentStream): Promise<StartOutcome>;
  stop(segment: Segment, stream: SegmentStream): Promise<{ warnings: FsError[] }>;
  /** Before a transfer: make sure the customer leg survives it. */
  prepareTransfer(segment: Segment): Promise<'protected' | 'not-needed'>;
}

/** Picks the strategy named by `deps.config.strategy`. */
export function createStreamStrategy(deps: StrategyDeps): StreamStrategy {
  return deps.config.strategy === 'twiml' ? createTwimlStrategy(deps) : createRestStrategy(deps);
}

/**
 * `rest`: one `Streams.json` create on the chosen leg's call to start, one stop by name to stop
 * (twilio-facts §2). Never touches TwiML, conference flags or hold state, so the customer never
 * leaves the conference.
 */
export function createRestStrategy(deps: StrategyDeps): StreamStrategy {
  const { voice, config } = deps;
  return {
    name: 'rest',
    async start(_segment, stream) {
      const created = await withRetry(deps, config.retry, 'create stream', () =>
        voice.createStream(stream.callSid, {
          url: config.streamUrl,
          name: stream.name,
          track: stream.track,
          ...(config.statusCallbackUrl === null
            ? {}
            : { statusCallback: config.statusCallbackUrl }),
          parameters: stream.parameters,
        }),
      );
      return { sid: created.sid, warnings: [] };
    },
    async stop(_segment, stream) {
      // Stop by name: the path accepts "SID or the name of the Stream resource" (twilio-facts §2).
      await withRetry(deps, config.retry, 'stop stream', () =>
        voice.stopStream(stream.callSid, stream.name),
      );
      return { warnings: [] };
    },
    prepareTransfer() {
      return Promise.resolve('not-needed');
    },
  };
}

/**
 * `twiml`: the seed's recipe (twilio-facts appendix), customer leg only. Each start or stop reads
 * the task's conference once (ListParticipant: who is in it, the customer's hold and
 * endConferenceOnExit), protects the customer (endConferenceOnExit=false, verified from Twilio's
 * answer or read back, bounded), redirects the customer with `<Start>`/`<Stop><Stream>` +
 * `<Dial><Conference>` back into the task's conference, then re-holds the customer if they were
 * held (a re-join clears hold, twilio-facts §4). It never redirects a customer who is alone in the
 * conference: leaving would empty and end it (see `start` and `stop`).
 */
export function createTwimlStrategy(deps: StrategyDeps): StreamStrategy {
  const { voice, config, clock, logger } = deps;
  const retry = <T>(label: string, op: () => Promise<T>): Promise<T> =>
    withRetry(deps, config.retry, label, op);

  async function conferenceOf(segment: Segment): Promise<string> {
    if (segment.conferenceSid !== null) return segment.conferenceSid;
    // Flex names the conference after the task (twilio-facts §3, §4).
    const found = await retry('find conference', () =>
      voice.findInProgressConference(segment.taskSid),
    );
    if (found === null) {
      throw createFsError(
        'FS_ERR_CONFERENCE_NOT_FOUND',
        `no in-progress conference named ${segment.taskSid}: the customer leg cannot be protected, so it is not redirected`,
      );
    }
    segment.conferenceSid = found;
    return found;
  }

  /**
   * The customer's place in the task's conference, from one ListParticipant: the customer's own
   * participant and how many others are in it. A conference known from earlier that lists nobody
   * has ended; it is forgotten so the next look finds the task's conference again.
   * @throws {FsError} `FS_ERR_CONFERENCE_NOT_FOUND` when the customer is not in it.
   */
  async function locate(segment: Segment): Promise<Place> {
    const conferenceSid = await conferenceOf(segment);
    const participants = await retry('list participants', () =>
      voice.listParticipants(conferenceSid),
    );
    if (participants.length === 0) segment.conferenceSid = null;
    const customer = participants.find((p) => p.callSid === segment.customerCallSid);
    if (customer === undefined) {
      throw createFsError(
        'FS_ERR_CONFERENCE_NOT_FOUND',
        `customer ${segment.customerCallSid} is not a participant of conference ${conferenceSid}; not redirecting`,
      );
    }
    return { conferenceSid, customer, others: participants.length - 1 };
  }

  /**
   * Waits, bounded by `protect.maxPolls` × `protect.pollIntervalMs`, for the customer to be in the
   * task's conference, and with `withAgent` for someone else to be in it too. TaskRouter may report
   * a reservation accepted before Flex has bridged the customer in, or before the accepting agent's
   * leg has joined (a cold or queue transfer, where the customer waits alone; the real order is
   * UNCONFIRMED). Never redirects a customer who is not in it: that would pull them out of the queue.
   * @throws {FsError} `FS_ERR_CONFERENCE_NOT_FOUND`, or `FS_ERR_CUSTOMER_ALONE` with `withAgent`.
   */
  async function waitForPlace(segment: Segment, withAgent: boolean): Promise<Place> {
    for (let poll = 0; ; poll += 1) {
      let place: Place | null = null;
      try {
        place = await locate(segment);
      } catch (error) {
        if (!isFsError(error, 'FS_ERR_CONFERENCE_NOT_FOUND') || poll >= config.protect.maxPolls) {
          throw error;
        }
      }
      if (place !== null && (!withAgent || place.others > 0)) return place;
      if (place !== null && poll >= config.protect.maxPolls) {
        throw createFsError(
          'FS_ERR_CUSTOMER_ALONE',
          `customer ${segment.customerCallSid} is alone in conference ${place.conferenceSid}: redirecting them would end it, so the stream waits for the agent's leg to join`,
        );
      }
      await clock.sleep(config.protect.pollIntervalMs);
    }
  }

  /**
   * Makes sure the customer's leaving cannot end the conference: endConferenceOnExit=false, taken
   * as verified when Twilio's answer to the update reads false, otherwise read back until it does
   * (bounded). A participant update is not guaranteed to be visible at once (twilio-facts §4,
   * seed), so a customer whose flag still reads true is never redirected. A participant not found
   * (20404) means the customer left the conference meanwhile, not that the call ended.
   */
  async function protect(place: Place): Promise<void> {
    if (!place.customer.endConferenceOnExit) return;
    const { conferenceSid } = place;
    const callSid = place.customer.callSid;
    try {
      const updated = await retry('update participant', () =>
        voice.updateParticipant(conferenceSid, callSid, { endConferenceOnExit: false }),
      );
      if (!updated.endConferenceOnExit) return;
      for (let poll = 1; poll <= config.protect.maxPolls; poll += 1) {
        await clock.sleep(config.protect.pollIntervalMs);
        const read = await retry('fetch participant', () =>
          voice.fetchParticipant(conferenceSid, callSid),
        );
        if (!read.endConferenceOnExit) return;
      }
    } catch (error) {
      if (isVoiceApiError(error) && error.code === 20404) {
        throw createFsError(
          'FS_ERR_CONFERENCE_NOT_FOUND',
          `customer ${callSid} is not a participant of conference ${conferenceSid}; not redirecting`,
          error,
        );
      }
      throw error;
    }
    throw createFsError(
      'FS_ERR_PROTECT_UNVERIFIED',
      `customer ${callSid} still reads endConferenceOnExit=true after ${config.protect.maxPolls} polls; not redirecting, as leaving would end conference ${conferenceSid}`,
    );
  }

  /** Re-holds the customer once they are back in the conference; a warning if that fails. */
  async function rehold(conferenceSid: string, callSid: string): Promise<FsError[]> {
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= config.protect.maxPolls; attempt += 1) {
      try {
        await retry('hold participant', () =>
          voice.updateParticipant(conferenceSid, callSid, { hold: true }),
        );
        return [];
      } catch (error) {
        lastError = error;
        // 20404: not back in the conference yet (the re-join is asynchronous); anything else stops.
        if (!(isVoiceApiError(error) && error.code === 20404)) break;
        await clock.sleep(config.protect.pollIntervalMs);
      }
    }
    logger.error(
      { callSid, conferenceSid, kind: classifyVoiceError(lastError) },
      'could not restore hold on the customer after redirecting them; the agent must hold again',
    );
    return [
      createFsError(
        'FS_ERR_TWILIO_REJECTED',
        `customer ${callSid} was on hold before the redirect and could not be held again`,
        lastError,
      ),
    ];
  }

  async function redirect(segment: Segment, place: Place, twiml: string): Promise<FsError[]> {
    await protect(place);
    const callSid = segment.customerCallSid;
    await retry('redirect call', () => voice.updateCallTwiml(callSid, twiml));
    return place.customer.hold ? rehold(place.conferenceSid, callSid) : [];
  }

  return {
    name: 'twiml',
    async start(segment, stream) {
      // Built first: TwiML over Twilio's limit fails before anything is asked of Twilio.
      const twiml = buildStartStreamTwiml({
        taskSid: segment.taskSid,
        name: stream.name,
        url: config.streamUrl,
        track: stream.track,
        statusCallback: config.statusCallbackUrl,
        parameters: stream.parameters,
      });
      const place = await waitForPlace(segment, true);
      // TwiML gives no stream SID back: it arrives with the stream-started callback.
      return { sid: null, warnings: await redirect(segment, place, twiml) };
    },
    async stop(segment, stream) {
      let place: Place | null = null;
      try {
        place = await locate(segment);
      } catch (error) {
        if (!isFsError(error, 'FS_ERR_CONFERENCE_NOT_FOUND')) throw error;
      }
      if (place === null || place.others === 0) {
        // Redirecting a customer who is alone in the conference would empty it: it ends
        // (last-participant-left, twilio-facts §4) and a transfer waiting for its target goes
        // with it; one who is not in it would be pulled out of wherever they are. A REST stop by
        // name stops a `<Start><Stream>` stream just as well (facts §2) without touching the
        // customer, so that is the one place this strategy uses it.
        await retry('stop stream', () => voice.stopStream(stream.callSid, stream.name));
        return { warnings: [] };
      }
      const twiml = buildStopStreamTwiml({ taskSid: segment.taskSid, name: stream.name });
      try {
        return { warnings: await redirect(segment, place, twiml) };
      } catch (error) {
        // The customer left the conference between the list and the protection (hung up, or
        // moved elsewhere): not redirected, so the stream is stopped by name instead. A stop
        // always stops (no stream outlives its segment).
        if (!isFsError(error, 'FS_ERR_CONFERENCE_NOT_FOUND')) throw error;
        await retry('stop stream', () => voice.stopStream(stream.callSid, stream.name));
        return { warnings: [] };
      }
    },
    async prepareTransfer(segment) {
      await protect(await waitForPlace(segment, false));
      return 'protected';
    },
  };
}

/** Where the customer is: the task's conference, their participant, how many others are in it. */
interface Place {
  conferenceSid: string;
  customer: ParticipantSummary;
  others: number;
}
