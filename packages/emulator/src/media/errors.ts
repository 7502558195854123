/**
 * The Media Streams error catalogue: the Twilio codes the media engine reports through
 * `MediaStreamsListener.onError` (and logs), with the title of each code's Twilio page.
 * Source: twilio-facts §1, https://www.twilio.com/docs/api/errors/{code}.
 */
export const STREAM_ERRORS = {
  /** The WebSocket server did not complete the upgrade within `connectTimeoutMs`. */
  connectionTimeout: { code: 31901, title: 'Stream - WebSocket - Connection Timeout' },
  /** TCP connection refused, or the host could not be resolved or reached. */
  connectionRefused: { code: 31902, title: 'Stream - WebSocket - Connection Refused' },
  /** The socket dropped mid-stream without a close frame. */
  connectionBroken: { code: 31903, title: 'Stream - WebSocket - Connection Broken Pipe' },
  /** The server answered the upgrade with something other than 101, or a bad upgrade. */
  handshakeError: { code: 31920, title: 'Stream - WebSocket - Handshake Error' },
  /** The server closed the socket (sent a close frame) while the stream was running. */
  closedByServer: { code: 31921, title: 'Stream - WebSocket - Close Error' },
  /** The URL's scheme is not `wss` (nor `ws` to a local address, an emulator allowance). */
  schemeNotSupported: { code: 31922, title: 'Stream - WebSocket - URL Schema Not Supported' },
  /** The URL cannot be parsed. */
  malformedUrl: { code: 31923, title: 'Stream - WebSocket - Malformed URL' },
  /** The server broke the WebSocket protocol (e.g. an invalid frame). */
  protocolError: { code: 31924, title: 'Stream - WebSocket - Protocol Error' },
  /** Warning: the socket could not keep up; frames were dropped. */
  bufferOverflow: { code: 31930, title: 'Stream - WebSocket - Media Buffer Overflow' },
  /** The stream's track list is not one Twilio allows. */
  invalidTrack: { code: 31941, title: 'Stream - Invalid Track configuration' },
  /** Warning: the server sent a binary frame; every message must be JSON text. */
  malformedMessage: { code: 31950, title: 'Stream - Protocol - Malformed Message' },
} as const satisfies Record<string, { code: number; title: string }>;

/** A key of `STREAM_ERRORS`. */
export type StreamErrorKind = keyof typeof STREAM_ERRORS;

/**
 * A forbidden stream-state transition inside the media engine: a bug in the emulator, never a
 * consequence of user input (those are reported through `onError`).
 */
export class MediaStateError extends Error {
  override readonly name = 'MediaStateError';
  readonly code = 'EMU_ERR_MEDIA_TRANSITION';
}
