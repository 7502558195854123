import type { Logger } from 'pino';
import WebSocket from 'ws';
import { createFrameRenderer, isAudible, type FrameRenderer } from '../audio/synth.js';
import { SAMPLE_RATE } from '../audio/voices.js';
import { twilioSignature } from '../webhooks/signature.js';
import { STREAM_ERRORS, type StreamErrorKind } from './errors.js';
import {
  CONNECTED_MESSAGE,
  createMediaMessageBuilder,
  startMessage,
  stopMessage,
} from './messages.js';
import type {
  CallAudioSource,
  Clock,
  MediaStreamSpec,
  MediaStreamStats,
  MediaStreamsClient,
  MediaStreamsListener,
  Sound,
  StreamTrack,
} from './ports.js';
import { isStreamOver, transition, type StreamState } from './stream-state.js';
import { checkStreamUrl } from './url.js';

/** Options of `createMediaStreamsClient`. */
export interface MediaStreamsClientOptions {
  /** What each call's tracks carry, asked once per track per frame at the frame's start time. */
  readonly audio: CallAudioSource;
  /** The emulator's clock: frame times, timestamps and pacing are measured on it. */
  readonly clock: Clock;
  /** Told when a stream has started and when one failed. Its exceptions are logged, never rethrown. */
  readonly listener: MediaStreamsListener;
  /** Signs each upgrade request with `X-Twilio-Signature`. */
  readonly authToken: string;
  readonly logger: Logger;
  /** Audio per `media` message, in ms (default 20: 160 µ-law bytes, as Twilio sends). */
  readonly frameMs?: number;
  /** How long the WebSocket upgrade may take before the stream fails with 31901 (default 10 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Leave frames with no audible sound unsent (default false), as Twilio may do on some calls
   * (twilio-facts §1, [2ND]: Phonic-Co/phonic-node PR #32): receivers must place audio by
   * `timestamp`. Skipped frames count in `skippedByTrack`.
   */
  readonly skipSilentFrames?: boolean;
}

/** Extra wake-ups are at least this far apart: with many streams, one tick serves them all. */
const MIN_TICK_MS = 5;
/** At most this many frames per track are sent per stream per tick when catching up. */
const MAX_CATCH_UP_FRAMES = 50;
/** Above this many unsent bytes the socket is congested and frames are dropped (31930). */
const MAX_BUFFERED_BYTES = 1 << 20;
/** How long `stop()` waits for the server's close frame before dropping the socket. */
const CLOSE_TIMEOUT_MS = 2000;
/** Largest message accepted from the server: a unidirectional stream expects none at all. */
const MAX_INCOMING_BYTES = 64 * 1024;

const NETWORK_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Everything the engine keeps about one stream. */
interface StreamRecord {
  readonly spec: MediaStreamSpec;
  readonly log: Logger;
  state: StreamState;
  socket: WebSocket | null;
  connectTimer: ReturnType<typeof setTimeout> | null;
  closeTimer: ReturnType<typeof setTimeout> | null;
  /** Clock time at which `start` was sent: frame k covers [t0 + k·frameMs, t0 + (k+1)·frameMs). */
  startedAtMs: number | null;
  endedAtMs: number | null;
  /** Absolute sample index of frame 0, so tone phase follows the clock. */
  firstSample: number;
  /** Index of the next frame to send (on every track). */
  nextFrame: number;
  /** The last sequence number used: 1 after `start`. */
  sequenceNumber: number;
  readonly chunks: Record<StreamTrack, number>;
  readonly frames: Record<StreamTrack, number>;
  readonly skipped: Record<StreamTrack, number>;
  /** Frames starting in [from, until) on a track are left unsent (`injectGap`). */
  readonly gaps: Record<StreamTrack, { from: number; until: number }>;
  buildMedia:
    | ((seq: number, track: StreamTrack, chunk: number, ts: number, payload: string) => string)
    | null;
  /** The last socket error seen, to tell a broken pipe from a protocol error on close. */
  lastSocketError: (Error & { code?: string }) | null;
  warnedBinary: boolean;
  warnedOverflow: boolean;
  warnedAudio: boolean;
  warnedInternal: boolean;
  /** Resolvers of `stop()` calls waiting for the socket to close. */
  readonly closeWaiters: (() => void)[];
}

/**
 * Creates the emulator's Media Streams engine: for every `open(spec)` it plays Twilio's part of a
 * unidirectional Media Stream (twilio-facts §1). It connects to `spec.url` with the upgrade signed
 * by `X-Twilio-Signature`, sends `connected` and `start`, then one `media` message per track every
 * `frameMs`, paced on `clock`, and `stop` on `stop()`. One timer paces every stream. Failures are
 * reported through `listener.onError` with Twilio's 319xx code; nothing here throws to the caller
 * or disturbs another stream. See `docs/media.md`.
 */
export function createMediaStreamsClient(options: MediaStreamsClientOptions): MediaStreamsClient {
  const { audio, clock, listener, authToken, logger } = options;
  const frameMs = options.frameMs ?? 20;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const skipSilentFrames = options.skipSilentFrames ?? false;
  const samplesPerFrame = (frameMs * SAMPLE_RATE) / 1000;
  if (!Number.isInteger(samplesPerFrame) || samplesPerFrame <= 0) {
    throw new RangeError(`frameMs must be a positive multiple of 0.125 ms, got ${frameMs}`);
  }
  if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) {
    throw new RangeError(`connectTimeoutMs must be a positive number, got ${connectTimeoutMs}`);
  }
  const renderer: FrameRenderer = createFrameRenderer(samplesPerFrame);
  const streams = new Map<string, StreamRecord>();
  /** Streams in state `streaming`, the only ones the pacing timer visits. */
  const live = new Set<StreamRecord>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timerDueMs = Number.POSITIVE_INFINITY;
  let closed = false;

  const safely = (what: string, record: StreamRecord, call: () => void): void => {
    try {
      call();
    } catch (error) {
      record.log.error({ err: error }, `media listener ${what} threw; the stream is unaffected`);
    }
  };

  const setState = (record: StreamRecord, to: StreamState): void => {
    record.state = transition(record.spec.streamSid, record.state, to);
  };

  const clearTimers = (record: StreamRecord): void => {
    if (record.connectTimer) clearTimeout(record.connectTimer);
    if (record.closeTimer) clearTimeout(record.closeTimer);
    record.connectTimer = null;
    record.closeTimer = null;
  };

  /** Ends the stream with an error: reports it once, drops the socket, frees the pacing slot. */
  const fail = (record: StreamRecord, kind: StreamErrorKind, detail: string): void => {
    if (isStreamOver(record.state) || record.state === 'stopping') return;
    const { code, title } = STREAM_ERRORS[kind];
    setState(record, 'failed');
    record.endedAtMs = clock.now();
    live.delete(record);
    clearTimers(record);
    const socket = record.socket;
    record.socket = null;
    if (socket && socket.readyState !== WebSocket.CLOSED) socket.terminate();
    const message = `${title}: ${detail}`;
    record.log.warn({ code }, `stream failed: ${message}`);
    safely('onError', record, () => {
      listener.onError(record.spec.streamSid, code, message);
    });
  };

  /** Reports a failure found before any I/O, after `open` has returned (as a real failure would). */
  const failSoon = (record: StreamRecord, kind: StreamErrorKind, detail: string): void => {
    setImmediate(() => {
      fail(record, kind, detail);
    });
  };

  const finishClose = (record: StreamRecord): void => {
    clearTimers(record);
    record.socket = null;
    if (record.state === 'stopping' || record.state === 'connecting') setState(record, 'stopped');
    record.endedAtMs ??= clock.now();
    for (const resolve of record.closeWaiters.splice(0)) resolve();
  };

  const schedule = (dueMs: number): void => {
    if (closed || (timer !== null && timerDueMs <= dueMs)) return;
    if (timer !== null) clearTimeout(timer);
    timerDueMs = dueMs;
    timer = setTimeout(tick, Math.max(0, dueMs - clock.now()));
  };

  const nextDueMs = (record: StreamRecord): number =>
    (record.startedAtMs ?? 0) + (record.nextFrame + 1) * frameMs;

  const soundsOf = (record: StreamRecord, track: StreamTrack, atMs: number): readonly Sound[] => {
    try {
      return track === 'inbound'
        ? audio.inbound(record.spec.callSid, atMs)
        : audio.outbound(record.spec.callSid, atMs);
    } catch (error) {
      if (!record.warnedAudio) {
        record.warnedAudio = true;
        record.log.error({ err: error, track }, 'call audio source threw; sending silence');
      }
      return [];
    }
  };

  /** Sends (or deliberately skips) frame `k` of one track. */
  const sendFrame = (
    record: StreamRecord,
    socket: WebSocket,
    track: StreamTrack,
    k: number,
  ): void => {
    const frameStartMs = (record.startedAtMs ?? 0) + k * frameMs;
    const gap = record.gaps[track];
    if (frameStartMs >= gap.from && frameStartMs < gap.until) {
      record.skipped[track]++;
      return;
    }
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      // Twilio drops audio when the receiving side cannot keep up (31930, a warning).
      record.skipped[track]++;
      if (!record.warnedOverflow) {
        record.warnedOverflow = true;
        record.log.warn(
          { code: STREAM_ERRORS.bufferOverflow.code },
          'socket congested; dropping frames',
        );
      }
      return;
    }
    const sounds = soundsOf(record, track, frameStartMs);
    if (skipSilentFrames && !sounds.some(isAudible)) {
      record.skipped[track]++;
      return;
    }
    const payload = renderer.render(sounds, record.firstSample + k * samplesPerFrame);
    record.sequenceNumber++;
    record.chunks[track]++;
    record.frames[track]++;
    const build = record.buildMedia;
    if (build)
      socket.send(build(record.sequenceNumber, track, record.chunks[track], k * frameMs, payload));
  };

  /**
   * Sends every frame of `record` whose audio has fully elapsed by `nowMs` (catching up if late),
   * at most `maxFrames` per track so one stream far behind cannot starve the others.
   */
  const pump = (record: StreamRecord, nowMs: number, maxFrames: number): void => {
    const socket = record.socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    for (let sent = 0; sent < maxFrames && nextDueMs(record) <= nowMs; sent++) {
      const k = record.nextFrame++;
      for (const track of record.spec.tracks) sendFrame(record, socket, track, k);
    }
  };

  /** `pump`, but a bug in it never escapes: it would stop the pacing of every other stream. */
  const pumpSafely = (record: StreamRecord, nowMs: number, maxFrames: number): void => {
    try {
      pump(record, nowMs, maxFrames);
    } catch (error) {
      if (!record.warnedInternal) {
        record.warnedInternal = true;
        record.log.error({ err: error }, 'sending a frame failed; the stream goes on');
      }
    }
  };

  function tick(): void {
    timer = null;
    timerDueMs = Number.POSITIVE_INFINITY;
    const now = clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const record of live) {
      pumpSafely(record, now, MAX_CATCH_UP_FRAMES);
      next = Math.min(next, nextDueMs(record));
    }
    if (next !== Number.POSITIVE_INFINITY) schedule(Math.max(next, now + MIN_TICK_MS));
  }

  const onOpen = (record: StreamRecord, socket: WebSocket): void => {
    if (record.state !== 'connecting') return;
    clearTimers(record);
    setState(record, 'streaming');
    socket.send(CONNECTED_MESSAGE);
    socket.send(startMessage(record.spec));
    record.sequenceNumber = 1;
    const now = clock.now();
    record.startedAtMs = now;
    record.firstSample = Math.round((now * SAMPLE_RATE) / 1000);
    record.buildMedia = createMediaMessageBuilder(record.spec.streamSid);
    live.add(record);
    schedule(nextDueMs(record));
    record.log.debug('stream started');
    safely('onStarted', record, () => {
      listener.onStarted(record.spec.streamSid);
    });
  };

  const onSocketError = (record: StreamRecord, error: Error & { code?: string }): void => {
    record.lastSocketError = error;
    if (record.state !== 'connecting') return;
    const code = error.code ?? '';
    if (NETWORK_UNREACHABLE.has(code)) {
      fail(record, 'connectionRefused', `${record.spec.url} cannot be reached (${code})`);
    } else if (code === 'ETIMEDOUT') {
      fail(record, 'connectionTimeout', `${record.spec.url} did not answer (${code})`);
    } else {
      fail(record, 'handshakeError', `upgrade to ${record.spec.url} failed: ${error.message}`);
    }
  };

  const onSocketClose = (record: StreamRecord, code: number, reason: Buffer): void => {
    if (record.state === 'streaming') {
      const error = record.lastSocketError;
      if (error?.code?.startsWith('WS_ERR_')) {
        fail(record, 'protocolError', `${record.spec.url} broke the protocol: ${error.message}`);
      } else if (code === 1006) {
        fail(record, 'connectionBroken', `${record.spec.url} dropped the connection`);
      } else {
        const why = reason.length > 0 ? ` (${reason.toString('utf8')})` : '';
        fail(
          record,
          'closedByServer',
          `${record.spec.url} closed the socket with code ${code}${why}`,
        );
      }
    } else if (record.state === 'connecting') {
      // A close before open always follows an 'error' event, which already failed the stream.
      fail(record, 'handshakeError', `upgrade to ${record.spec.url} did not complete`);
    }
    finishClose(record);
  };

  const onSocketMessage = (
    record: StreamRecord,
    data: WebSocket.RawData,
    isBinary: boolean,
  ): void => {
    if (isBinary) {
      // Twilio logs 31950 once per stream for a binary frame (twilio-facts §1).
      if (!record.warnedBinary) {
        record.warnedBinary = true;
        record.log.warn(
          { code: STREAM_ERRORS.malformedMessage.code },
          'the server sent a binary frame; Media Streams messages are JSON text',
        );
      }
      return;
    }
    // UNCONFIRMED whether Twilio ignores or rejects text sent on a unidirectional stream: ignored.
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    record.log.debug({ bytes: size }, 'ignoring a message sent on a unidirectional stream');
  };

  const connect = (record: StreamRecord, url: URL): void => {
    let socket: WebSocket;
    try {
      // Twilio signs the upgrade over the stream URL with no parameters (twilio-facts §1).
      socket = new WebSocket(url, {
        headers: { 'X-Twilio-Signature': twilioSignature(authToken, record.spec.url) },
        perMessageDeflate: false,
        maxPayload: MAX_INCOMING_BYTES,
        followRedirects: false,
      });
    } catch (error) {
      failSoon(record, 'malformedUrl', error instanceof Error ? error.message : String(error));
      return;
    }
    record.socket = socket;
    record.connectTimer = setTimeout(() => {
      fail(
        record,
        'connectionTimeout',
        `no upgrade from ${record.spec.url} in ${connectTimeoutMs} ms`,
      );
    }, connectTimeoutMs);
    socket.on('open', () => {
      onOpen(record, socket);
    });
    socket.on('error', (error: Error & { code?: string }) => {
      onSocketError(record, error);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      onSocketClose(record, code, reason);
    });
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      onSocketMessage(record, data, isBinary);
    });
  };

  const newRecord = (spec: MediaStreamSpec): StreamRecord => ({
    spec,
    log: logger.child({ streamSid: spec.streamSid, callSid: spec.callSid }),
    state: 'connecting',
    socket: null,
    connectTimer: null,
    closeTimer: null,
    startedAtMs: null,
    endedAtMs: null,
    firstSample: 0,
    nextFrame: 0,
    sequenceNumber: 0,
    chunks: { inbound: 0, outbound: 0 },
    frames: { inbound: 0, outbound: 0 },
    skipped: { inbound: 0, outbound: 0 },
    gaps: { inbound: { from: 0, until: 0 }, outbound: { from: 0, until: 0 } },
    buildMedia: null,
    lastSocketError: null,
    warnedBinary: false,
    warnedOverflow: false,
    warnedAudio: false,
    warnedInternal: false,
    closeWaiters: [],
  });

  /** `["inbound"]`, `["outbound"]` or `["inbound","outbound"]` (the spec's contract, checked). */
  const validTracks = (tracks: readonly string[]): boolean =>
    ['inbound', 'outbound', 'inbound,outbound'].includes(tracks.join(','));

  const client: MediaStreamsClient = {
    open(spec) {
      if (streams.has(spec.streamSid)) {
        logger.error(
          { streamSid: spec.streamSid },
          'open() of a stream that already exists; ignored',
        );
        return;
      }
      const record = newRecord(spec);
      streams.set(spec.streamSid, record);
      if (closed) {
        failSoon(record, 'connectionRefused', 'the emulator is shutting down');
        return;
      }
      if (!validTracks(spec.tracks)) {
        failSoon(record, 'invalidTrack', `tracks ${JSON.stringify(spec.tracks)} are not allowed`);
        return;
      }
      const check = checkStreamUrl(spec.url);
      if (!check.ok) {
        failSoon(record, check.kind, check.message);
        return;
      }
      record.log.debug({ url: spec.url, tracks: spec.tracks }, 'connecting stream');
      connect(record, check.url);
    },

    stop(streamSid) {
      const record = streams.get(streamSid);
      if (!record || isStreamOver(record.state)) return Promise.resolve();
      const closedPromise = new Promise<void>((resolve) => record.closeWaiters.push(resolve));
      if (record.state === 'connecting') {
        record.endedAtMs = clock.now();
        const socket = record.socket;
        if (socket) {
          setState(record, 'stopped');
          clearTimers(record);
          socket.terminate();
        } else {
          // Not connected yet (a pending validation failure): nothing to close.
          setState(record, 'stopped');
          finishClose(record);
        }
        return closedPromise;
      }
      if (record.state === 'streaming') {
        const socket = record.socket;
        // Audio that has elapsed up to now is delivered before `stop`.
        pumpSafely(record, clock.now(), Number.POSITIVE_INFINITY);
        live.delete(record);
        setState(record, 'stopping');
        record.endedAtMs = clock.now();
        if (socket?.readyState === WebSocket.OPEN) {
          socket.send(stopMessage(record.spec, ++record.sequenceNumber));
          // UNCONFIRMED: whether Twilio closes the socket itself after `stop`; it likely does.
          socket.close(1000, 'stream stopped');
          record.closeTimer = setTimeout(() => {
            socket.terminate();
          }, CLOSE_TIMEOUT_MS);
        } else {
          finishClose(record);
        }
      }
      return closedPromise;
    },

    injectGap(streamSid, track, durationMs) {
      const record = streams.get(streamSid);
      if (!record || isStreamOver(record.state) || !record.spec.tracks.includes(track)) {
        logger.warn({ streamSid, track }, 'injectGap() on no such running stream track; ignored');
        return;
      }
      if (!Number.isFinite(durationMs) || durationMs <= 0) {
        record.log.warn({ durationMs }, 'injectGap() needs a positive duration; ignored');
        return;
      }
      const now = clock.now();
      record.gaps[track] = { from: now, until: now + durationMs };
    },

    stats(streamSid) {
      const record = streams.get(streamSid);
      if (!record) return undefined;
      const stats: MediaStreamStats = {
        streamSid,
        state: record.state === 'stopping' ? 'stopped' : record.state,
        framesByTrack: { ...record.frames },
        skippedByTrack: { ...record.skipped },
        startedAtMs: record.startedAtMs,
        endedAtMs: record.endedAtMs,
      };
      return stats;
    },

    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await Promise.all([...streams.keys()].map((streamSid) => client.stop(streamSid)));
    },
  };
  return client;
}
