import type { StreamTrack } from '../media/ports.js';
import type {
  BeepSetting,
  ConferenceNoun,
  HttpMethod,
  StreamTrackParam,
  Verb,
} from '../twiml/parse.js';
import type { CallStatus, ConferenceStatus, ParticipantStatus, StreamState } from './lifecycle.js';

/** A tone: how the emulator renders every voice and sound. */
export interface Tone {
  readonly frequencyHz: number;
  readonly gain: number;
}

/** The media half's voices and timings, injected so the model knows no synthesis details. */
export interface AudioCatalog {
  /** The n-th distinct party voice, n < `distinctVoices`. */
  partyVoice(n: number): Tone;
  /** How many distinct party voices `partyVoice` has before it repeats. */
  readonly distinctVoices: number;
  readonly sounds: {
    readonly holdMusic: Tone;
    readonly waitMusic: Tone;
    readonly beep: Tone;
    readonly say: Tone;
    readonly play: Tone;
  };
  readonly beepMs: number;
  readonly sayMsPerChar: number;
  readonly playMs: number;
}

/** Where a call's TwiML comes from. */
export type TwimlSource =
  | { readonly kind: 'twiml'; readonly twiml: string }
  | { readonly kind: 'url'; readonly url: string; readonly method: HttpMethod }
  | { readonly kind: 'verbs'; readonly verbs: readonly Verb[] };

/** What the call is doing right now, for the audio it hears. */
export type CallActivity =
  | { readonly kind: 'idle' }
  | { readonly kind: 'say' }
  | { readonly kind: 'play' }
  | { readonly kind: 'conference'; readonly conferenceSid: string }
  | { readonly kind: 'queue'; readonly queueName: string; readonly silent: boolean };

export interface CallRecord {
  readonly sid: string;
  readonly accountSid: string;
  readonly from: string;
  readonly to: string;
  readonly direction: 'inbound' | 'outbound-api';
  status: CallStatus;
  readonly voice: Tone;
  readonly dateCreated: Date;
  dateUpdated: Date;
  startTime: Date | null;
  endTime: Date | null;
  readonly statusCallback: CallStatusCallback | null;
  /** Call status callbacks sent so far (their `SequenceNumber`). */
  callbacksSent: number;
  /** Base for relative URLs in TwiML (the last document URL). */
  documentUrl: string | null;
  /** The running TwiML program; replaced on every redirect so the old one stops. */
  run: symbol | null;
  /** Interrupts whatever the program is waiting for. */
  wake: (() => void) | null;
  activity: CallActivity;
}

/** Call progress events a status callback may ask for (Calls API `StatusCallbackEvent`). */
export type CallProgressEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/** Where and for which progress events a call's status callback goes. */
export interface CallStatusCallback {
  readonly url: string;
  readonly method: HttpMethod;
  readonly events: readonly CallProgressEvent[];
}

export interface ParticipantRecord {
  readonly callSid: string;
  readonly conferenceSid: string;
  readonly label: string | null;
  status: ParticipantStatus;
  muted: boolean;
  hold: boolean;
  holdUrl: string | null;
  holdMethod: HttpMethod;
  coaching: boolean;
  callSidToCoach: string | null;
  endConferenceOnExit: boolean;
  readonly startConferenceOnEnter: boolean;
  readonly beep: BeepSetting;
  beepOnExit: boolean;
  waitUrl: string | null;
  readonly dateCreated: Date;
  dateUpdated: Date;
}

export interface ConferenceCallback {
  readonly url: string;
  readonly method: HttpMethod;
  readonly events: readonly string[];
}

export interface ConferenceRecord {
  readonly sid: string;
  readonly accountSid: string;
  readonly friendlyName: string;
  status: ConferenceStatus;
  readonly dateCreated: Date;
  dateUpdated: Date;
  reasonConferenceEnded:
    | 'conference-ended-via-api'
    | 'participant-with-end-conference-on-exit-left'
    | 'participant-with-end-conference-on-exit-kicked'
    | 'last-participant-kicked'
    | 'last-participant-left'
    | null;
  callSidEndingConference: string | null;
  /** Current participants only, in join order (the REST list shows no one who left). */
  readonly participants: Map<string, ParticipantRecord>;
  statusCallback: ConferenceCallback | null;
  sequenceNumber: number;
  /** Clock time until which the conference beep sounds. */
  beepUntilMs: number;
}

export interface StreamRecord {
  readonly sid: string;
  readonly accountSid: string;
  readonly callSid: string;
  readonly name: string | null;
  readonly url: string;
  readonly track: StreamTrackParam;
  readonly tracks: readonly StreamTrack[];
  state: StreamState;
  readonly statusCallback: { readonly url: string; readonly method: HttpMethod } | null;
  readonly parameters: Readonly<Record<string, string>>;
  readonly dateCreated: Date;
  dateUpdated: Date;
}

/** How a participant joins, from `<Dial><Conference>` or the Participants API. */
export type JoinOptions = ConferenceNoun & {
  readonly label: string | null;
  readonly muted: boolean;
  readonly hold?: boolean;
  readonly coaching?: boolean;
  readonly callSidToCoach?: string | null;
};
