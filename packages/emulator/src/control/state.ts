import type { MediaStreamStats, StreamTrack } from '../media/ports.js';
import type { CallModel } from '../model/model.js';
import { isActive } from '../model/model.js';
import type { TaskRouterState } from '../taskrouter/serialize.js';

/** The emulator's state as `GET /_emulator/state` returns it (stable keys; later steps add more). */
export interface EmulatorState {
  readonly accountSid: string;
  readonly calls: {
    sid: string;
    status: string;
    direction: string;
    from: string;
    to: string;
    voice: { frequencyHz: number };
    conferenceSid: string | null;
    queueName: string | null;
    activity: string;
    startTime: string | null;
    endTime: string | null;
  }[];
  readonly conferences: {
    sid: string;
    friendlyName: string;
    status: string;
    reasonConferenceEnded: string | null;
    callSidEndingConference: string | null;
    participants: {
      callSid: string;
      label: string | null;
      hold: boolean;
      muted: boolean;
      coaching: boolean;
      endConferenceOnExit: boolean;
      startConferenceOnEnter: boolean;
    }[];
  }[];
  readonly streams: {
    sid: string;
    callSid: string;
    name: string | null;
    url: string;
    status: 'in-progress' | 'stopped';
    state: string;
    track: string;
    tracks: readonly StreamTrack[];
    framesByTrack: Partial<Record<StreamTrack, number>>;
    skippedByTrack: Partial<Record<StreamTrack, number>>;
  }[];
  /** TaskRouter and Flex: workspace, queues, workers, tasks, reservations (with transfer objects). */
  readonly taskrouter: TaskRouterState;
}

/** Builds the JSON state from the model and the media engine's counters. */
export function buildState(model: CallModel): Omit<EmulatorState, 'taskrouter'> {
  return {
    accountSid: model.deps.accountSid,
    calls: [...model.calls.values()].map((call) => ({
      sid: call.sid,
      status: call.status,
      direction: call.direction,
      from: call.from,
      to: call.to,
      voice: { frequencyHz: call.voice.frequencyHz },
      conferenceSid: call.activity.kind === 'conference' ? call.activity.conferenceSid : null,
      queueName: call.activity.kind === 'queue' ? call.activity.queueName : null,
      activity: call.activity.kind,
      startTime: call.startTime?.toISOString() ?? null,
      endTime: call.endTime?.toISOString() ?? null,
    })),
    conferences: [...model.conferences.values()].map((conference) => ({
      sid: conference.sid,
      friendlyName: conference.friendlyName,
      status: conference.status,
      reasonConferenceEnded: conference.reasonConferenceEnded,
      callSidEndingConference: conference.callSidEndingConference,
      participants: [...conference.participants.values()].map((p) => ({
        callSid: p.callSid,
        label: p.label,
        hold: p.hold,
        muted: p.muted,
        coaching: p.coaching,
        endConferenceOnExit: p.endConferenceOnExit,
        startConferenceOnEnter: p.startConferenceOnEnter,
      })),
    })),
    streams: [...model.streams.values()].map((stream) => {
      const stats: MediaStreamStats | undefined = model.media.stats(stream.sid);
      return {
        sid: stream.sid,
        callSid: stream.callSid,
        name: stream.name,
        url: stream.url,
        status: isActive(stream) ? 'in-progress' : 'stopped',
        state: stream.state,
        track: stream.track,
        tracks: stream.tracks,
        framesByTrack: pick(stats?.framesByTrack, stream.tracks),
        skippedByTrack: pick(stats?.skippedByTrack, stream.tracks),
      };
    }),
  };
}

function pick(
  counts: Readonly<Record<StreamTrack, number>> | undefined,
  tracks: readonly StreamTrack[],
): Partial<Record<StreamTrack, number>> {
  const out: Partial<Record<StreamTrack, number>> = {};
  for (const track of tracks) out[track] = counts?.[track] ?? 0;
  return out;
}
