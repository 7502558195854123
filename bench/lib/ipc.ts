/**
 * Messages between a benchmark (the parent, which plays Twilio) and the server it measures (a
 * child process, so its CPU time is its own and not mixed with the sender's).
 */

/** What the child runs. */
export type ServerKind =
  /** The real receiver (`startReceiver`) writing WAV + sidecar files to a temp dir. */
  | 'receiver'
  /** Baseline: a bare `ws` server that only `JSON.parse`s every message. */
  | 'bare'
  /** A `ws` server that discards audio and records when each `media` frame arrived. */
  | 'sink';

/** Parent → child. */
export type ToChild =
  /** Start a measurement window: reset CPU, event-loop delay and lateness samples. */
  | { readonly type: 'mark' }
  /** End the window and report it. */
  | { readonly type: 'measure' }
  /** Close the server and exit. */
  | { readonly type: 'exit' };

/** Figures of one measurement window in the child. */
export interface Measurement {
  readonly wallMs: number;
  readonly cpuUs: number;
  /** Event-loop delay percentiles over the window (`monitorEventLoopDelay`), ms. */
  readonly eldP50Ms: number;
  readonly eldP99Ms: number;
  readonly eldMaxMs: number;
  /** `media` messages received in the window. */
  readonly frames: number;
  /**
   * Sink only: how much later than its stream's earliest-arriving frame each frame arrived,
   * relative to its timestamp (ms): pacing jitter plus transport jitter.
   */
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessMaxMs: number;
}

/** Per-stream outcome, from the receiver's final sidecar (or the baseline's own count). */
export interface StreamOutcome {
  readonly streamSid: string;
  readonly frames: number;
  readonly endReason: string;
  readonly gaps: number;
  readonly gapMs: number;
  readonly late: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly overlaps: number;
  readonly overflows: number;
}

/** Child → parent. */
export type FromChild =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'marked' }
  | { readonly type: 'measured'; readonly measurement: Measurement }
  | { readonly type: 'stopped'; readonly outcome: StreamOutcome };
