/**
 * Stream names and custom parameters. The name is derived from the segment's reservation and the
 * continuation index, so a stream can be stopped by name (`POST …/Streams/{name}.json`, which the
 * spec allows: "SID or the name of the Stream resource", twilio-facts §2) with no lookup, and a
 * status callback's `StreamName` leads back to its segment.
 */
import type { Segment, SegmentStream } from './model.js';

const NAME_PREFIX = 'fs-';
const NAME_PATTERN = /^fs-(WR[0-9a-fA-F]{32})-(\d{1,4})$/;

/**
 * `fs-{reservationSid}-{continuation}`, e.g. `fs-WR0123…cdef-0`: 40 characters or so, URL-safe
 * (letters, digits, `-`), unique per call because a reservation belongs to one segment.
 */
export function streamNameFor(reservationSid: string, continuation: number): string {
  return `${NAME_PREFIX}${reservationSid}-${continuation}`;
}

/** The parts of a name made by {@link streamNameFor}, or null for any other name. */
export function parseStreamName(
  name: string,
): { reservationSid: string; continuation: number } | null {
  const match = NAME_PATTERN.exec(name);
  if (match?.[1] === undefined || match[2] === undefined) return null;
  return { reservationSid: match[1], continuation: Number(match[2]) };
}

/**
 * Custom parameter keys sent with every stream (`<Parameter>` or REST `ParameterN.*`); a receiver
 * finds them in `start.customParameters`, all values strings (twilio-facts §1).
 */
export const STREAM_PARAMETER_KEYS = {
  /**
   * The stream's own name. Twilio does not repeat `<Stream name>` in the `start` message, so it is
   * sent as a parameter too: the receiver names the recording after it (its `nameParameter`).
   */
  streamName: 'streamName',
  taskSid: 'taskSid',
  reservationSid: 'reservationSid',
  workerSid: 'workerSid',
  customerCallSid: 'customerCallSid',
  segmentId: 'segmentId',
  segmentIndex: 'segmentIndex',
  transferMode: 'transferMode',
  leg: 'leg',
  strategy: 'strategy',
  continuation: 'continuation',
} as const;

/** The custom parameters of one stream run, keyed by {@link STREAM_PARAMETER_KEYS}. */
export function streamParametersFor(
  segment: Segment,
  stream: Pick<SegmentStream, 'name' | 'leg' | 'strategy' | 'continuation'>,
): Record<string, string> {
  const k = STREAM_PARAMETER_KEYS;
  return {
    [k.streamName]: stream.name,
    [k.taskSid]: segment.taskSid,
    [k.reservationSid]: segment.reservationSid,
    [k.workerSid]: segment.workerSid,
    [k.customerCallSid]: segment.customerCallSid,
    [k.segmentId]: segment.id,
    [k.segmentIndex]: String(segment.index),
    [k.transferMode]: segment.transferMode,
    [k.leg]: stream.leg,
    [k.strategy]: stream.strategy,
    [k.continuation]: String(stream.continuation),
  };
}
