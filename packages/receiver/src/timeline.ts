import alawmulaw from 'alawmulaw';
import type { Track } from './messages.js';
import { MULAW_SILENCE, SAMPLE_RATE } from './wav.js';

/**
 * Places the audio of one stream on the stream's own timeline, by `media.timestamp` (milliseconds
 * since the stream started, twilio-facts §1), never by counting messages: Twilio may skip silent
 * chunks, so message counts drift from the call's clock. Frames wait in a small reorder window
 * before they are committed; whatever is still missing at commit time becomes silence and is
 * reported as a gap, on each track separately, so both channels of a stereo file stay aligned.
 *
 * Pure logic: no I/O, no timers. The session decides when to commit.
 */

const SAMPLES_PER_MS = SAMPLE_RATE / 1000;
/**
 * How far (in samples: 2 ms) a frame's timestamp may be from where its track's audio ends and still
 * be taken as the next frame. Twilio stamps each chunk in whole milliseconds of the call's clock,
 * so consecutive 20 ms frames may read 19 or 21 ms apart: placed literally, that leaves 1 ms of
 * silence (a click, and a gap in the sidecar) or overlaps the previous frame. A frame this close
 * is placed right after the previous one. The frame's own timestamp is compared each time, not the
 * previous placement, so the audio never drifts more than 2 ms from Twilio's clock: a steady skew
 * shows as a gap once it passes that.
 */
const JITTER_SAMPLES = 2 * SAMPLES_PER_MS;
/** Timestamps of committed frames are remembered this long, to tell duplicates from late frames. */
const DUPLICATE_MEMORY_MS = 10_000;

/** A run of committed output: interleaved audio bytes, or silence of a number of bytes. */
export type CommittedSegment =
  | { readonly kind: 'audio'; readonly bytes: Uint8Array }
  | { readonly kind: 'silence'; readonly bytes: number };

/** A stretch of one track with no audio, filled with silence. */
export interface Gap {
  readonly track: Track;
  /** Where the gap starts, in milliseconds on the stream's timeline. */
  readonly atMs: number;
  readonly durationMs: number;
}

/** The audio level of one track over one second of the stream's timeline. */
export interface TrackLevel {
  readonly track: Track;
  /** 0 for the first second of the stream. */
  readonly second: number;
  /** RMS level in dB relative to full scale (-Infinity for digital silence is reported as -100). */
  readonly rmsDbfs: number;
  /** Peak level in dBFS (-100 for digital silence). */
  readonly peakDbfs: number;
}

/** What {@link StreamTimeline.place} did with a frame. */
export type PlaceOutcome =
  | { readonly kind: 'placed'; readonly outOfOrder: boolean; readonly overlap: boolean }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'late' };

/** Output of one commit. */
export interface CommitResult {
  /** Output in file order, covering exactly `[fromMs, toMs)` of the timeline in every channel. */
  readonly segments: readonly CommittedSegment[];
  readonly fromMs: number;
  readonly toMs: number;
  /** Gaps that ended in this commit (or, on the final commit, every gap still open). */
  readonly gaps: readonly Gap[];
  /** Seconds of the timeline completed in this commit, per track. */
  readonly levels: readonly TrackLevel[];
}

interface PendingFrame {
  readonly start: number;
  readonly bytes: Uint8Array;
}

interface LevelAccumulator {
  second: number;
  sumSquares: number;
  samples: number;
  peak: number;
}

interface TrackState {
  readonly track: Track;
  /** Sorted by start; all start at or after the committed position. */
  readonly pending: PendingFrame[];
  /** Latest frame start seen, in samples (for out-of-order detection). */
  latestStart: number;
  /** End (exclusive) of the latest audio seen on this track, in samples; 0 before any. */
  latestEnd: number;
  /** Timestamps (ms) of recent frames, for duplicate detection. */
  readonly seen: Set<number>;
  /** Start of the gap still open at the committed position, in samples. */
  openGapStart: number | null;
  readonly level: LevelAccumulator;
}

const { decodeSample } = alawmulaw.mulaw;
/** Squared linear value of each µ-law byte, for level metering without per-sample decoding. */
const LINEAR = Array.from({ length: 256 }, (_, byte) => Math.abs(decodeSample(byte)));

function dbfs(linear: number): number {
  if (linear <= 0) return -100;
  return Math.max(-100, 20 * Math.log10(linear / 32768));
}

/** One stream's timeline: see the module comment. */
export class StreamTimeline {
  readonly tracks: readonly Track[];
  private readonly state: TrackState[];
  private readonly reorderSamples: number;
  private readonly maxLagSamples: number;
  /** Everything before this sample index has been committed, on every track. */
  private committed = 0;
  /** End (exclusive) of the latest audio seen on any track, in samples. */
  private end = 0;

  /**
   * @param tracks the tracks announced by `start`, in channel order.
   * @param reorderWindowMs how long a frame may arrive after a later one and still be placed.
   * @param maxTrackLagMs how far one track's audio may trail the other's and still be placed
   *   (never less than `reorderWindowMs`; by default equal to it).
   */
  constructor(tracks: readonly Track[], reorderWindowMs: number, maxTrackLagMs = reorderWindowMs) {
    this.tracks = tracks;
    this.reorderSamples = Math.round(reorderWindowMs * SAMPLES_PER_MS);
    this.maxLagSamples = Math.max(this.reorderSamples, Math.round(maxTrackLagMs * SAMPLES_PER_MS));
    this.state = tracks.map((track) => ({
      track,
      pending: [],
      latestStart: -1,
      latestEnd: 0,
      seen: new Set(),
      openGapStart: null,
      level: { second: 0, sumSquares: 0, samples: 0, peak: 0 },
    }));
  }

  /** Milliseconds committed so far, on every channel. */
  get committedMs(): number {
    return this.committed / SAMPLES_PER_MS;
  }

  /** End of the latest audio seen on any track, in milliseconds. */
  get endMs(): number {
    return this.end / SAMPLES_PER_MS;
  }

  /**
   * Places one frame. Late frames (before the committed position) are dropped, never moved.
   * Duplicates are recognised by track + timestamp, not by `chunk`: whether `chunk` counts per
   * track or per stream is UNCONFIRMED (twilio-facts §1).
   */
  place(track: Track, timestampMs: number, payload: Uint8Array): PlaceOutcome {
    const state = this.state.find((s) => s.track === track);
    if (state === undefined) throw new Error(`track '${track}' was not announced`);
    if (state.seen.has(timestampMs)) return { kind: 'duplicate' };
    const stamped = timestampMs * SAMPLES_PER_MS;
    // In order and within the jitter of where the track's audio ends: contiguous.
    const contiguous =
      state.latestEnd > 0 &&
      stamped >= state.latestStart &&
      Math.abs(stamped - state.latestEnd) <= JITTER_SAMPLES;
    const start = contiguous ? state.latestEnd : stamped;
    if (start < this.committed) return { kind: 'late' };
    state.seen.add(timestampMs);
    const outOfOrder = start < state.latestStart;
    state.latestStart = Math.max(state.latestStart, start);
    state.latestEnd = Math.max(state.latestEnd, start + payload.length);
    const frame = { start, bytes: payload };
    let at = state.pending.length;
    while (at > 0 && (state.pending[at - 1]?.start ?? 0) > start) at--;
    const before = state.pending[at - 1];
    const after = state.pending[at];
    const overlap =
      (before !== undefined && before.start + before.bytes.length > start) ||
      (after !== undefined && after.start < start + payload.length);
    state.pending.splice(at, 0, frame);
    this.end = Math.max(this.end, start + payload.length);
    return { kind: 'placed', outOfOrder, overlap };
  }

  /**
   * Commits everything older than the reorder window, or everything (`final`, or `all` when the
   * stream has gone quiet and nothing is left to reorder). Missing audio in the committed range is
   * silence; gaps that close (or, when final, that remain) are returned.
   */
  commit(final: boolean, all: boolean = final): CommitResult {
    const target = all ? this.end : Math.max(this.committed, this.heldBackTarget());
    const from = this.committed;
    const runsByTrack = this.state.map((s) => this.takeRuns(s, from, target));
    const gaps: Gap[] = [];
    const levels: TrackLevel[] = [];
    this.state.forEach((s, i) => {
      for (const run of runsByTrack[i] ?? []) {
        if (run.bytes === null) {
          s.openGapStart ??= run.start;
        } else if (s.openGapStart !== null) {
          gaps.push(gapOf(s.track, s.openGapStart, run.start));
          s.openGapStart = null;
        }
        this.meter(s, run, levels);
      }
      if (final) {
        if (s.openGapStart !== null && s.openGapStart < target) {
          gaps.push(gapOf(s.track, s.openGapStart, target));
        }
        s.openGapStart = null;
        if (s.level.samples > 0) levels.push(levelOf(s));
      }
      for (const ts of s.seen) {
        if ((ts + DUPLICATE_MEMORY_MS) * SAMPLES_PER_MS < target) s.seen.delete(ts);
      }
    });
    this.committed = target;
    return {
      segments: interleave(runsByTrack, from, target),
      fromMs: from / SAMPLES_PER_MS,
      toMs: target / SAMPLES_PER_MS,
      gaps,
      levels,
    };
  }

  /**
   * Where a non-final commit may end. Each track keeps its own reorder window behind its own
   * latest audio: Twilio sends the two tracks of a `both_tracks` stream as separate messages
   * (twilio-facts §1), and one of them may trail the other; committing by the leading track alone
   * would turn all of the trailing track's audio into late (dropped) frames. The wait is bounded by
   * `maxTrackLag` behind the newest audio, so a track that is silent (Twilio skips silent chunks)
   * or never sends cannot hold the recording back further than that.
   */
  private heldBackTarget(): number {
    const slowest = Math.min(...this.state.map((s) => s.latestEnd));
    const held = Math.max(slowest - this.reorderSamples, this.end - this.maxLagSamples);
    return Math.min(this.end - this.reorderSamples, held);
  }

  /** Splits `[from, to)` of one track into audio runs and silence runs (bytes null). */
  private takeRuns(s: TrackState, from: number, to: number): Run[] {
    const runs: Run[] = [];
    let cursor = from;
    while (cursor < to) {
      const frame = s.pending[0];
      if (frame === undefined || frame.start >= to) {
        runs.push({ start: cursor, end: to, bytes: null });
        cursor = to;
        break;
      }
      if (frame.start > cursor) {
        runs.push({ start: cursor, end: frame.start, bytes: null });
        cursor = frame.start;
      }
      const frameEnd = frame.start + frame.bytes.length;
      const takeEnd = Math.min(frameEnd, to);
      if (takeEnd > cursor) {
        runs.push({
          start: cursor,
          end: takeEnd,
          bytes: frame.bytes.subarray(cursor - frame.start, takeEnd - frame.start),
        });
        cursor = takeEnd;
      }
      if (frameEnd <= to) {
        s.pending.shift();
      } else {
        // The rest of this frame belongs after `to`: keep it for the next commit.
        s.pending[0] = { start: to, bytes: frame.bytes.subarray(to - frame.start) };
      }
    }
    // Frames wholly before the cursor (overlapped by earlier ones) are already covered.
    while (s.pending[0] !== undefined && s.pending[0].start < to) {
      const f = s.pending[0];
      if (f.start + f.bytes.length <= to) s.pending.shift();
      else s.pending[0] = { start: to, bytes: f.bytes.subarray(to - f.start) };
    }
    return runs;
  }

  private meter(s: TrackState, run: Run, out: TrackLevel[]): void {
    let at = run.start;
    while (at < run.end) {
      const second = Math.floor(at / SAMPLE_RATE);
      if (second !== s.level.second) {
        if (s.level.samples > 0) out.push(levelOf(s));
        s.level.second = second;
        s.level.sumSquares = 0;
        s.level.samples = 0;
        s.level.peak = 0;
      }
      const until = Math.min(run.end, (second + 1) * SAMPLE_RATE);
      if (run.bytes !== null) {
        for (let i = at - run.start; i < until - run.start; i++) {
          const v = LINEAR[run.bytes[i] ?? MULAW_SILENCE] ?? 0;
          s.level.sumSquares += v * v;
          if (v > s.level.peak) s.level.peak = v;
        }
      }
      s.level.samples += until - at;
      at = until;
    }
  }
}

interface Run {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array | null;
}

function gapOf(track: Track, start: number, end: number): Gap {
  return { track, atMs: start / SAMPLES_PER_MS, durationMs: (end - start) / SAMPLES_PER_MS };
}

function levelOf(s: TrackState): TrackLevel {
  const rms = Math.sqrt(s.level.sumSquares / s.level.samples);
  return {
    track: s.track,
    second: s.level.second,
    rmsDbfs: Math.round(dbfs(rms) * 10) / 10,
    peakDbfs: Math.round(dbfs(s.level.peak) * 10) / 10,
  };
}

/** Merges per-track runs into file order: interleaved audio, or silence where every track is silent. */
function interleave(runsByTrack: readonly Run[][], from: number, to: number): CommittedSegment[] {
  const channels = runsByTrack.length;
  const bounds = new Set<number>([from, to]);
  for (const runs of runsByTrack) for (const r of runs) bounds.add(r.start).add(r.end);
  const points = [...bounds].filter((p) => p >= from && p <= to).sort((a, b) => a - b);
  const cursors = runsByTrack.map(() => 0);
  const segments: CommittedSegment[] = [];
  const push = (segment: CommittedSegment): void => {
    const last = segments[segments.length - 1];
    if (segment.kind === 'silence' && last?.kind === 'silence') {
      segments[segments.length - 1] = { kind: 'silence', bytes: last.bytes + segment.bytes };
    } else {
      segments.push(segment);
    }
  };
  for (let p = 0; p + 1 < points.length; p++) {
    const start = points[p] ?? 0;
    const end = points[p + 1] ?? 0;
    const length = end - start;
    const parts = runsByTrack.map((runs, c) => {
      let i = cursors[c] ?? 0;
      while ((runs[i]?.end ?? Infinity) <= start) i++;
      cursors[c] = i;
      const run = runs[i];
      return run?.bytes == null ? null : run.bytes.subarray(start - run.start, end - run.start);
    });
    if (parts.every((part) => part === null)) {
      push({ kind: 'silence', bytes: length * channels });
      continue;
    }
    if (channels === 1) {
      push({ kind: 'audio', bytes: parts[0] ?? new Uint8Array(0) });
      continue;
    }
    const bytes = new Uint8Array(length * channels).fill(MULAW_SILENCE);
    parts.forEach((part, c) => {
      if (part === null) return;
      for (let i = 0; i < length; i++) bytes[i * channels + c] = part[i] ?? MULAW_SILENCE;
    });
    push({ kind: 'audio', bytes });
  }
  return segments;
}
