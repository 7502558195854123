/**
 * How a segment's stream is started and stopped on Twilio: the policies behind the `strategy`
 * setting. Both only produce calls on the {@link VoicePort}; the controller decides when.
 * Why `rest` is the default: docs/decisions/0001-rest-streams-by-default.md.
 */
import type { ControllerConfig } from './config.js';
import { createFsError, isFsError, type FsError } from './errors.js';
import type { Segment, SegmentStream, StrategyName } from './model.js';
import type { Clock, Logger, VoicePort } from './ports.js';
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
 * `twiml`: the seed's recipe (twilio-facts appendix), customer leg only. Each start or stop:
 * protect the customer participant (endConferenceOnExit=false, read back until false, bounded),
 * redirect the customer with `<Start>`/`<Stop><Stream>` + `<Dial><Conference>` back into the task's
 * conference, then re-hold the customer if they were held (a re-join clears hold, twilio-facts §4).
 * A stop while the customer is alone in the conference is a REST stop by name instead (see `stop`).
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
   * Sets and verifies endConferenceOnExit=false; returns whether the customer was on hold. A
   * participant that is not found (20404) means the customer is not in the conference right now,
   * not that the call ended: it is reported as FS_ERR_CONFERENCE_NOT_FOUND and nothing is redirected.
   */
  async function protect(conferenceSid: string, callSid: string): Promise<boolean> {
    try {
      return await protectParticipant(conferenceSid, callSid);
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
  }

  async function protectParticipant(conferenceSid: string, callSid: string): Promise<boolean> {
    let participant = await retry('fetch participant', () =>
      voice.fetchParticipant(conferenceSid, callSid),
    );
    const wasHeld = participant.hold;
    if (!participant.endConferenceOnExit) return wasHeld;
    await retry('update participant', () =>
      voice.updateParticipant(conferenceSid, callSid, { endConferenceOnExit: false }),
    );
    // A participant update is not guaranteed to be visible at once (twilio-facts §4, seed):
    // read it back, bounded, and never redirect a customer whose leaving would end the conference.
    for (let poll = 1; poll <= config.protect.maxPolls; poll += 1) {
      participant = await retry('fetch participant', () =>
        voice.fetchParticipant(conferenceSid, callSid),
      );
      if (!participant.endConferenceOnExit) return wasHeld;
      await clock.sleep(config.protect.pollIntervalMs);
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

  /**
   * Finds the task's conference and protects the customer in it. TaskRouter may report the
   * reservation accepted before Flex has moved the customer from the queue into the conference,
   * so a conference or participant not found yet is read again, bounded by the same polls as the
   * protection (`protect.maxPolls` × `protect.pollIntervalMs`). Never redirects a customer who is
   * not in it: that would pull them out of the queue.
   */
  async function protectWhenJoined(
    segment: Segment,
  ): Promise<{ conferenceSid: string; wasHeld: boolean }> {
    for (let poll = 0; ; poll += 1) {
      try {
        const conferenceSid = await conferenceOf(segment);
        return { conferenceSid, wasHeld: await protect(conferenceSid, segment.customerCallSid) };
      } catch (error) {
        if (!isFsError(error, 'FS_ERR_CONFERENCE_NOT_FOUND') || poll >= config.protect.maxPolls) {
          throw error;
        }
        await clock.sleep(config.protect.pollIntervalMs);
      }
    }
  }

  /**
   * True when the customer is the only participant left in the task's conference (a cold transfer
   * or a queue transfer waiting for its target, or the last agent gone). Not finding the conference
   * is left to `redirect`, which reports it as before.
   */
  async function customerIsAlone(segment: Segment): Promise<boolean> {
    let conferenceSid: string;
    try {
      conferenceSid = await conferenceOf(segment);
    } catch (error) {
      if (isFsError(error, 'FS_ERR_CONFERENCE_NOT_FOUND')) return false;
      throw error;
    }
    const participants = await retry('list participants', () =>
      voice.listParticipants(conferenceSid),
    );
    return participants.every((p) => p.callSid === segment.customerCallSid);
  }

  async function redirect(segment: Segment, twiml: string): Promise<FsError[]> {
    const callSid = segment.customerCallSid;
    const { conferenceSid, wasHeld } = await protectWhenJoined(segment);
    await retry('redirect call', () => voice.updateCallTwiml(callSid, twiml));
    return wasHeld ? rehold(conferenceSid, callSid) : [];
  }

  return {
    name: 'twiml',
    async start(segment, stream) {
      const twiml = buildStartStreamTwiml({
        taskSid: segment.taskSid,
        name: stream.name,
        url: config.streamUrl,
        track: stream.track,
        statusCallback: config.statusCallbackUrl,
        parameters: stream.parameters,
      });
      // TwiML gives no stream SID back: it arrives with the stream-started callback.
      return { sid: null, warnings: await redirect(segment, twiml) };
    },
    async stop(segment, stream) {
      if (await customerIsAlone(segment)) {
        // Redirecting a customer who is alone in the conference would empty it: it ends
        // (last-participant-left, twilio-facts §4) and a transfer waiting for its target goes
        // with it. A REST stop by name stops a `<Start><Stream>` stream just as well (facts §2)
        // without touching the customer, so that is the one place this strategy uses it.
        await retry('stop stream', () => voice.stopStream(stream.callSid, stream.name));
        return { warnings: [] };
      }
      const twiml = buildStopStreamTwiml({ taskSid: segment.taskSid, name: stream.name });
      return { warnings: await redirect(segment, twiml) };
    },
    async prepareTransfer(segment) {
      await protectWhenJoined(segment);
      return 'protected';
    },
  };
}
