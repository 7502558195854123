/**
 * The seam between the emulator's call model (calls, conferences, TwiML) and its media engine
 * (synthesised audio, the Media Streams WebSocket client). The model answers "what is heard where,
 * now"; the engine turns that into paced µ-law frames on every open stream.
 */

/** Milliseconds on the emulator's clock. Monotonic; only differences matter. */
export interface Clock {
  now(): number;
}

/**
 * One sound audible at a moment: a party's voice, hold music, a beep, Say or Play audio. The
 * emulator renders every sound as a pure tone of its own frequency, so a test can tell from decoded
 * audio alone who is heard where (see `audio/voices.ts`).
 */
export interface Sound {
  /** Who or what makes it, for logs and tests: `call:CA…`, `hold-music`, `beep`, `say`, `play`, `wait-music`. */
  readonly source: string;
  readonly frequencyHz: number;
  /** Linear amplitude as a fraction of full scale, 0..1. */
  readonly gain: number;
}

/** Answered by the call model for the media engine, once per track per 20 ms frame. */
export interface CallAudioSource {
  /**
   * What reaches Twilio from this call's far end at `atMs`: the party's own voice while the call is
   * in progress. Twilio's `inbound` track. Empty once the call has ended.
   */
  inbound(callSid: string, atMs: number): readonly Sound[];
  /**
   * What Twilio sends to this call's far end at `atMs`: the conference mix minus the party itself
   * (others not held, not muted), hold music while held, wait music, beeps, Say/Play audio, or
   * nothing. Twilio's `outbound` track.
   */
  outbound(callSid: string, atMs: number): readonly Sound[];
}

/** Track names as they appear in Media Streams messages. */
export type StreamTrack = 'inbound' | 'outbound';

/** Everything the media engine needs to run one unidirectional stream. */
export interface MediaStreamSpec {
  readonly streamSid: string;
  readonly accountSid: string;
  readonly callSid: string;
  /** Absolute `wss://` (or, for local addresses, `ws://`) URL without a query string. */
  readonly url: string;
  readonly name: string | null;
  /** `["inbound"]`, `["outbound"]` or `["inbound","outbound"]`, in that order. */
  readonly tracks: readonly StreamTrack[];
  readonly customParameters: Readonly<Record<string, string>>;
}

/** Why a stream ended, as the engine reports it back to the model. */
export type StreamEndReason = 'stopped' | 'error';

/** Notifications from the media engine to the call model. */
export interface MediaStreamsListener {
  /** The WebSocket is open and `connected` + `start` were sent: the model sends `stream-started`. */
  onStarted(streamSid: string): void;
  /**
   * The stream failed: the WebSocket could not be reached (31901 timeout, 31902 refused, 31920
   * handshake, 31922 scheme, 31923 malformed URL) or dropped mid-stream (31903 broken pipe, 31921
   * closed by the server). The stream is over; the model sends `stream-error` and frees its tracks.
   */
  onError(streamSid: string, code: number, message: string): void;
}

/** Counters the engine keeps per stream, exposed through the control API and event log. */
export interface MediaStreamStats {
  readonly streamSid: string;
  readonly state: 'connecting' | 'streaming' | 'stopped' | 'failed';
  readonly framesByTrack: Readonly<Record<StreamTrack, number>>;
  /** Frames deliberately not sent (gap injection or silence skipping), per track. */
  readonly skippedByTrack: Readonly<Record<StreamTrack, number>>;
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
}

/** The media engine, as the call model drives it. */
export interface MediaStreamsClient {
  /** Connects to `spec.url` (signing the upgrade) and streams until `stop` or an error. Never throws. */
  open(spec: MediaStreamSpec): void;
  /** Sends `stop` and closes the socket. Resolves once the socket is closed; no-op if already over. */
  stop(streamSid: string): Promise<void>;
  /** Leaves `durationMs` of `track` unsent from now on (Twilio may skip chunks); for tests. */
  injectGap(streamSid: string, track: StreamTrack, durationMs: number): void;
  stats(streamSid: string): MediaStreamStats | undefined;
  /** Stops every stream (sending `stop`) and releases timers. */
  close(): Promise<void>;
}
