import { MediaStateError } from './errors.js';

/**
 * The life of one Media Stream inside the media engine.
 * - `connecting`: the WebSocket upgrade is under way.
 * - `streaming`: `connected` and `start` were sent; media frames flow.
 * - `stopping`: `stop` was sent and the socket is closing.
 * - `stopped`: ended by `stop()` (or `close()`), the socket is closed.
 * - `failed`: ended by an error reported through `onError`.
 */
export type StreamState = 'connecting' | 'streaming' | 'stopping' | 'stopped' | 'failed';

const TRANSITIONS: Readonly<Record<StreamState, readonly StreamState[]>> = {
  connecting: ['streaming', 'stopped', 'failed'],
  streaming: ['stopping', 'failed'],
  stopping: ['stopped'],
  stopped: [],
  failed: [],
};

/** Whether the stream is over (no frame will be sent, no callback made). */
export function isStreamOver(state: StreamState): boolean {
  return state === 'stopped' || state === 'failed';
}

/** Returns `to` if `from → to` is allowed; otherwise throws `MediaStateError`. */
export function transition(streamSid: string, from: StreamState, to: StreamState): StreamState {
  if (!TRANSITIONS[from].includes(to)) {
    throw new MediaStateError(`cannot move stream ${streamSid} from '${from}' to '${to}'`);
  }
  return to;
}
