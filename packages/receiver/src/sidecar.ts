import type { Track } from './messages.js';
import type { Gap } from './timeline.js';
import type { Overflow } from './writer.js';

/** Why a recording ended. */
export type EndReason = 'stop' | 'socket-closed' | 'error';

/** Frames that did not fit the timeline, per kind. */
export interface Anomalies {
  /** Same track and timestamp as a frame already placed: dropped. */
  duplicates: number;
  /** Arrived after a later frame of the same track, within the reorder window: placed. */
  outOfOrder: number;
  /** Arrived after its place on the timeline was committed: dropped (counted, never moved). */
  late: number;
  /** Overlapped another frame of the same track: where they overlap, the one starting earlier wins. */
  overlaps: number;
  /** Audio replaced by silence because the session's write buffer was full. */
  overflows: Overflow[];
}

/**
 * The JSON file next to each WAV (`<name>.json`). Written when the stream starts (with `endedAt`
 * null and `endReason` null while recording), rewritten at most every `sidecarIntervalMs` while
 * recording (counts then lag by up to that much) and, complete, when it ends.
 */
export interface Sidecar {
  readonly format: 'flex-streams-recording/1';
  streamSid: string;
  callSid: string;
  accountSid: string;
  /** The `streamName` custom parameter (see the receiver option `nameParameter`), or null. */
  streamName: string | null;
  tracks: readonly Track[];
  /** Channel of each track in the WAV: 1-based. */
  channels: Partial<Record<Track, number>>;
  customParameters: Readonly<Record<string, string>>;
  /** The WAV file's name, relative to this sidecar. */
  wav: string;
  startedAt: string;
  endedAt: string | null;
  /** Length of the recording on the stream's timeline. */
  durationMs: number;
  framesByTrack: Partial<Record<Track, number>>;
  bytesByTrack: Partial<Record<Track, number>>;
  gaps: Gap[];
  anomalies: Anomalies;
  endReason: EndReason | null;
  /** The error that ended the stream, when `endReason` is `error`. */
  error: { code: string; message: string } | null;
  /** Notes added after the fact, e.g. by the repair on start. */
  notes: string[];
}
