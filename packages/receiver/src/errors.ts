/**
 * The receiver's error catalogue. Every code is stable (tests, dashboards and runbooks refer to
 * it) and protocol errors carry the WebSocket close code the receiver sends before closing that
 * one socket. Close codes live in 4000–4999, the range RFC 6455 §7.4.2 leaves to applications.
 */
export const RECEIVER_ERRORS = {
  /** A binary frame: Media Streams messages are JSON text frames (twilio-facts §1, error 31950). */
  FS_RCV_BINARY_FRAME: { closeCode: 4001, summary: 'binary frame received' },
  /** A text frame that is not JSON. */
  FS_RCV_INVALID_JSON: { closeCode: 4002, summary: 'message is not JSON' },
  /** JSON whose fields do not match the Media Streams message shape (missing or wrong type). */
  FS_RCV_INVALID_MESSAGE: { closeCode: 4003, summary: 'message does not match its schema' },
  /** An `event` the protocol does not define. */
  FS_RCV_UNKNOWN_EVENT: { closeCode: 4004, summary: 'unknown event' },
  /** `media`, `dtmf`, `mark` or `stop` before `start`. */
  FS_RCV_MEDIA_BEFORE_START: { closeCode: 4005, summary: 'stream message before start' },
  /** A second `start` on the same socket (one socket carries one stream). */
  FS_RCV_DUPLICATE_START: { closeCode: 4006, summary: 'second start on one socket' },
  /** A message whose `streamSid` is not the one announced by `start`. */
  FS_RCV_STREAM_SID_MISMATCH: { closeCode: 4007, summary: 'streamSid does not match start' },
  /** A text frame larger than `maxMessageBytes`, once the stream has started. */
  FS_RCV_MESSAGE_TOO_LARGE: { closeCode: 4008, summary: 'message too large' },
  /** `media` on a track that `start.tracks` did not announce. */
  FS_RCV_TRACK_NOT_ANNOUNCED: { closeCode: 4009, summary: 'media on a track not announced' },
  /** `start.mediaFormat` other than audio/x-mulaw, 8000 Hz, 1 channel. */
  FS_RCV_UNSUPPORTED_FORMAT: { closeCode: 4010, summary: 'unsupported media format' },
  /** Any message after `stop`. */
  FS_RCV_MESSAGE_AFTER_STOP: { closeCode: 4011, summary: 'message after stop' },
  /** The recording could not be written (disk full, permissions): the stream cannot be trusted. */
  FS_RCV_RECORDING_FAILED: { closeCode: 4012, summary: 'recording failed' },
  /** A media timestamp too far ahead of the stream's audio (see `maxForwardJumpMs`) or past
   * what one WAV file can hold. */
  FS_RCV_TIMESTAMP_OUT_OF_RANGE: { closeCode: 4013, summary: 'media timestamp out of range' },
  /** No `start` within `startTimeoutMs` of the upgrade: the socket is closed so it cannot linger. */
  FS_RCV_START_TIMEOUT: { closeCode: 4014, summary: 'no start in time' },
  /** Found on start: a recording the receiver never finished (it was killed); repaired. */
  FS_RCV_UNCLEAN_SHUTDOWN: { closeCode: null, summary: 'recording left unfinished by a crash' },
  /** The recordings folder cannot be created or written (thrown by `startReceiver`). */
  FS_RCV_RECORDINGS_DIR_UNUSABLE: { closeCode: null, summary: 'recordings folder unusable' },
  /** The receiver cannot listen on its host and port (thrown by `startReceiver`). */
  FS_RCV_LISTEN_FAILED: { closeCode: null, summary: 'cannot listen' },
  /** Options given to `startReceiver` are invalid (not a socket error: thrown at start). */
  FS_RCV_INVALID_OPTIONS: { closeCode: null, summary: 'invalid receiver options' },
} as const satisfies Record<string, { closeCode: number | null; summary: string }>;

/** A stable error code of the receiver. */
export type ReceiverErrorCode = keyof typeof RECEIVER_ERRORS;

/** An error of the receiver, with its stable code and (for socket errors) its close code. */
export class ReceiverError extends Error {
  override readonly name = 'ReceiverError';
  readonly code: ReceiverErrorCode;
  /** WebSocket close code sent for this error, or null when it is not a socket error. */
  readonly closeCode: number | null;

  constructor(code: ReceiverErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.closeCode = RECEIVER_ERRORS[code].closeCode;
  }
}

/** Type guard for {@link ReceiverError}. */
export function isReceiverError(value: unknown): value is ReceiverError {
  return value instanceof ReceiverError;
}
