import type { CommittedSegment } from './timeline.js';
import type { RecordingFile } from './storage.js';
import { MULAW_SILENCE, SAMPLE_RATE, WAV_HEADER_BYTES, wavHeader } from './wav.js';

/** Audio the writer could not buffer and wrote as silence instead, in stream time. */
export interface Overflow {
  readonly atMs: number;
  readonly durationMs: number;
}

/** Hooks the writer reports through (metrics, logs, sidecar). */
export interface WriterHooks {
  /** A chunk of audio was replaced by silence because the session's buffer was full. */
  onOverflow(overflow: Overflow): void;
  /** One write (data plus header) took `seconds`. */
  onWrite(seconds: number, bytes: number): void;
}

type QueueItem =
  | { readonly kind: 'audio'; readonly bytes: Uint8Array }
  | { readonly kind: 'silence'; bytes: number };

/** Largest single write, so silence and backlogs are written in bounded pieces. */
const MAX_WRITE_BYTES = 256 * 1024;

/** Writer states; a forbidden transition throws. */
export type WriterState = 'writing' | 'finishing' | 'closed' | 'failed';
const WRITER_TRANSITIONS: Record<WriterState, readonly WriterState[]> = {
  writing: ['finishing', 'failed'],
  finishing: ['closed', 'failed'],
  closed: [],
  failed: [],
};

/**
 * Appends one recording's audio asynchronously, behind a bounded per-session queue, and rewrites
 * the WAV header after every batch so the file on disk is always a playable WAV of everything
 * written so far (crash safety: at most the last unflushed batch is lost).
 *
 * The queue is bounded by `maxBufferedBytes`: audio that would overflow it is not kept in memory
 * but recorded as silence of the same length, so the file stays aligned with the call's clock and
 * the loss is reported (`onOverflow`), never silent.
 */
export class RecordingWriter {
  private state: WriterState = 'writing';
  private readonly queue: QueueItem[] = [];
  private bufferedBytes = 0;
  /** Bytes handed to the writer so far (audio and silence): the stream position of the next item. */
  private enqueuedBytes = 0;
  /** Bytes of audio data on disk. */
  private writtenBytes = 0;
  private pump: Promise<void> | null = null;
  private failure: Error | null = null;
  private pendingOverflow: { start: number; end: number } | null = null;

  constructor(
    private readonly file: RecordingFile,
    private readonly channels: 1 | 2,
    private readonly maxBufferedBytes: number,
    private readonly hooks: WriterHooks,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Bytes of audio data written to disk so far. */
  get dataBytes(): number {
    return this.writtenBytes;
  }

  /** Writes the initial (empty) header. */
  async init(): Promise<void> {
    await this.file.write(wavHeader(this.channels, 0), 0);
  }

  /** Queues committed audio; never blocks. Throws if the writer already failed or finished. */
  enqueue(segments: readonly CommittedSegment[]): void {
    if (this.state !== 'writing')
      throw new Error(`cannot write to a recording in state '${this.state}'`);
    for (const segment of segments) {
      if (segment.kind === 'silence') {
        this.pushSilence(segment.bytes);
      } else if (this.bufferedBytes + segment.bytes.length > this.maxBufferedBytes) {
        this.noteOverflow(this.enqueuedBytes, this.enqueuedBytes + segment.bytes.length);
        this.pushSilence(segment.bytes.length);
      } else {
        this.flushOverflowNote();
        this.queue.push({ kind: 'audio', bytes: segment.bytes });
        this.bufferedBytes += segment.bytes.length;
        this.enqueuedBytes += segment.bytes.length;
      }
    }
    this.flushOverflowNote();
    this.startPump();
  }

  /** Resolves once everything queued so far is on disk with a matching header. */
  async drain(): Promise<void> {
    while (this.pump !== null) await this.pump;
    if (this.failure !== null) throw this.failure;
  }

  /** Drains, pads the data chunk to an even size (RIFF rule), writes the final header, closes. */
  async finish(): Promise<void> {
    if (this.state === 'failed') {
      await this.file.close().catch(() => undefined);
      throw this.failure ?? new Error('the recording writer failed');
    }
    this.transition('finishing');
    try {
      await this.drain();
      if (this.writtenBytes % 2 === 1) {
        await this.file.write(Uint8Array.of(0), WAV_HEADER_BYTES + this.writtenBytes);
      }
      await this.file.write(wavHeader(this.channels, this.writtenBytes), 0);
      await this.file.close();
      this.transition('closed');
    } catch (error) {
      if ((this.state as WriterState) !== 'failed') this.transition('failed');
      await this.file.close().catch(() => undefined);
      throw error;
    }
  }

  private transition(next: WriterState): void {
    if (!WRITER_TRANSITIONS[this.state].includes(next)) {
      throw new Error(`cannot move a recording writer from '${this.state}' to '${next}'`);
    }
    this.state = next;
  }

  private pushSilence(bytes: number): void {
    if (bytes <= 0) return;
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'silence') last.bytes += bytes;
    else this.queue.push({ kind: 'silence', bytes });
    this.enqueuedBytes += bytes;
  }

  private noteOverflow(start: number, end: number): void {
    if (this.pendingOverflow !== null && this.pendingOverflow.end === start) {
      this.pendingOverflow.end = end;
    } else {
      this.flushOverflowNote();
      this.pendingOverflow = { start, end };
    }
  }

  private flushOverflowNote(): void {
    const o = this.pendingOverflow;
    if (o === null) return;
    this.pendingOverflow = null;
    const perMs = (SAMPLE_RATE / 1000) * this.channels;
    this.hooks.onOverflow({ atMs: o.start / perMs, durationMs: (o.end - o.start) / perMs });
  }

  private startPump(): void {
    if (this.pump !== null || this.failure !== null) return;
    this.pump = this.run().finally(() => {
      this.pump = null;
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && this.failure === null) {
      const batch = this.takeBatch();
      const started = this.now();
      try {
        await this.file.write(batch, WAV_HEADER_BYTES + this.writtenBytes);
        this.writtenBytes += batch.length;
        // Data first, then the header that covers it: a crash between the two leaves a header
        // that undercounts, which the next start repairs from the file size.
        await this.file.write(wavHeader(this.channels, this.writtenBytes), 0);
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
        if (this.state === 'writing') this.transition('failed');
        return;
      }
      this.hooks.onWrite((this.now() - started) / 1000, batch.length);
    }
  }

  private takeBatch(): Uint8Array {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.queue.length > 0 && size < MAX_WRITE_BYTES) {
      const item = this.queue[0];
      if (item === undefined) break;
      const room = MAX_WRITE_BYTES - size;
      if (item.kind === 'audio') {
        if (item.bytes.length > room && size > 0) break;
        parts.push(item.bytes);
        size += item.bytes.length;
        this.bufferedBytes -= item.bytes.length;
        this.queue.shift();
      } else {
        const take = Math.min(item.bytes, room);
        parts.push(new Uint8Array(take).fill(MULAW_SILENCE));
        size += take;
        item.bytes -= take;
        if (item.bytes === 0) this.queue.shift();
      }
    }
    return Buffer.concat(parts);
  }
}
