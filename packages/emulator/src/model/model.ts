import type { Logger } from 'pino';
import { twilioErrors, type TwilioApiError } from '../errors.js';
import type { EventLog } from '../events.js';
import type {
  CallAudioSource,
  Clock,
  MediaStreamsClient,
  MediaStreamsListener,
  Sound,
  StreamTrack,
} from '../media/ports.js';
import type { HttpMethod, StreamTrackParam } from '../twiml/parse.js';
import type { WebhookSender } from '../webhooks/sender.js';
import { newSid, rfc2822 } from './ids.js';
import {
  CALL_TRANSITIONS,
  CONFERENCE_TRANSITIONS,
  PARTICIPANT_TRANSITIONS,
  STREAM_TRANSITIONS,
  transition,
  type CallStatus,
} from './lifecycle.js';
import type {
  AudioCatalog,
  CallProgressEvent,
  CallRecord,
  CallStatusCallback,
  ConferenceRecord,
  JoinOptions,
  ParticipantRecord,
  StreamRecord,
  Tone,
  TwimlSource,
} from './records.js';
import { runProgram } from './runner.js';

/** The most forked tracks one call may carry (twilio-facts §2, older `<Stream>` docs warning box). */
export const MAX_FORKED_TRACKS = 4;

/**
 * The status callback of a phone number ("Call status changes" in the console): the call's final
 * status only (`completed`, `busy`, `failed`, `no-answer`, `canceled`), with the same fields as a
 * call's own status callback. UNCONFIRMED (emulator choice): that a number-level callback sends
 * the final status only, and that it carries `CallbackSource=call-progress-events` like the
 * Calls API's.
 */
export function numberStatusCallback(target: {
  readonly url: string;
  readonly method: HttpMethod;
}): CallStatusCallback {
  return { url: target.url, method: target.method, events: ['completed'] };
}

/**
 * Why a participant left, in the event log and `ReasonParticipantLeft` (Twilio changelog,
 * 25 Oct 2023; facts §4). UNCONFIRMED: the exact value spellings; the field is documented, its
 * values are not in the facts.
 */
export type LeaveReason =
  'participant_hung_up' | 'participant_updated_via_api' | 'participant_kicked' | 'conference_ended';

/** Input of a new stream, from REST or `<Start><Stream>`. */
export interface StreamInput {
  readonly url: string;
  readonly name: string | null;
  readonly track: StreamTrackParam;
  readonly statusCallback: { readonly url: string; readonly method: HttpMethod } | null;
  readonly parameters: Readonly<Record<string, string>>;
  readonly via: 'rest' | 'twiml';
}

/** Ports of the model, passed in (style: domain logic gets its ports as arguments). */
export interface ModelDeps {
  readonly accountSid: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventLog;
  readonly audio: AudioCatalog;
  readonly webhooks: WebhookSender;
  readonly createMediaClient: (
    listener: MediaStreamsListener,
    audio: CallAudioSource,
  ) => MediaStreamsClient;
}

const TRACKS: Readonly<Record<StreamTrackParam, readonly StreamTrack[]>> = {
  inbound_track: ['inbound'],
  outbound_track: ['outbound'],
  both_tracks: ['inbound', 'outbound'],
};

/**
 * The stateful Voice model: calls, conferences, participants and streams, with Twilio's rules.
 * HTTP handlers call one verb of it each; the TwiML runner drives it for calls.
 */
export class CallModel implements CallAudioSource, MediaStreamsListener {
  readonly calls = new Map<string, CallRecord>();
  readonly conferences = new Map<string, ConferenceRecord>();
  readonly streams = new Map<string, StreamRecord>();
  readonly deps: ModelDeps;
  readonly media: MediaStreamsClient;
  /** Which party speaks with each frequency, in the order the voices were given. */
  readonly #voiceOwners = new Map<number, string[]>();
  #voiceWraps = 0;
  #closed = false;

  constructor(deps: ModelDeps) {
    this.deps = deps;
    this.media = deps.createMediaClient(this, this);
  }

  // ---------------------------------------------------------------- voices

  /**
   * Gives the party `partySid` (a call or a TaskRouter worker) its voice: `explicitHz` when given,
   * else the first voice of the table no party has yet. One allocator for every party of the
   * emulator, so a customer never sounds like an agent (style guide §11). An agent's own call leg
   * passes its worker's voice as `explicitHz` and so takes no new voice. Once every table voice is
   * taken, voices are reused in table order and each reuse is logged (pino `warn` and a
   * `voice.reused` event naming who already speaks with it): never silent.
   */
  allocateVoice(partySid: string, explicitHz?: number): Tone {
    const gain = this.deps.audio.partyVoice(0).gain;
    if (explicitHz !== undefined) {
      this.#ownVoice(explicitHz, partySid);
      return { frequencyHz: explicitHz, gain };
    }
    const table = this.deps.audio.distinctVoices;
    for (let n = 0; n < table; n++) {
      const voice = this.deps.audio.partyVoice(n);
      if (!this.#voiceOwners.has(voice.frequencyHz)) {
        this.#ownVoice(voice.frequencyHz, partySid);
        return voice;
      }
    }
    const voice = this.deps.audio.partyVoice(this.#voiceWraps++ % table);
    const sharedWith = [...(this.#voiceOwners.get(voice.frequencyHz) ?? [])];
    this.#ownVoice(voice.frequencyHz, partySid);
    const message = `all ${table} distinct party voices are taken: ${partySid} shares ${voice.frequencyHz} Hz with ${sharedWith.join(', ')}; audio checks cannot tell these parties apart (use fewer parties per emulator, or give voiceHz)`;
    this.deps.logger.warn({ partySid, frequencyHz: voice.frequencyHz, sharedWith }, message);
    this.deps.events.append('voice.reused', {
      party: partySid,
      frequencyHz: voice.frequencyHz,
      sharedWith,
    });
    return voice;
  }

  #ownVoice(frequencyHz: number, partySid: string): void {
    const owners = this.#voiceOwners.get(frequencyHz);
    if (owners === undefined) this.#voiceOwners.set(frequencyHz, [partySid]);
    else if (!owners.includes(partySid)) owners.push(partySid);
  }

  // ---------------------------------------------------------------- calls

  /** Creates a call and answers it on the next tick, then runs `source`. */
  createCall(input: {
    from: string;
    to: string;
    direction: 'inbound' | 'outbound-api';
    source: TwimlSource;
    voiceHz?: number;
    statusCallback?: CallStatusCallback | null;
  }): CallRecord {
    const call = this.#newCall(input);
    setImmediate(() => {
      this.#guard(call, () => {
        if (this.#closed) return;
        if (call.status === 'queued') this.#setStatus(call, 'ringing');
        if (call.status !== 'ringing') return;
        // An API-created call is answered by its callee, then fetches its TwiML (in-progress); an
        // inbound call fetches its TwiML while ringing and is answered by it (see the runner).
        if (call.direction === 'outbound-api') this.answer(call);
        this.startProgram(call, input.source);
      });
    });
    return call;
  }

  /**
   * The Participants API's outbound call: the callee answers at once and joins the conference;
   * the call ends when it leaves (it has no TwiML after its `<Dial>`).
   */
  createCallAnswered(input: {
    from: string;
    to: string;
    options: JoinOptions;
    voiceHz?: number;
  }): CallRecord {
    const call = this.#newCall({ ...input, direction: 'outbound-api' });
    this.#setStatus(call, 'ringing');
    this.answer(call);
    this.joinConference(call, input.options);
    this.startProgram(call, {
      kind: 'verbs',
      verbs: [{ verb: 'Dial', conference: input.options }],
    });
    return call;
  }

  #newCall(input: {
    from: string;
    to: string;
    direction: 'inbound' | 'outbound-api';
    voiceHz?: number;
    statusCallback?: CallStatusCallback | null;
  }): CallRecord {
    const now = new Date();
    const sid = newSid('CA');
    const voice = this.allocateVoice(sid, input.voiceHz);
    const call: CallRecord = {
      sid,
      accountSid: this.deps.accountSid,
      from: input.from,
      to: input.to,
      direction: input.direction,
      status: input.direction === 'inbound' ? 'ringing' : 'queued',
      voice,
      dateCreated: now,
      dateUpdated: now,
      startTime: null,
      endTime: null,
      statusCallback: input.statusCallback ?? null,
      callbacksSent: 0,
      documentUrl: null,
      run: null,
      wake: null,
      activity: { kind: 'idle' },
    };
    this.calls.set(call.sid, call);
    this.deps.events.append('call.created', {
      callSid: call.sid,
      direction: call.direction,
      from: call.from,
      to: call.to,
      voiceHz: voice.frequencyHz,
      status: call.status,
    });
    if (call.direction === 'outbound-api') this.#callProgress(call, 'initiated');
    return call;
  }

  /** Marks a ringing or queued call answered (in-progress). */
  answer(call: CallRecord): void {
    this.#setStatus(call, 'in-progress');
    call.startTime = new Date();
  }

  /** Starts a new TwiML program on `call`; any previous program stops at its next step. */
  startProgram(call: CallRecord, source: TwimlSource): void {
    const token = Symbol(call.sid);
    call.run = token;
    this.#interrupt(call);
    runProgram(this, call, token, source).catch((error: unknown) => {
      this.deps.logger.error({ err: error, callSid: call.sid }, 'TwiML program crashed');
      this.#guard(call, () => {
        if (call.status === 'in-progress') this.endCall(call, 'completed');
      });
    });
  }

  /**
   * `POST Calls/{Sid}` with `Twiml` or `Url`: the call leaves its conference or queue (Twilio's
   * participant resource: a call updated with new TwiML is no longer a participant) and runs the
   * new TwiML. Only an in-progress call can be redirected (21220).
   */
  redirectCall(call: CallRecord, source: TwimlSource): void {
    if (call.status !== 'in-progress') throw twilioErrors.callNotInProgress();
    // Streams are left alone: unidirectional streams outlive TwiML redirects (facts §3, [2ND]:
    // not stated in the docs that were read; the jmadden Flex example relies on it).
    // A held participant who leaves and rejoins comes back unheld (facts §4, [2ND]): the rejoin
    // creates a new participant record.
    call.run = null;
    this.leaveConference(call, 'participant_updated_via_api');
    call.activity = { kind: 'idle' };
    this.startProgram(call, source);
  }

  /** Ends a call: it leaves its conference, its streams stop, its program ends. Idempotent. */
  endCall(call: CallRecord, status: 'completed' | 'canceled' | 'failed' = 'completed'): void {
    if (!['queued', 'ringing', 'in-progress'].includes(call.status)) return;
    // A call hung up before it was answered is canceled; one in progress is completed
    // (https://www.twilio.com/docs/voice/api/call-resource#call-status-values).
    const answered = call.status === 'in-progress';
    const target: CallStatus = status === 'failed' ? 'failed' : answered ? 'completed' : 'canceled';
    call.run = null;
    // The participant-leave callback reports the status the call ends with (facts §4:
    // `ParticipantCallStatus`), not the `in-progress` it still has while leaving.
    this.leaveConference(call, 'participant_hung_up', target);
    call.activity = { kind: 'idle' };
    call.endTime = new Date();
    this.#setStatus(call, target);
    this.#interrupt(call);
    for (const stream of this.streams.values()) {
      if (stream.callSid === call.sid && isActive(stream)) this.#stopStream(stream, 'call-ended');
    }
  }

  /**
   * The call status callback for a progress event, if the call asked for it (`StatusCallbackEvent`,
   * default `completed`: https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent).
   */
  #callProgress(call: CallRecord, event: CallProgressEvent): void {
    const callback = call.statusCallback;
    if (callback?.events.includes(event) !== true) return;
    call.callbacksSent += 1;
    const duration = durationOf(call);
    void this.deps.webhooks.send({
      url: callback.url,
      method: callback.method,
      purpose: 'call-status',
      callSid: call.sid,
      params: {
        ...this.callParams(call),
        CallbackSource: 'call-progress-events',
        SequenceNumber: String(call.callbacksSent - 1),
        Timestamp: rfc2822(new Date()),
        ...(event === 'completed' ? { CallDuration: String(duration ?? 0) } : {}),
      },
    });
  }

  /** The standard parameters of a voice webhook (https://www.twilio.com/docs/voice/twiml#request-parameters). */
  callParams(call: CallRecord): Record<string, string> {
    return {
      AccountSid: call.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: call.status,
      Direction: call.direction,
      From: call.from,
      To: call.to,
      Caller: call.from,
      Called: call.to,
    };
  }

  /** Waits until `ms` pass (null: forever) or the call's program is interrupted. */
  wait(call: CallRecord, ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer !== null) clearTimeout(timer);
        if (call.wake === done) call.wake = null;
        resolve();
      };
      const timer = ms === null ? null : setTimeout(done, ms);
      call.wake = done;
    });
  }

  #interrupt(call: CallRecord): void {
    const wake = call.wake;
    call.wake = null;
    wake?.();
  }

  #setStatus(call: CallRecord, to: CallStatus): void {
    const from = call.status;
    call.status = transition(`call ${call.sid}`, CALL_TRANSITIONS, from, to);
    call.dateUpdated = new Date();
    this.deps.events.append('call.status', { callSid: call.sid, previous: from, status: to });
    const progress: CallProgressEvent =
      to === 'ringing'
        ? 'ringing'
        : to === 'in-progress'
          ? 'answered'
          : to === 'queued'
            ? 'initiated'
            : 'completed';
    this.#callProgress(call, progress);
  }

  /** Runs `fn`; an unexpected throw is logged and never escapes into a timer. */
  #guard(call: CallRecord | null, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.deps.logger.error({ err: error, callSid: call?.sid }, 'emulator fault');
    }
  }

  // ---------------------------------------------------------------- conferences

  /** The running (not completed) conference with this friendly name, if any. */
  liveConferenceByName(name: string): ConferenceRecord | undefined {
    for (const conference of this.conferences.values()) {
      if (conference.friendlyName === name && conference.status !== 'completed') return conference;
    }
    return undefined;
  }

  /** The conference the call is in now, with its participant record. */
  participation(
    call: CallRecord,
  ): { conference: ConferenceRecord; participant: ParticipantRecord } | null {
    if (call.activity.kind !== 'conference') return null;
    const conference = this.conferences.get(call.activity.conferenceSid);
    const participant = conference?.participants.get(call.sid);
    return conference && participant ? { conference, participant } : null;
  }

  /**
   * Joins `call` to the conference named `options.name`, creating it when no live one exists
   * (https://www.twilio.com/docs/voice/twiml/conference). The conference starts when a participant
   * with startConferenceOnEnter=true joins; until then everyone hears wait music.
   */
  joinConference(call: CallRecord, options: JoinOptions): ParticipantRecord {
    if (call.status !== 'in-progress') throw twilioErrors.callNotInProgress('join a conference');
    this.leaveConference(call, 'participant_updated_via_api');
    const now = new Date();
    let conference = this.liveConferenceByName(options.name);
    if (conference === undefined) {
      conference = {
        sid: newSid('CF'),
        accountSid: this.deps.accountSid,
        friendlyName: options.name,
        status: 'init',
        dateCreated: now,
        dateUpdated: now,
        reasonConferenceEnded: null,
        callSidEndingConference: null,
        participants: new Map(),
        statusCallback: null,
        sequenceNumber: 0,
        beepUntilMs: 0,
      };
      this.conferences.set(conference.sid, conference);
    }
    // UNCONFIRMED: the conference keeps the status callback of the first participant that names
    // one; Twilio's docs do not say how per-participant callbacks combine. With no
    // statusCallbackEvent, `start end` is assumed.
    if (conference.statusCallback === null && options.statusCallback !== null) {
      conference.statusCallback = {
        url: options.statusCallback,
        method: options.statusCallbackMethod,
        events:
          options.statusCallbackEvent.length > 0 ? options.statusCallbackEvent : ['start', 'end'],
      };
    }
    const hadOthers = conference.participants.size > 0;
    const participant: ParticipantRecord = {
      callSid: call.sid,
      conferenceSid: conference.sid,
      label: options.label,
      status: 'connecting',
      muted: options.muted,
      hold: options.hold ?? false,
      holdUrl: null,
      holdMethod: 'GET',
      coaching: options.coaching ?? false,
      callSidToCoach: options.callSidToCoach ?? null,
      endConferenceOnExit: options.endConferenceOnExit,
      startConferenceOnEnter: options.startConferenceOnEnter,
      beep: options.beep,
      beepOnExit: options.beep === 'true' || options.beep === 'onExit',
      waitUrl: options.waitUrl,
      dateCreated: now,
      dateUpdated: now,
    };
    participant.status = transition(
      'participant',
      PARTICIPANT_TRANSITIONS,
      'connecting',
      'connected',
    );
    conference.participants.set(call.sid, participant);
    call.activity = { kind: 'conference', conferenceSid: conference.sid };
    this.deps.events.append('conference.join', {
      conferenceSid: conference.sid,
      friendlyName: conference.friendlyName,
      callSid: call.sid,
      label: participant.label,
      endConferenceOnExit: participant.endConferenceOnExit,
      startConferenceOnEnter: participant.startConferenceOnEnter,
      muted: participant.muted,
    });
    if (conference.status === 'init' && participant.startConferenceOnEnter) {
      conference.status = transition('conference', CONFERENCE_TRANSITIONS, 'init', 'in-progress');
      conference.dateUpdated = now;
      this.deps.events.append('conference.start', {
        conferenceSid: conference.sid,
        friendlyName: conference.friendlyName,
        callSid: call.sid,
      });
      this.#conferenceCallback(conference, 'start', 'conference-start', participant);
    }
    this.#conferenceCallback(conference, 'join', 'participant-join', participant);
    // Beep on enter: heard by the conference when someone joins (`beep` true or onEnter).
    if (hadOthers && (options.beep === 'true' || options.beep === 'onEnter')) {
      conference.beepUntilMs = this.deps.clock.now() + this.deps.audio.beepMs;
    }
    return participant;
  }

  /**
   * Takes the call out of its conference, if it is in one. A participant with
   * endConferenceOnExit ends the conference for everyone; the last one out ends it too
   * (https://www.twilio.com/docs/voice/api/conference-participant-resource, twilio-facts §3–4).
   */
  leaveConference(call: CallRecord, reason: LeaveReason, callStatus?: CallStatus): void {
    const current = this.participation(call);
    if (current === null) return;
    const { conference, participant } = current;
    this.#removeParticipant(conference, participant, reason, callStatus);
    if (conference.status === 'completed') return;
    const kicked = reason === 'participant_kicked';
    if (participant.endConferenceOnExit) {
      this.endConference(
        conference,
        kicked
          ? 'participant-with-end-conference-on-exit-kicked'
          : 'participant-with-end-conference-on-exit-left',
        call.sid,
      );
    } else if (conference.participants.size === 0) {
      this.endConference(
        conference,
        kicked ? 'last-participant-kicked' : 'last-participant-left',
        call.sid,
      );
    } else if (participant.beepOnExit) {
      conference.beepUntilMs = this.deps.clock.now() + this.deps.audio.beepMs;
    }
  }

  #removeParticipant(
    conference: ConferenceRecord,
    participant: ParticipantRecord,
    reason: LeaveReason,
    callStatus?: CallStatus,
  ): void {
    conference.participants.delete(participant.callSid);
    participant.status = transition(
      'participant',
      PARTICIPANT_TRANSITIONS,
      participant.status,
      'complete',
    );
    participant.dateUpdated = new Date();
    const call = this.calls.get(participant.callSid);
    if (call?.activity.kind === 'conference') call.activity = { kind: 'idle' };
    this.deps.events.append('conference.leave', {
      conferenceSid: conference.sid,
      friendlyName: conference.friendlyName,
      callSid: participant.callSid,
      reason,
      wasHeld: participant.hold,
    });
    this.#conferenceCallback(conference, 'leave', 'participant-leave', participant, {
      ReasonParticipantLeft: reason,
      ParticipantCallStatus: callStatus ?? call?.status ?? 'completed',
    });
    // The call's `<Dial>` is over: its program goes on to the next verb.
    if (call) this.#interrupt(call);
  }

  /** Ends a conference; every remaining call goes on to its next verb after `<Dial>`. */
  endConference(
    conference: ConferenceRecord,
    reason: NonNullable<ConferenceRecord['reasonConferenceEnded']>,
    callSidEnding: string | null,
  ): void {
    if (conference.status === 'completed') return;
    conference.status = transition(
      'conference',
      CONFERENCE_TRANSITIONS,
      conference.status,
      'completed',
    );
    conference.reasonConferenceEnded = reason;
    conference.callSidEndingConference = callSidEnding;
    conference.dateUpdated = new Date();
    for (const participant of [...conference.participants.values()]) {
      this.#removeParticipant(conference, participant, 'conference_ended');
    }
    this.deps.events.append('conference.end', {
      conferenceSid: conference.sid,
      friendlyName: conference.friendlyName,
      reason,
      callSidEndingConference: callSidEnding,
    });
    this.#conferenceCallback(conference, 'end', 'conference-end', null, {
      ReasonConferenceEnded: reason,
      CallSidEndingConference: callSidEnding ?? '',
    });
  }

  /** Applies a Participants update (hold, mute, endConferenceOnExit, coaching…). */
  updateParticipant(
    conference: ConferenceRecord,
    participant: ParticipantRecord,
    update: {
      muted?: boolean;
      hold?: boolean;
      holdUrl?: string;
      holdMethod?: HttpMethod;
      endConferenceOnExit?: boolean;
      coaching?: boolean;
      callSidToCoach?: string;
      beepOnExit?: boolean;
      waitUrl?: string;
    },
  ): void {
    const base = { conferenceSid: conference.sid, callSid: participant.callSid };
    if (update.holdUrl !== undefined) participant.holdUrl = update.holdUrl;
    if (update.holdMethod !== undefined) participant.holdMethod = update.holdMethod;
    if (update.waitUrl !== undefined) participant.waitUrl = update.waitUrl;
    if (update.beepOnExit !== undefined) participant.beepOnExit = update.beepOnExit;
    if (update.hold !== undefined && update.hold !== participant.hold) {
      participant.hold = update.hold;
      this.deps.events.append(update.hold ? 'conference.hold' : 'conference.unhold', base);
      this.#conferenceCallback(
        conference,
        'hold',
        update.hold ? 'participant-hold' : 'participant-unhold',
        participant,
      );
    }
    if (update.muted !== undefined && update.muted !== participant.muted) {
      participant.muted = update.muted;
      this.deps.events.append(update.muted ? 'conference.mute' : 'conference.unmute', base);
      this.#conferenceCallback(
        conference,
        'mute',
        update.muted ? 'participant-mute' : 'participant-unmute',
        participant,
      );
    }
    let modified = false;
    if (
      update.endConferenceOnExit !== undefined &&
      update.endConferenceOnExit !== participant.endConferenceOnExit
    ) {
      participant.endConferenceOnExit = update.endConferenceOnExit;
      modified = true;
    }
    if (update.coaching !== undefined && update.coaching !== participant.coaching) {
      participant.coaching = update.coaching;
      modified = true;
    }
    if (
      update.callSidToCoach !== undefined &&
      update.callSidToCoach !== participant.callSidToCoach
    ) {
      participant.callSidToCoach = update.callSidToCoach;
      modified = true;
    }
    if (modified) {
      this.deps.events.append('conference.modify', {
        ...base,
        endConferenceOnExit: participant.endConferenceOnExit,
        coaching: participant.coaching,
      });
      this.#conferenceCallback(conference, 'modify', 'participant-modify', participant);
    }
    participant.dateUpdated = new Date();
    conference.dateUpdated = participant.dateUpdated;
  }

  /** Conference status callback, fields per twilio-facts §4. */
  #conferenceCallback(
    conference: ConferenceRecord,
    filter: string,
    event: string,
    participant: ParticipantRecord | null,
    extra: Record<string, string> = {},
  ): void {
    const callback = conference.statusCallback;
    if (callback?.events.includes(filter) !== true) return;
    conference.sequenceNumber += 1;
    const params: Record<string, string> = {
      AccountSid: conference.accountSid,
      ConferenceSid: conference.sid,
      FriendlyName: conference.friendlyName,
      StatusCallbackEvent: event,
      SequenceNumber: String(conference.sequenceNumber),
      Timestamp: new Date().toUTCString().replace('GMT', '+0000'),
      ...(participant === null
        ? {}
        : {
            CallSid: participant.callSid,
            Muted: String(participant.muted),
            Hold: String(participant.hold),
            Coaching: String(participant.coaching),
            EndConferenceOnExit: String(participant.endConferenceOnExit),
            StartConferenceOnEnter: String(participant.startConferenceOnEnter),
            ...(participant.label === null ? {} : { ParticipantLabel: participant.label }),
          }),
      ...extra,
    };
    void this.deps.webhooks.send({
      url: callback.url,
      method: callback.method,
      params,
      purpose: 'conference-status',
      ...(participant === null ? {} : { callSid: participant.callSid }),
    });
  }

  // ---------------------------------------------------------------- streams

  /**
   * Starts a unidirectional stream (REST `Streams.json` or `<Start><Stream>`). Refuses a 5th
   * forked track and a duplicate running name (both UNCONFIRMED, see `errors.ts`).
   */
  createStream(call: CallRecord, input: StreamInput): StreamRecord {
    // UNCONFIRMED (facts §2): a stream on a call that is not in progress answers 400 / 21220.
    if (call.status !== 'in-progress') throw twilioErrors.callNotInProgress('start a stream');
    const running = [...this.streams.values()].filter((s) => s.callSid === call.sid && isActive(s));
    const tracks = TRACKS[input.track];
    const used = running.reduce((n, s) => n + s.tracks.length, 0);
    const refuse = (error: TwilioApiError): never => {
      this.deps.events.append('stream.refused', {
        callSid: call.sid,
        name: input.name,
        via: input.via,
        code: error.code,
        message: error.message,
      });
      throw error;
    };
    if (input.name !== null && running.some((s) => s.name === input.name)) {
      refuse(twilioErrors.duplicateStreamName(input.name));
    }
    if (used + tracks.length > MAX_FORKED_TRACKS) refuse(twilioErrors.tooManyTracks(call.sid));
    const now = new Date();
    const stream: StreamRecord = {
      sid: newSid('MZ'),
      accountSid: call.accountSid,
      callSid: call.sid,
      name: input.name,
      url: input.url,
      track: input.track,
      tracks,
      state: 'connecting',
      statusCallback: input.statusCallback,
      parameters: input.parameters,
      dateCreated: now,
      dateUpdated: now,
    };
    this.streams.set(stream.sid, stream);
    this.deps.events.append('stream.create', {
      streamSid: stream.sid,
      callSid: call.sid,
      name: stream.name,
      url: stream.url,
      track: stream.track,
      via: input.via,
    });
    this.media.open({
      streamSid: stream.sid,
      accountSid: stream.accountSid,
      callSid: stream.callSid,
      url: stream.url,
      name: stream.name,
      tracks: stream.tracks,
      customParameters: stream.parameters,
    });
    return stream;
  }

  /** Finds a running stream of `call` by SID or name. */
  findRunningStream(call: CallRecord, sidOrName: string): StreamRecord | undefined {
    for (const stream of this.streams.values()) {
      if (stream.callSid !== call.sid || !isActive(stream)) continue;
      if (stream.sid === sidOrName || stream.name === sidOrName) return stream;
    }
    return undefined;
  }

  /** Stops a running stream (REST or `<Stop><Stream>`). */
  stopStream(stream: StreamRecord, via: 'rest' | 'twiml'): void {
    this.#stopStream(stream, via);
  }

  #stopStream(stream: StreamRecord, via: string): void {
    if (!isActive(stream)) return;
    stream.state = transition(`stream ${stream.sid}`, STREAM_TRANSITIONS, stream.state, 'stopped');
    stream.dateUpdated = new Date();
    const stopping = this.media.stop(stream.sid);
    void stopping.then(
      () => {
        this.deps.events.append('stream.stopped', {
          streamSid: stream.sid,
          callSid: stream.callSid,
          name: stream.name,
          via,
          framesByTrack: this.media.stats(stream.sid)?.framesByTrack ?? null,
        });
        this.#streamCallback(stream, 'stream-stopped');
      },
      (error: unknown) => {
        this.deps.logger.error({ err: error, streamSid: stream.sid }, 'stream stop failed');
      },
    );
  }

  /** The media engine opened the socket and sent `start`. */
  onStarted(streamSid: string): void {
    const stream = this.streams.get(streamSid);
    if (stream?.state !== 'connecting') return;
    stream.state = transition(
      `stream ${stream.sid}`,
      STREAM_TRANSITIONS,
      stream.state,
      'streaming',
    );
    stream.dateUpdated = new Date();
    this.deps.events.append('stream.started', {
      streamSid,
      callSid: stream.callSid,
      name: stream.name,
    });
    this.#streamCallback(stream, 'stream-started');
  }

  /** The socket failed or dropped: the stream is over and its tracks are free again. */
  onError(streamSid: string, code: number, message: string): void {
    const stream = this.streams.get(streamSid);
    if (stream === undefined || !isActive(stream)) return;
    stream.state = transition(`stream ${stream.sid}`, STREAM_TRANSITIONS, stream.state, 'failed');
    stream.dateUpdated = new Date();
    this.deps.events.append('stream.error', {
      streamSid,
      callSid: stream.callSid,
      name: stream.name,
      code,
      message,
      framesByTrack: this.media.stats(streamSid)?.framesByTrack ?? null,
    });
    this.#streamCallback(stream, 'stream-error', `${code}: ${message}`);
  }

  /** Stream status callback, fields per twilio-facts §2 (exact set UNCONFIRMED). */
  #streamCallback(stream: StreamRecord, event: string, error?: string): void {
    if (stream.statusCallback === null) return;
    void this.deps.webhooks.send({
      url: stream.statusCallback.url,
      method: stream.statusCallback.method,
      purpose: 'stream-status',
      callSid: stream.callSid,
      params: {
        AccountSid: stream.accountSid,
        CallSid: stream.callSid,
        StreamSid: stream.sid,
        StreamName: stream.name ?? stream.sid,
        StreamEvent: event,
        ...(error === undefined ? {} : { StreamError: error }),
        Timestamp: new Date().toISOString(),
      },
    });
  }

  // ---------------------------------------------------------------- audio (CallAudioSource)

  /** The party's own voice while the call is in progress (Twilio's `inbound` track). */
  inbound(callSid: string): readonly Sound[] {
    const call = this.calls.get(callSid);
    if (call?.status !== 'in-progress') return [];
    return [{ source: `call:${call.sid}`, ...call.voice }];
  }

  /** What the party hears (Twilio's `outbound` track). */
  outbound(callSid: string, atMs: number): readonly Sound[] {
    const call = this.calls.get(callSid);
    if (call?.status !== 'in-progress') return [];
    const { sounds } = this.deps.audio;
    switch (call.activity.kind) {
      case 'idle':
        return [];
      case 'say':
        return [{ source: 'say', ...sounds.say }];
      case 'play':
        return [{ source: 'play', ...sounds.play }];
      case 'queue':
        return call.activity.silent ? [] : [{ source: 'wait-music', ...sounds.waitMusic }];
      case 'conference':
        return this.#conferenceMix(call, atMs);
    }
  }

  #conferenceMix(call: CallRecord, atMs: number): readonly Sound[] {
    const current = this.participation(call);
    if (current === null) return [];
    const { conference, participant } = current;
    const { sounds } = this.deps.audio;
    if (participant.hold) return [{ source: 'hold-music', ...sounds.holdMusic }];
    if (conference.status === 'init') {
      return participant.waitUrl === '' ? [] : [{ source: 'wait-music', ...sounds.waitMusic }];
    }
    const heard: Sound[] = [];
    for (const other of conference.participants.values()) {
      if (other.callSid === call.sid || other.hold || other.muted) continue;
      // A coach is heard only by the participant it coaches
      // (https://www.twilio.com/docs/voice/api/conference-participant-resource#coaching).
      if (other.coaching && other.callSidToCoach !== call.sid) continue;
      const otherCall = this.calls.get(other.callSid);
      if (otherCall?.status !== 'in-progress') continue;
      heard.push({ source: `call:${otherCall.sid}`, ...otherCall.voice });
    }
    if (atMs < conference.beepUntilMs) heard.push({ source: 'beep', ...sounds.beep });
    return heard;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Stops every stream and call timer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.calls.values()) {
      call.run = null;
      this.#interrupt(call);
    }
    await this.media.close();
    // The engine sent `stop` on every socket; the state shows those streams stopped too.
    for (const stream of this.streams.values()) {
      if (isActive(stream)) {
        stream.state = transition(
          `stream ${stream.sid}`,
          STREAM_TRANSITIONS,
          stream.state,
          'stopped',
        );
      }
    }
  }
}

/** A stream that still holds its tracks. */
export function isActive(stream: StreamRecord): boolean {
  return stream.state === 'connecting' || stream.state === 'streaming';
}

/** Whole seconds between answer and end, as Twilio's `duration`; null while not ended. */
export function durationOf(call: CallRecord): number | null {
  if (call.startTime === null || call.endTime === null) return call.endTime === null ? null : 0;
  return Math.round((call.endTime.getTime() - call.startTime.getTime()) / 1000);
}
