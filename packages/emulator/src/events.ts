/**
 * The emulator's ordered event log, read through `GET /_emulator/events?since=SEQ` and
 * `Emulator.events()`. Every entry has a `seq` (1, 2, …), an ISO time and a `type`; the other keys
 * depend on the type (see the README's event table). Later steps add their own types (TaskRouter,
 * Flex) through the same `append`.
 */
export type EmulatorEventType =
  | 'rest.request'
  | 'call.created'
  | 'call.status'
  | 'twiml.fetch'
  | 'twiml.verb'
  | 'twiml.error'
  | 'conference.start'
  | 'conference.join'
  | 'conference.leave'
  | 'conference.hold'
  | 'conference.unhold'
  | 'conference.mute'
  | 'conference.unmute'
  | 'conference.modify'
  | 'conference.end'
  | 'stream.create'
  | 'stream.started'
  | 'stream.stopped'
  | 'stream.error'
  | 'stream.refused'
  | 'webhook'
  | 'control'
  | 'taskrouter.event'
  | 'taskrouter.worker'
  | 'taskrouter.error'
  | 'voice.reused'
  | 'flex.action';

/** One entry of the event log. */
export interface EmulatorEvent {
  readonly seq: number;
  /** ISO 8601 wall-clock time. */
  readonly at: string;
  readonly type: EmulatorEventType | (string & {});
  readonly [key: string]: unknown;
}

/** Event types a person running the emulator wants to see at `info` level; the rest log at `debug`. */
const INFO_PREFIXES = [
  'call.status',
  'conference.',
  'stream.',
  'twiml.error',
  'taskrouter.',
  'flex.',
];

/** Where the log also writes each event (a pino logger fits). */
export interface EventSink {
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** An append-only, ordered log of everything the emulator saw and did. */
export class EventLog {
  readonly #events: EmulatorEvent[] = [];
  readonly #sink: EventSink | null;
  readonly #subscribers = new Set<(event: EmulatorEvent) => void>();

  constructor(sink: EventSink | null = null) {
    this.#sink = sink;
  }

  /** Appends one event and returns it. */
  append(
    type: EmulatorEventType | (string & {}),
    fields: Record<string, unknown> = {},
  ): EmulatorEvent {
    const event: EmulatorEvent = {
      ...fields,
      seq: this.#events.length + 1,
      at: new Date().toISOString(),
      type,
    };
    this.#events.push(event);
    if (this.#sink !== null) {
      const level = INFO_PREFIXES.some((p) => type.startsWith(p)) ? 'info' : 'debug';
      this.#sink[level]({ ...fields, seq: event.seq }, type);
    }
    for (const subscriber of this.#subscribers) subscriber(event);
    return event;
  }

  /**
   * Calls `listener` with every event appended from now on, synchronously and in order; returns
   * the unsubscribe function. Extensions (TaskRouter in step 3) react to the model this way, e.g.
   * to a `twiml.verb` event whose `verb` is `Enqueue`.
   */
  subscribe(listener: (event: EmulatorEvent) => void): () => void {
    this.#subscribers.add(listener);
    return () => {
      this.#subscribers.delete(listener);
    };
  }

  /** Every event whose `seq` is greater than `sinceSeq` (all of them by default), in order. */
  since(sinceSeq = 0): EmulatorEvent[] {
    return this.#events.slice(Math.max(0, sinceSeq));
  }
}
