import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { ReceiverError, isReceiverError } from './errors.js';
import type { EventHub } from './events.js';
import { parseMessage, type MediaMessage, type StartMessage, type Track } from './messages.js';
import type { ReceiverMetrics } from './metrics.js';
import { candidateName, recordingBaseName } from './naming.js';
import type { EndReason, Sidecar } from './sidecar.js';
import { isAlreadyExists, type RecordingStorage } from './storage.js';
import { StreamTimeline, type CommitResult } from './timeline.js';
import { WAV_HEADER_BYTES, durationMsOf } from './wav.js';
import { RecordingWriter } from './writer.js';

/** The socket as a session sees it. */
export interface SessionSocket {
  close(code: number, reason: string): void;
}

/** Everything a session needs, passed in (ports and settings). */
export interface SessionContext {
  readonly recordingsDir: string;
  readonly storage: RecordingStorage;
  /** Wall clock, epoch milliseconds: for `startedAt` / `endedAt`. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: ReceiverMetrics;
  readonly events: EventHub;
  readonly reorderWindowMs: number;
  /** How far one track may trail the other and still be placed (see StreamTimeline). */
  readonly maxTrackLagMs: number;
  readonly flushIntervalMs: number;
  /**
   * At most how often an open recording's sidecar is rewritten (0: on every flush that changed
   * it). Counted in flushes, so no clock is needed: every `ceil(sidecarIntervalMs /
   * flushIntervalMs)` flushes.
   */
  readonly sidecarIntervalMs: number;
  readonly maxMessageBytes: number;
  readonly maxBufferedBytes: number;
  readonly maxForwardJumpMs: number;
  readonly nameParameter: string;
  readonly fileNameTemplate: string | undefined;
  readonly startTimeoutMs: number;
  /** How long a socket may stay open after `stop` before the receiver closes it (1000). */
  readonly closeAfterStopMs: number;
}

/**
 * Session states. `awaiting-start`: socket open, no `start` yet. `recording`: files open (or
 * opening), audio being placed. `finishing`: the stream ended (stop, close or error); the last
 * audio, header and sidecar are being written. `done`: nothing left to do.
 */
export type SessionState = 'awaiting-start' | 'recording' | 'finishing' | 'done';

const TRANSITIONS: Record<SessionState, readonly SessionState[]> = {
  'awaiting-start': ['recording', 'done'],
  recording: ['finishing'],
  finishing: ['done'],
  done: [],
};

/** WAV data is limited to 2^32 - 1 bytes; a stream must end before that. */
const MAX_DATA_BYTES = 0xffffffff - WAV_HEADER_BYTES - 1;
/** Commit early when this much audio waits uncommitted, so a flood cannot pile up in memory. */
const MAX_PENDING_MS = 2_000;

interface Recording {
  readonly start: StartMessage;
  readonly timeline: StreamTimeline;
  readonly sidecar: Sidecar;
  readonly log: Logger;
  wavPath: string | null;
  sidecarPath: string | null;
  writer: RecordingWriter | null;
  /** Resolves once the files are open (or opening failed). */
  opened: Promise<void>;
  timer: NodeJS.Timeout | null;
  /** Serialises sidecar writes so an older one never replaces a newer one. */
  sidecarWrites: Promise<void>;
  /** The sidecar text last written, so an idle stream does not rewrite it every flush. */
  sidecarText: string;
  /** Timer flushes since the sidecar was last considered for a rewrite. */
  flushesSinceSidecar: number;
  /** Media arrived since the last flush tick. */
  mediaSinceTick: boolean;
}

/**
 * One WebSocket: one Media Stream (twilio-facts §1: each socket carries exactly one stream).
 * Messages are handled synchronously in arrival order; disk work is asynchronous and never blocks
 * other sessions. Bad input closes this socket only, with the close code of its error.
 */
export class MediaStreamSession {
  private state: SessionState = 'awaiting-start';
  private recording: Recording | null = null;
  private stopReceived = false;
  /** Set by the first error: later input on a socket being closed is ignored, not re-reported. */
  private failed = false;
  private readonly finishedPromise: Promise<void>;
  private resolveFinished: () => void = () => undefined;
  private log: Logger;
  private readonly startTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: SessionSocket,
    private readonly ctx: SessionContext,
    remoteAddress: string | null,
  ) {
    this.log = ctx.logger.child({ remoteAddress });
    this.finishedPromise = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    ctx.metrics.activeSessions.inc();
    this.startTimer = setTimeout(() => {
      if (this.state === 'awaiting-start') {
        this.fail(
          new ReceiverError(
            'FS_RCV_START_TIMEOUT',
            `no start within startTimeoutMs (${ctx.startTimeoutMs} ms)`,
          ),
        );
      }
    }, ctx.startTimeoutMs);
    this.startTimer.unref();
  }

  /** Current state. */
  get currentState(): SessionState {
    return this.state;
  }

  /** Resolves when the session is done: its recording (if any) is complete on disk. */
  get finished(): Promise<void> {
    return this.finishedPromise;
  }

  /** A text frame arrived. Never throws. */
  onText(text: string, byteLength: number): void {
    if (this.failed || this.state === 'done') return;
    if (this.state === 'finishing' && !this.stopReceived) return;
    try {
      // Before `start`, frames up to the WebSocket library's own ceiling are read: `start` carries
      // up to 99 custom parameters (twilio-facts §2) whose values have no documented length
      // limit, and refusing it would lose the whole recording. Media frames are ~160 bytes.
      if (byteLength > this.ctx.maxMessageBytes && this.state !== 'awaiting-start') {
        throw new ReceiverError(
          'FS_RCV_MESSAGE_TOO_LARGE',
          `a ${byteLength}-byte message exceeds maxMessageBytes (${this.ctx.maxMessageBytes})`,
        );
      }
      this.handle(text);
    } catch (error) {
      this.fail(error);
    }
  }

  /** A binary frame arrived: Media Streams only sends JSON text frames. Never throws. */
  onBinary(): void {
    if (this.failed || this.state === 'done') return;
    if (this.state === 'finishing' && !this.stopReceived) return;
    this.fail(
      new ReceiverError('FS_RCV_BINARY_FRAME', 'Media Streams messages are JSON text frames'),
    );
  }

  /** The WebSocket library reported a protocol error (it closes the socket itself). */
  onSocketError(error: ReceiverError): void {
    if (this.state === 'done' || this.state === 'finishing') return;
    this.fail(error, false);
  }

  /** The socket closed. */
  onClose(code: number): void {
    if (this.state === 'awaiting-start') {
      this.transition('done');
      this.end();
    } else if (this.state === 'recording') {
      this.log.info({ code }, 'socket closed without stop; finishing the recording');
      this.finishInBackground('socket-closed', null);
    }
  }

  /** The receiver is shutting down: finish the recording and close with 1001 (going away). */
  async shutdown(): Promise<void> {
    if (this.state === 'recording') {
      this.recording?.sidecar.notes.push('The receiver shut down while the stream was open.');
      const finishing = this.finish('socket-closed', null);
      this.socket.close(1001, 'receiver shutting down');
      await finishing;
    } else if (this.state === 'awaiting-start') {
      this.socket.close(1001, 'receiver shutting down');
      // Done now: a peer that never answers the close must not hold the shutdown.
      this.transition('done');
      this.end();
    }
    await this.finishedPromise;
  }

  private transition(next: SessionState): void {
    if (!TRANSITIONS[this.state].includes(next)) {
      throw new Error(`cannot move a media stream session from '${this.state}' to '${next}'`);
    }
    this.state = next;
  }

  private handle(text: string): void {
    const message = parseMessage(text);
    if (this.stopReceived) {
      throw new ReceiverError('FS_RCV_MESSAGE_AFTER_STOP', `'${message.event}' after stop`);
    }
    switch (message.event) {
      case 'connected':
        if (this.state !== 'awaiting-start') {
          throw new ReceiverError('FS_RCV_INVALID_MESSAGE', 'connected after start');
        }
        this.log.debug({ protocol: message.protocol, version: message.version }, 'connected');
        return;
      case 'start':
        if (this.state !== 'awaiting-start') {
          throw new ReceiverError(
            'FS_RCV_DUPLICATE_START',
            'a socket carries one stream: second start',
          );
        }
        this.begin(message);
        return;
      case 'media':
        this.onMedia(this.expectStreaming(message.streamSid, 'media'), message);
        return;
      case 'stop': {
        const recording = this.expectStreaming(message.streamSid, 'stop');
        // The recording is finished now. Whether Twilio closes the socket right after `stop` is
        // UNCONFIRMED (twilio-facts §1), and closing it at once could log 31921 at Twilio, so
        // the socket is left for Twilio to close; a peer that never does is closed with 1000
        // after closeAfterStopMs, so finished streams cannot pile up open sockets.
        recording.log.info('stop received');
        this.stopReceived = true;
        this.finishInBackground('stop', null);
        setTimeout(() => {
          this.socket.close(1000, 'stream stopped');
        }, this.ctx.closeAfterStopMs).unref();
        return;
      }
      case 'dtmf':
        this.expectStreaming(message.streamSid, 'dtmf').log.info(
          { digit: message.digit, track: message.track },
          'dtmf received',
        );
        return;
      case 'mark':
        this.expectStreaming(message.streamSid, 'mark').log.debug({ name: message.name }, 'mark');
        return;
    }
  }

  private expectStreaming(streamSid: string, event: string): Recording {
    const recording = this.recording;
    if (this.state !== 'recording' || recording === null) {
      throw new ReceiverError('FS_RCV_MEDIA_BEFORE_START', `'${event}' before start`);
    }
    if (streamSid !== recording.start.streamSid) {
      throw new ReceiverError(
        'FS_RCV_STREAM_SID_MISMATCH',
        `'${event}' for ${streamSid} on the socket of ${recording.start.streamSid}`,
      );
    }
    return recording;
  }

  private begin(start: StartMessage): void {
    const { encoding, sampleRate, channels } = start.mediaFormat;
    // twilio-facts §1: the format is fixed at audio/x-mulaw, 8000 Hz, mono per track.
    if (encoding !== 'audio/x-mulaw' || sampleRate !== 8000 || channels !== 1) {
      throw new ReceiverError(
        'FS_RCV_UNSUPPORTED_FORMAT',
        `mediaFormat ${encoding} ${sampleRate} Hz ${channels} ch; expected audio/x-mulaw 8000 Hz 1 ch`,
      );
    }
    this.transition('recording');
    clearTimeout(this.startTimer);
    const streamName = start.customParameters[this.ctx.nameParameter] ?? null;
    this.log = this.log.child({ callSid: start.callSid, streamSid: start.streamSid });
    const sidecar: Sidecar = {
      format: 'flex-streams-recording/1',
      streamSid: start.streamSid,
      callSid: start.callSid,
      accountSid: start.accountSid,
      streamName,
      tracks: start.tracks,
      channels: Object.fromEntries(start.tracks.map((t, i) => [t, i + 1])),
      customParameters: start.customParameters,
      wav: '',
      startedAt: new Date(this.ctx.now()).toISOString(),
      endedAt: null,
      durationMs: 0,
      framesByTrack: Object.fromEntries(start.tracks.map((t) => [t, 0])),
      bytesByTrack: Object.fromEntries(start.tracks.map((t) => [t, 0])),
      gaps: [],
      anomalies: { duplicates: 0, outOfOrder: 0, late: 0, overlaps: 0, overflows: [] },
      endReason: null,
      error: null,
      notes: [],
    };
    const recording: Recording = {
      start,
      timeline: new StreamTimeline(start.tracks, this.ctx.reorderWindowMs, this.ctx.maxTrackLagMs),
      sidecar,
      log: this.log,
      wavPath: null,
      sidecarPath: null,
      writer: null,
      opened: Promise.resolve(),
      timer: null,
      sidecarWrites: Promise.resolve(),
      sidecarText: '',
      flushesSinceSidecar: 0,
      mediaSinceTick: false,
    };
    this.recording = recording;
    this.log.info({ tracks: start.tracks, streamName }, 'stream started');
    recording.opened = this.open(recording).catch((error: unknown) => {
      this.fail(
        new ReceiverError('FS_RCV_RECORDING_FAILED', 'could not create the recording files', {
          cause: error,
        }),
      );
    });
  }

  private async open(recording: Recording): Promise<void> {
    const { start, sidecar } = recording;
    const dir = join(this.ctx.recordingsDir, start.callSid);
    await this.ctx.storage.mkdir(dir);
    const base = recordingBaseName({
      streamName: sidecar.streamName,
      streamSid: start.streamSid,
      callSid: start.callSid,
      customParameters: start.customParameters,
      fileNameTemplate: this.ctx.fileNameTemplate,
    });
    const channels = start.tracks.length === 2 ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      const name = candidateName(base, attempt);
      const wavPath = join(dir, `${name}.wav`);
      try {
        const file = await this.ctx.storage.createExclusive(wavPath);
        recording.wavPath = wavPath;
        recording.sidecarPath = join(dir, `${name}.json`);
        sidecar.wav = basename(wavPath);
        const writer = new RecordingWriter(file, channels, this.ctx.maxBufferedBytes, {
          onOverflow: (overflow) => {
            const list = sidecar.anomalies.overflows;
            const last = list[list.length - 1];
            if (
              last !== undefined &&
              Math.abs(last.atMs + last.durationMs - overflow.atMs) < 1e-6
            ) {
              // The same congestion continuing: one entry, one log line, one count.
              list[list.length - 1] = {
                atMs: last.atMs,
                durationMs: last.durationMs + overflow.durationMs,
              };
              return;
            }
            list.push(overflow);
            this.ctx.metrics.bufferOverflows.inc();
            recording.log.warn(
              overflow,
              'write buffer full (disk too slow): audio recorded as silence; see anomalies.overflows',
            );
            this.emitAnomaly(
              recording,
              'overflow',
              null,
              overflow.atMs,
              overflow.durationMs,
              'write buffer full',
            );
          },
          onWrite: (seconds) => {
            this.ctx.metrics.writeLatency.observe(seconds);
          },
        });
        await writer.init();
        recording.writer = writer;
        break;
      } catch (error) {
        if (isAlreadyExists(error) && attempt < 1000) continue;
        throw error;
      }
    }
    // Announced even when the stream already ended while the files were opening, so every
    // streamStopped has its streamStarted.
    this.ctx.events.emit('streamStarted', {
      streamSid: start.streamSid,
      callSid: start.callSid,
      accountSid: start.accountSid,
      streamName: sidecar.streamName,
      tracks: start.tracks,
      customParameters: start.customParameters,
      wavPath: recording.wavPath,
      sidecarPath: recording.sidecarPath,
    });
    if (this.state !== 'recording') return;
    this.writeSidecar(recording);
    const flushesPerSidecar = Math.max(
      1,
      Math.ceil(this.ctx.sidecarIntervalMs / this.ctx.flushIntervalMs),
    );
    recording.timer = setInterval(() => {
      try {
        // A whole flush interval without media (Twilio skipping silence, or a stalled sender):
        // nothing is left to reorder, so the audio held back by the window goes to disk too.
        this.commit(recording, false, !recording.mediaSinceTick);
        recording.mediaSinceTick = false;
        // While recording only durationMs, the counters, gaps and overflows change (the rest is
        // set at start or at the end), and the repair recomputes durationMs from the WAV and says
        // how far the rest reached: a rewrite on every flush only made those less stale after a
        // crash, at about a third of the CPU per frame (docs/benchmarks.md, receiver-sidecar).
        if (++recording.flushesSinceSidecar >= flushesPerSidecar) {
          recording.flushesSinceSidecar = 0;
          this.writeSidecar(recording);
        }
      } catch (error) {
        this.fail(error);
      }
    }, this.ctx.flushIntervalMs);
    recording.timer.unref();
  }

  private onMedia(recording: Recording, media: MediaMessage): void {
    const { timeline, sidecar } = recording;
    const track = media.track;
    if (!timeline.tracks.includes(track)) {
      throw new ReceiverError(
        'FS_RCV_TRACK_NOT_ANNOUNCED',
        `media on track '${track}'; start announced ${timeline.tracks.join(', ')}`,
      );
    }
    const endMs = media.timestampMs + media.payload.length / 8;
    const limitMs = (MAX_DATA_BYTES / timeline.tracks.length / 8) | 0;
    if (media.timestampMs > timeline.endMs + this.ctx.maxForwardJumpMs || endMs > limitMs) {
      throw new ReceiverError(
        'FS_RCV_TIMESTAMP_OUT_OF_RANGE',
        `timestamp ${media.timestampMs} ms is more than maxForwardJumpMs (${this.ctx.maxForwardJumpMs}) after the stream's audio (${timeline.endMs} ms) or past the longest recording`,
      );
    }
    this.ctx.metrics.frames.inc({ track });
    this.ctx.metrics.bytes.inc({ track }, media.payload.length);
    sidecar.framesByTrack[track] = (sidecar.framesByTrack[track] ?? 0) + 1;
    sidecar.bytesByTrack[track] = (sidecar.bytesByTrack[track] ?? 0) + media.payload.length;
    recording.mediaSinceTick = true;
    const outcome = timeline.place(track, media.timestampMs, media.payload);
    const at = media.timestampMs;
    switch (outcome.kind) {
      case 'duplicate':
        sidecar.anomalies.duplicates++;
        this.emitAnomaly(
          recording,
          'duplicate',
          track,
          at,
          null,
          `duplicate frame (chunk ${media.chunk}) dropped`,
        );
        break;
      case 'late':
        sidecar.anomalies.late++;
        this.emitAnomaly(
          recording,
          'late',
          track,
          at,
          null,
          `frame (chunk ${media.chunk}) arrived after its place was written; dropped`,
        );
        break;
      case 'placed':
        if (outcome.outOfOrder) {
          sidecar.anomalies.outOfOrder++;
          this.emitAnomaly(
            recording,
            'out-of-order',
            track,
            at,
            null,
            `frame (chunk ${media.chunk}) out of order; placed by timestamp`,
          );
        }
        if (outcome.overlap) {
          sidecar.anomalies.overlaps++;
          this.emitAnomaly(
            recording,
            'overlap',
            track,
            at,
            null,
            `frame (chunk ${media.chunk}) overlaps another frame; the earlier-starting one wins`,
          );
        }
        break;
    }
    if (timeline.endMs - timeline.committedMs > MAX_PENDING_MS && recording.writer !== null) {
      this.commit(recording, false);
    }
  }

  private commit(recording: Recording, final: boolean, all = final): void {
    const writer = recording.writer;
    if (writer === null) return;
    const result = recording.timeline.commit(final, all);
    try {
      writer.enqueue(result.segments);
    } catch (error) {
      this.fail(
        new ReceiverError('FS_RCV_RECORDING_FAILED', 'the recording cannot be written', {
          cause: error,
        }),
      );
      return;
    }
    this.report(recording, result);
    if (!final) {
      recording.sidecar.durationMs = result.toMs;
      writer.drain().catch((error: unknown) => {
        this.fail(
          new ReceiverError('FS_RCV_RECORDING_FAILED', 'writing audio failed', { cause: error }),
        );
      });
    }
  }

  private report(recording: Recording, result: CommitResult): void {
    const { start, sidecar } = recording;
    for (const gap of result.gaps) {
      sidecar.gaps.push(gap);
      this.ctx.metrics.gaps.inc({ track: gap.track });
      this.ctx.metrics.gapSeconds.inc({ track: gap.track }, gap.durationMs / 1000);
      this.emitAnomaly(
        recording,
        'gap',
        gap.track,
        gap.atMs,
        gap.durationMs,
        'no audio: filled with silence',
      );
    }
    for (const level of result.levels) {
      this.ctx.events.emit('level', {
        ...level,
        streamSid: start.streamSid,
        callSid: start.callSid,
      });
    }
  }

  private emitAnomaly(
    recording: Recording | null,
    kind: 'gap' | 'duplicate' | 'out-of-order' | 'late' | 'overlap' | 'overflow',
    track: Track | null,
    atMs: number | null,
    durationMs: number | null,
    message: string,
  ): void {
    this.ctx.metrics.anomalies.inc({ kind });
    recording?.log.debug({ kind, track, atMs, durationMs }, message);
    this.ctx.events.emit('anomaly', {
      streamSid: recording?.start.streamSid ?? null,
      callSid: recording?.start.callSid ?? null,
      kind,
      track,
      atMs,
      durationMs,
      code: null,
      message,
    });
  }

  private writeSidecar(recording: Recording): void {
    const path = recording.sidecarPath;
    if (path === null) return;
    const text = `${JSON.stringify(recording.sidecar, null, 2)}\n`;
    if (text === recording.sidecarText) return;
    recording.sidecarText = text;
    recording.sidecarWrites = recording.sidecarWrites
      .then(() => this.ctx.storage.writeTextAtomic(path, text))
      .catch((error: unknown) => {
        recording.log.error({ err: error, path }, 'could not write the sidecar');
      });
  }

  /** Bad input or a failed write: one log line, this socket closed with its code. */
  private fail(error: unknown, closeSocket = true): void {
    if (this.failed) return;
    this.failed = true;
    const err = isReceiverError(error)
      ? error
      : new ReceiverError('FS_RCV_RECORDING_FAILED', 'unexpected failure', { cause: error });
    this.ctx.metrics.protocolErrors.inc({ code: err.code });
    this.log.warn(
      {
        code: err.code,
        closeCode: err.closeCode,
        ...(err.cause instanceof Error ? { cause: err.cause.message } : {}),
      },
      `${err.message}; closing this stream's socket (see packages/receiver/README.md, close codes)`,
    );
    this.ctx.events.emit('anomaly', {
      streamSid: this.recording?.start.streamSid ?? null,
      callSid: this.recording?.start.callSid ?? null,
      kind: 'protocol-error',
      track: null,
      atMs: null,
      durationMs: null,
      code: err.code,
      message: err.message,
    });
    if (closeSocket) this.socket.close(err.closeCode ?? 1011, err.code);
    if (this.state === 'awaiting-start') {
      this.transition('done');
      this.end();
    } else if (this.state === 'recording') {
      this.finishInBackground('error', err);
    }
  }

  /** Starts `finish` without awaiting it; a failure is logged, never an unhandled rejection. */
  private finishInBackground(reason: EndReason, error: ReceiverError | null): void {
    this.finish(reason, error).catch((failure: unknown) => {
      this.log.error({ err: failure }, 'finishing the session failed');
    });
  }

  private async finish(reason: EndReason, error: ReceiverError | null): Promise<void> {
    const recording = this.recording;
    this.transition('finishing');
    if (recording === null) {
      this.transition('done');
      this.end();
      return;
    }
    const { sidecar } = recording;
    try {
      await recording.opened;
      if (recording.timer !== null) clearInterval(recording.timer);
      const writer = recording.writer;
      if (writer !== null) {
        const result = recording.timeline.commit(true);
        writer.enqueue(result.segments);
        this.report(recording, result);
        sidecar.durationMs = result.toMs;
        await writer.finish();
      }
      sidecar.endReason = reason;
      if (error !== null) sidecar.error = { code: error.code, message: error.message };
    } catch (failure) {
      recording.log.error({ err: failure }, 'finishing the recording failed');
      // The sidecar describes the file as it is: only what reached the disk.
      if (recording.writer !== null) {
        sidecar.durationMs = durationMsOf(
          recording.writer.dataBytes,
          recording.timeline.tracks.length === 2 ? 2 : 1,
        );
      }
      sidecar.endReason = 'error';
      sidecar.error ??= {
        code: 'FS_RCV_RECORDING_FAILED',
        message: failure instanceof Error ? failure.message : String(failure),
      };
    }
    sidecar.endedAt = new Date(this.ctx.now()).toISOString();
    this.writeSidecar(recording);
    await recording.sidecarWrites;
    this.ctx.metrics.sessions.inc({ end_reason: sidecar.endReason });
    recording.log.info(
      { endReason: sidecar.endReason, durationMs: sidecar.durationMs, wav: recording.wavPath },
      'recording finished',
    );
    if (recording.wavPath !== null && recording.sidecarPath !== null) {
      this.ctx.events.emit('streamStopped', {
        streamSid: recording.start.streamSid,
        callSid: recording.start.callSid,
        endReason: sidecar.endReason,
        wavPath: recording.wavPath,
        sidecarPath: recording.sidecarPath,
        sidecar: structuredClone(sidecar),
      });
    }
    this.transition('done');
    this.end();
  }

  private end(): void {
    clearTimeout(this.startTimer);
    this.ctx.metrics.activeSessions.dec();
    this.resolveFinished();
  }
}
