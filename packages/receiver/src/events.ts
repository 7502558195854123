import type { Logger } from 'pino';
import type { Track } from './messages.js';
import type { EndReason, Sidecar } from './sidecar.js';
import type { TrackLevel } from './timeline.js';

/** A stream began recording. */
export interface StreamStartedEvent {
  readonly streamSid: string;
  readonly callSid: string;
  readonly accountSid: string;
  readonly streamName: string | null;
  readonly tracks: readonly Track[];
  readonly customParameters: Readonly<Record<string, string>>;
  readonly wavPath: string;
  readonly sidecarPath: string;
}

/** A stream's recording is complete on disk (WAV and sidecar). */
export interface StreamStoppedEvent {
  readonly streamSid: string;
  readonly callSid: string;
  readonly endReason: EndReason;
  readonly wavPath: string;
  readonly sidecarPath: string;
  readonly sidecar: Readonly<Sidecar>;
}

/** The audio level of one track over one second of a stream. */
export interface LevelEvent extends TrackLevel {
  readonly streamSid: string;
  readonly callSid: string;
}

/** Something in a stream that was not as it should be. */
export interface AnomalyEvent {
  readonly streamSid: string | null;
  readonly callSid: string | null;
  readonly kind:
    'gap' | 'duplicate' | 'out-of-order' | 'late' | 'overlap' | 'overflow' | 'protocol-error';
  readonly track: Track | null;
  /** Where on the stream's timeline, when known. */
  readonly atMs: number | null;
  readonly durationMs: number | null;
  /** The error code for `protocol-error`. */
  readonly code: string | null;
  readonly message: string;
}

/** An upgrade the receiver refused (bad path, missing or bad signature). */
export interface RejectedEvent {
  readonly reason: 'not-found' | 'missing-signature' | 'bad-signature';
  readonly remoteAddress: string | null;
}

/** Every event of the receiver, by name. */
export interface ReceiverEventMap {
  streamStarted: StreamStartedEvent;
  streamStopped: StreamStoppedEvent;
  level: LevelEvent;
  anomaly: AnomalyEvent;
  rejected: RejectedEvent;
}

/** Subscribe to the receiver's events. */
export interface ReceiverEvents {
  /** Calls `listener` for every `type` event; returns the function that unsubscribes it. */
  on<K extends keyof ReceiverEventMap>(
    type: K,
    listener: (event: ReceiverEventMap[K]) => void,
  ): () => void;
}

/**
 * A typed, synchronous event hub. A listener that throws is logged and skipped: one subscriber's
 * bug never reaches the session that emitted the event.
 */
export class EventHub implements ReceiverEvents {
  private readonly listeners = new Map<keyof ReceiverEventMap, Set<(event: never) => void>>();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof ReceiverEventMap>(
    type: K,
    listener: (event: ReceiverEventMap[K]) => void,
  ): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const stored = listener as (event: never) => void;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  emit<K extends keyof ReceiverEventMap>(type: K, event: ReceiverEventMap[K]): void {
    for (const listener of this.listeners.get(type) ?? []) {
      try {
        (listener as (event: ReceiverEventMap[K]) => void)(event);
      } catch (error) {
        this.logger.error(
          { err: error, event: type },
          'a receiver event listener threw; skipped it',
        );
      }
    }
  }
}
