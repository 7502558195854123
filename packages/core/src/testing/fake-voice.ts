/**
 * An honest fake of Twilio Voice behind the {@link VoicePort}: it keeps the contract the real API
 * has (twilio-facts §2–5) so the controller's tests can fail for the right reasons. It tracks
 * streams per call by SID and name, enforces the 4-track budget and unique names, answers 20404 on
 * ended calls, reads participant updates back with a configurable lag, and models what a TwiML
 * redirect does to a conference (a leave; the conference ends if the customer's flag is true).
 */
import type { StreamTrack } from '../model.js';
import {
  VoiceApiError,
  type CreateStreamRequest,
  type ParticipantResource,
  type StreamResource,
  type VoicePort,
} from '../ports.js';

/** Builds a well-formed SID: `prefix` + `n` as 32 hex digits. */
export function makeSid(prefix: string, n: number): string {
  return prefix + n.toString(16).padStart(32, '0');
}

/** A stream as the fake Twilio keeps it. */
export interface FakeStream {
  sid: string;
  callSid: string;
  name: string;
  track: StreamTrack;
  url: string;
  parameters: Record<string, string>;
  status: 'in-progress' | 'stopped';
  startedBy: 'rest' | 'twiml';
}

/** A status callback the fake would have sent (twilio-facts §2), for tests to feed back. */
export interface FakeStatusEvent {
  callSid: string;
  streamSid: string;
  streamName: string;
  event: 'stream-started' | 'stream-stopped' | 'stream-error';
}

/** One request the fake received, in order. */
export interface FakeRequest {
  op: keyof VoicePort;
  target: string;
  detail: Record<string, unknown>;
}

interface FakeParticipant {
  callSid: string;
  hold: boolean;
  endConferenceOnExit: boolean;
  /** What a fetch returns until `staleReads` reaches 0 (update not yet visible). */
  visibleEndConferenceOnExit: boolean;
  staleReads: number;
}

interface FakeConference {
  sid: string;
  friendlyName: string;
  status: 'in-progress' | 'completed';
  participants: Map<string, FakeParticipant>;
}

/** The fake plus its test controls. */
export interface FakeVoice extends VoicePort {
  readonly requests: readonly FakeRequest[];
  /** Adds an in-progress call. */
  addCall(callSid: string): void;
  /** Ends a call (hang-up): its streams stop, it leaves its conference. */
  hangUp(callSid: string): void;
  /** Creates an in-progress conference with the given participants (Flex: customer's flag true). */
  addConference(
    conferenceSid: string,
    friendlyName: string,
    participants: readonly { callSid: string; endConferenceOnExit: boolean; hold?: boolean }[],
  ): void;
  /** Puts a participant on hold, as Flex's hold button does. */
  /** A call joins an in-progress conference (e.g. an agent's leg after a transfer). */
  joinConference(
    conferenceSid: string,
    participant: { callSid: string; endConferenceOnExit: boolean; hold?: boolean },
  ): void;
  setHold(conferenceSid: string, callSid: string, hold: boolean): void;
  /** The next `count` requests (optionally only of operation `op`) fail with `error`. */
  failNext(
    count: number,
    error: { status: number; code: number | null },
    op?: keyof VoicePort,
  ): void;
  /** Participant updates stay invisible for `reads` fetches (Twilio's eventual consistency). */
  setReadLag(reads: number): void;
  /** Participant updates of endConferenceOnExit are silently never applied (for the give-up path). */
  ignoreEndConferenceOnExitUpdates(): void;
  streams(callSid: string, status?: FakeStream['status']): FakeStream[];
  tracksInUse(callSid: string): number;
  conference(conferenceSid: string): {
    status: FakeConference['status'];
    participants: { callSid: string; hold: boolean; endConferenceOnExit: boolean }[];
  };
  /** The stream breaks (e.g. 31921, the receiver closed the socket): it ends with stream-error. */
  failStream(streamSid: string): void;
  /** Status callbacks produced since the last call, oldest first. */
  takeStatusEvents(): FakeStatusEvent[];
}

/** Twilio's per-call limit of forked tracks (twilio-facts §2). */
const TRACK_BUDGET = 4;

function tracksOf(track: StreamTrack): number {
  return track === 'both_tracks' ? 2 : 1;
}

function unescapeXml(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of tag.matchAll(/([A-Za-z]+)="([^"]*)"/g)) {
    if (match[1] !== undefined && match[2] !== undefined) out[match[1]] = unescapeXml(match[2]);
  }
  return out;
}

/** Runs `fn` and turns its result or throw into a promise, as an async Twilio request would. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Creates a {@link FakeVoice} with no calls. */
export function createFakeVoice(): FakeVoice {
  const calls = new Map<string, 'in-progress' | 'completed'>();
  const streams: FakeStream[] = [];
  const conferences = new Map<string, FakeConference>();
  const requests: FakeRequest[] = [];
  let statusEvents: FakeStatusEvent[] = [];
  const failures: { error: { status: number; code: number | null }; op?: keyof VoicePort }[] = [];
  let readLag = 0;
  let ignoreFlagUpdates = false;
  let nextSid = 1;
  let nextConference = 1000;

  const err = (status: number, code: number | null, message: string): VoiceApiError =>
    new VoiceApiError({ status, code, message });

  function enter(op: keyof VoicePort, target: string, detail: Record<string, unknown>): void {
    requests.push({ op, target, detail });
    const index = failures.findIndex((f) => f.op === undefined || f.op === op);
    const failure = index === -1 ? undefined : failures[index];
    if (failure !== undefined) {
      failures.splice(index, 1);
      throw err(failure.error.status, failure.error.code, `injected failure of ${op}`);
    }
  }

  function requireLiveCall(callSid: string, code: 20404 | 21220): void {
    const status = calls.get(callSid);
    if (status === undefined)
      throw err(404, 20404, `The requested resource Calls/${callSid} was not found`);
    if (status !== 'in-progress') {
      throw code === 21220
        ? err(400, 21220, 'Call is not in-progress. Cannot redirect.')
        : err(404, 20404, `Call ${callSid} is not in progress`);
    }
  }

  function liveStreams(callSid: string): FakeStream[] {
    return streams.filter((s) => s.callSid === callSid && s.status === 'in-progress');
  }

  function startStream(
    callSid: string,
    request: CreateStreamRequest,
    startedBy: FakeStream['startedBy'],
  ): FakeStream {
    if (!/^wss?:\/\//.test(request.url)) throw err(400, 31922, 'Stream URL scheme not supported');
    if (Object.keys(request.parameters).length > 99) throw err(400, null, 'Too many parameters');
    const live = liveStreams(callSid);
    // Duplicate names and the budget: error codes UNCONFIRMED (twilio-facts §2); 400 as stated.
    if (live.some((s) => s.name === request.name)) {
      throw err(400, null, `A stream named ${request.name} already runs on ${callSid}`);
    }
    const used = live.reduce((sum, s) => sum + tracksOf(s.track), 0);
    if (used + tracksOf(request.track) > TRACK_BUDGET) {
      throw err(400, null, `Call ${callSid} already forks ${used} of ${TRACK_BUDGET} tracks`);
    }
    const stream: FakeStream = {
      sid: makeSid('MZ', nextSid++),
      callSid,
      name: request.name,
      track: request.track,
      url: request.url,
      parameters: { ...request.parameters },
      status: 'in-progress',
      startedBy,
    };
    streams.push(stream);
    statusEvents.push({
      callSid,
      streamSid: stream.sid,
      streamName: stream.name,
      event: 'stream-started',
    });
    return stream;
  }

  function stop(stream: FakeStream): void {
    stream.status = 'stopped';
    statusEvents.push({
      callSid: stream.callSid,
      streamSid: stream.sid,
      streamName: stream.name,
      event: 'stream-stopped',
    });
  }

  function resource(stream: FakeStream): StreamResource {
    return { sid: stream.sid, name: stream.name, status: stream.status };
  }

  /** The call leaves its conference; if its (real) flag is true, the conference ends for all. */
  function leaveConference(callSid: string): void {
    for (const conference of conferences.values()) {
      const participant = conference.participants.get(callSid);
      if (conference.status !== 'in-progress' || participant === undefined) continue;
      conference.participants.delete(callSid);
      if (participant.endConferenceOnExit || conference.participants.size === 0) {
        conference.status = 'completed';
        conference.participants.clear();
      }
    }
  }

  function hangUp(callSid: string): void {
    calls.set(callSid, 'completed');
    for (const stream of liveStreams(callSid)) stop(stream);
    leaveConference(callSid);
  }

  function participantOf(conferenceSid: string, callSid: string): FakeParticipant {
    const conference = conferences.get(conferenceSid);
    const participant =
      conference?.status === 'in-progress' ? conference.participants.get(callSid) : undefined;
    if (participant === undefined) {
      throw err(404, 20404, `Participant ${callSid} not found in conference ${conferenceSid}`);
    }
    return participant;
  }

  function view(conferenceSid: string, p: FakeParticipant): ParticipantResource {
    return {
      callSid: p.callSid,
      conferenceSid,
      hold: p.hold,
      endConferenceOnExit: p.visibleEndConferenceOnExit,
    };
  }

  return {
    get requests() {
      return requests;
    },

    createStream(callSid, request) {
      return settle(() => {
        enter('createStream', callSid, { name: request.name, track: request.track });
        requireLiveCall(callSid, 20404);
        return resource(startStream(callSid, request, 'rest'));
      });
    },

    stopStream(callSid, sidOrName) {
      return settle(() => {
        enter('stopStream', callSid, { sidOrName });
        const found = liveStreams(callSid).find((s) => s.sid === sidOrName || s.name === sidOrName);
        // Unknown or already stopped: 404 / 20404 (UNCONFIRMED, twilio-facts §2).
        if (found === undefined) throw err(404, 20404, `Stream ${sidOrName} not found`);
        stop(found);
        return resource(found);
      });
    },

    fetchCallStatus(callSid) {
      return settle(() => {
        enter('fetchCallStatus', callSid, {});
        const status = calls.get(callSid);
        if (status === undefined) {
          throw err(404, 20404, `The requested resource Calls/${callSid} was not found`);
        }
        return status;
      });
    },

    updateCallTwiml(callSid, twiml) {
      return settle(() => {
        enter('updateCallTwiml', callSid, { twiml });
        if (twiml.length > 4000) throw err(400, 32018, 'TwiML over 4000 characters');
        requireLiveCall(callSid, 21220);
        // New TwiML takes the call out of its conference (twilio-facts §4).
        leaveConference(callSid);
        for (const match of twiml.matchAll(/<Start><Stream([^>]*)>(.*?)<\/Stream><\/Start>/g)) {
          const a = attrs(match[1] ?? '');
          const parameters: Record<string, string> = {};
          for (const p of (match[2] ?? '').matchAll(/<Parameter([^>]*)\/>/g)) {
            const pa = attrs(p[1] ?? '');
            if (pa.name !== undefined) parameters[pa.name] = pa.value ?? '';
          }
          startStream(
            callSid,
            {
              url: a.url ?? '',
              name: a.name ?? '',
              track: (a.track ?? 'inbound_track') as StreamTrack,
              parameters,
            },
            'twiml',
          );
        }
        for (const match of twiml.matchAll(/<Stop><Stream([^>]*)\/><\/Stop>/g)) {
          const name = attrs(match[1] ?? '').name;
          const found = liveStreams(callSid).find((s) => s.name === name);
          if (found !== undefined) stop(found);
        }
        const dial = /<Dial><Conference([^>]*)>([^<]*)<\/Conference><\/Dial>/.exec(twiml);
        if (dial !== null) {
          const friendlyName = unescapeXml(dial[2] ?? '');
          let conference = [...conferences.values()].find(
            (c) => c.friendlyName === friendlyName && c.status === 'in-progress',
          );
          if (conference === undefined) {
            conference = {
              sid: makeSid('CF', nextConference++),
              friendlyName,
              status: 'in-progress',
              participants: new Map(),
            };
            conferences.set(conference.sid, conference);
          }
          const flag = attrs(dial[1] ?? '').endConferenceOnExit === 'true';
          // A re-join comes back not held (twilio-facts §4).
          conference.participants.set(callSid, {
            callSid,
            hold: false,
            endConferenceOnExit: flag,
            visibleEndConferenceOnExit: flag,
            staleReads: 0,
          });
        } else {
          // No verb after <Start>: the call hangs up (twilio-facts §1, unidirectional table).
          hangUp(callSid);
        }
        return;
      });
    },

    findInProgressConference(friendlyName) {
      return settle(() => {
        enter('findInProgressConference', friendlyName, {});
        const found = [...conferences.values()].find(
          (c) => c.friendlyName === friendlyName && c.status === 'in-progress',
        );
        return found?.sid ?? null;
      });
    },

    fetchParticipant(conferenceSid, callSid) {
      return settle(() => {
        enter('fetchParticipant', callSid, { conferenceSid });
        const p = participantOf(conferenceSid, callSid);
        if (p.staleReads > 0) p.staleReads -= 1;
        else p.visibleEndConferenceOnExit = p.endConferenceOnExit;
        return view(conferenceSid, p);
      });
    },

    listParticipants(conferenceSid) {
      return settle(() => {
        enter('listParticipants', conferenceSid, {});
        const conference = conferences.get(conferenceSid);
        if (conference?.status !== 'in-progress') return [];
        return [...conference.participants.values()].map((p) => ({
          ...view(conferenceSid, p),
          label: null,
        }));
      });
    },

    updateParticipant(conferenceSid, callSid, update) {
      return settle(() => {
        enter('updateParticipant', callSid, { conferenceSid, ...update });
        const p = participantOf(conferenceSid, callSid);
        if (update.hold !== undefined) p.hold = update.hold;
        if (update.endConferenceOnExit !== undefined && !ignoreFlagUpdates) {
          p.endConferenceOnExit = update.endConferenceOnExit;
          p.staleReads = readLag;
        }
        // The update's own answer is what Twilio stored, but later reads may lag (seed, §4).
        return { ...view(conferenceSid, p), hold: p.hold };
      });
    },

    addCall(callSid) {
      calls.set(callSid, 'in-progress');
    },

    hangUp,

    addConference(conferenceSid, friendlyName, participants) {
      conferences.set(conferenceSid, {
        sid: conferenceSid,
        friendlyName,
        status: 'in-progress',
        participants: new Map(
          participants.map((p) => [
            p.callSid,
            {
              callSid: p.callSid,
              hold: p.hold ?? false,
              endConferenceOnExit: p.endConferenceOnExit,
              visibleEndConferenceOnExit: p.endConferenceOnExit,
              staleReads: 0,
            },
          ]),
        ),
      });
    },

    joinConference(conferenceSid, p) {
      const conference = conferences.get(conferenceSid);
      if (conference?.status !== 'in-progress') {
        throw new Error(`fake: conference ${conferenceSid} is not in progress`);
      }
      conference.participants.set(p.callSid, {
        callSid: p.callSid,
        hold: p.hold ?? false,
        endConferenceOnExit: p.endConferenceOnExit,
        visibleEndConferenceOnExit: p.endConferenceOnExit,
        staleReads: 0,
      });
    },

    setHold(conferenceSid, callSid, hold) {
      participantOf(conferenceSid, callSid).hold = hold;
    },

    failNext(count, error, op) {
      for (let i = 0; i < count; i += 1)
        failures.push(op === undefined ? { error } : { error, op });
    },

    setReadLag(reads) {
      readLag = reads;
    },

    ignoreEndConferenceOnExitUpdates() {
      ignoreFlagUpdates = true;
    },

    streams(callSid, status) {
      return streams.filter(
        (s) => s.callSid === callSid && (status === undefined || s.status === status),
      );
    },

    tracksInUse(callSid) {
      return liveStreams(callSid).reduce((sum, s) => sum + tracksOf(s.track), 0);
    },

    conference(conferenceSid) {
      const conference = conferences.get(conferenceSid);
      if (conference === undefined) throw new Error(`no conference ${conferenceSid}`);
      return {
        status: conference.status,
        participants: [...conference.participants.values()].map((p) => ({
          callSid: p.callSid,
          hold: p.hold,
          endConferenceOnExit: p.endConferenceOnExit,
        })),
      };
    },

    failStream(streamSid) {
      const stream = streams.find((s) => s.sid === streamSid && s.status === 'in-progress');
      if (stream === undefined) throw new Error(`no running stream ${streamSid}`);
      stream.status = 'stopped';
      statusEvents.push({
        callSid: stream.callSid,
        streamSid,
        streamName: stream.name,
        event: 'stream-error',
      });
    },

    takeStatusEvents() {
      const taken = statusEvents;
      statusEvents = [];
      return taken;
    },
  };
}
