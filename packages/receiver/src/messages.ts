import { z } from 'zod';
import { ReceiverError } from './errors.js';

/**
 * Media Streams messages as Twilio sends them (twilio-facts §1; https://www.twilio.com/docs/voice/media-streams/websocket-messages),
 * validated once here into a typed union with camelCase fields. Nothing downstream re-checks shapes.
 */

/** A track of a Media Stream, as it appears in `media.track` and `start.tracks`. */
export type Track = 'inbound' | 'outbound';

/** Every track, in channel order: channel 1 is inbound, channel 2 outbound. */
export const TRACKS: readonly Track[] = ['inbound', 'outbound'];

/** The first message: no streamSid, no sequenceNumber. */
export interface ConnectedMessage {
  readonly event: 'connected';
  readonly protocol: string;
  readonly version: string;
}

/** Stream metadata, sent once right after `connected`. */
export interface StartMessage {
  readonly event: 'start';
  readonly sequenceNumber: number;
  readonly streamSid: string;
  readonly accountSid: string;
  readonly callSid: string;
  /** The tracks that will follow, in channel order (inbound first). */
  readonly tracks: readonly Track[];
  readonly customParameters: Readonly<Record<string, string>>;
  readonly mediaFormat: {
    readonly encoding: string;
    readonly sampleRate: number;
    readonly channels: number;
  };
}

/** One chunk of µ-law audio of one track. */
export interface MediaMessage {
  readonly event: 'media';
  readonly sequenceNumber: number;
  readonly streamSid: string;
  readonly track: Track;
  readonly chunk: number;
  /** Milliseconds since the stream started: where the chunk belongs on the stream's timeline. */
  readonly timestampMs: number;
  /** Raw µ-law bytes, 8 kHz, one byte per sample. */
  readonly payload: Uint8Array;
}

/** The stream ended (`<Stop>`, REST, or the call ending). */
export interface StopMessage {
  readonly event: 'stop';
  readonly sequenceNumber: number;
  readonly streamSid: string;
}

/** A DTMF digit (bidirectional streams only). */
export interface DtmfMessage {
  readonly event: 'dtmf';
  readonly sequenceNumber: number;
  readonly streamSid: string;
  readonly track: string;
  readonly digit: string;
}

/** A mark echoed back (bidirectional streams only). */
export interface MarkMessage {
  readonly event: 'mark';
  readonly sequenceNumber: number;
  readonly streamSid: string;
  readonly name: string;
}

/** Every message a receiver accepts. */
export type InboundMessage =
  ConnectedMessage | StartMessage | MediaMessage | StopMessage | DtmfMessage | MarkMessage;

// Twilio SIDs are two letters and 32 hex digits.
const sid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `expected a ${prefix}… SID`);
const counter = z
  .string()
  .regex(/^\d{1,15}$/, 'expected a decimal string')
  .transform(Number);
const track = z.enum(['inbound', 'outbound']);
const base64 = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'expected base64');

const connectedSchema = z.object({
  event: z.literal('connected'),
  protocol: z.string(),
  version: z.string(),
});

const startSchema = z.object({
  event: z.literal('start'),
  sequenceNumber: counter,
  streamSid: sid('MZ'),
  start: z.object({
    accountSid: sid('AC'),
    streamSid: sid('MZ'),
    callSid: sid('CA'),
    tracks: z
      .array(track)
      .min(1)
      .max(2)
      .refine((t) => new Set(t).size === t.length, 'tracks must not repeat'),
    customParameters: z.record(z.string(), z.string()).default({}),
    mediaFormat: z.object({
      encoding: z.string(),
      sampleRate: z.number(),
      channels: z.number(),
    }),
  }),
});

const mediaSchema = z.object({
  event: z.literal('media'),
  sequenceNumber: counter,
  streamSid: sid('MZ'),
  media: z.object({
    track,
    chunk: counter,
    timestamp: counter,
    payload: base64.min(4, 'payload must not be empty'),
  }),
});

// UNCONFIRMED (twilio-facts §1): the shape of `stop.stop` is only seen in secondary material, so
// its body is optional: a stop must never turn a good recording into an error.
const stopSchema = z.object({
  event: z.literal('stop'),
  sequenceNumber: counter,
  streamSid: sid('MZ'),
  stop: z.object({ accountSid: z.string(), callSid: z.string() }).partial().optional(),
});

const dtmfSchema = z.object({
  event: z.literal('dtmf'),
  sequenceNumber: counter,
  streamSid: sid('MZ'),
  dtmf: z.object({ track: z.string(), digit: z.string() }),
});

const markSchema = z.object({
  event: z.literal('mark'),
  sequenceNumber: counter,
  streamSid: sid('MZ'),
  mark: z.object({ name: z.string() }),
});

const schemas = {
  connected: connectedSchema,
  start: startSchema,
  media: mediaSchema,
  stop: stopSchema,
  dtmf: dtmfSchema,
  mark: markSchema,
} as const;

type EventName = keyof typeof schemas;

function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(schemas, value);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Turns one text frame into a typed message, or throws a {@link ReceiverError}
 * (`FS_RCV_INVALID_JSON`, `FS_RCV_UNKNOWN_EVENT`, `FS_RCV_INVALID_MESSAGE`).
 */
export function parseMessage(text: string): InboundMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReceiverError('FS_RCV_INVALID_JSON', 'the text frame is not valid JSON', {
      cause: error,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ReceiverError('FS_RCV_INVALID_MESSAGE', 'a message must be a JSON object');
  }
  const event = (json as { event?: unknown }).event;
  if (!isEventName(event)) {
    const shown = typeof event === 'string' ? `'${event.slice(0, 40)}'` : typeof event;
    throw new ReceiverError('FS_RCV_UNKNOWN_EVENT', `event ${shown} is not a Media Streams event`);
  }
  return toMessage(event, json);
}

function toMessage(event: EventName, json: unknown): InboundMessage {
  switch (event) {
    case 'connected': {
      const m = check(connectedSchema, json, event);
      return { event, protocol: m.protocol, version: m.version };
    }
    case 'start': {
      const m = check(startSchema, json, event);
      if (m.start.streamSid !== m.streamSid) {
        throw new ReceiverError(
          'FS_RCV_STREAM_SID_MISMATCH',
          `start.streamSid ${m.start.streamSid} differs from streamSid ${m.streamSid}`,
        );
      }
      return {
        event,
        sequenceNumber: m.sequenceNumber,
        streamSid: m.streamSid,
        accountSid: m.start.accountSid,
        callSid: m.start.callSid,
        tracks: TRACKS.filter((t) => m.start.tracks.includes(t)),
        customParameters: m.start.customParameters,
        mediaFormat: m.start.mediaFormat,
      };
    }
    case 'media': {
      const m = check(mediaSchema, json, event);
      return {
        event,
        sequenceNumber: m.sequenceNumber,
        streamSid: m.streamSid,
        track: m.media.track,
        chunk: m.media.chunk,
        timestampMs: m.media.timestamp,
        payload: new Uint8Array(Buffer.from(m.media.payload, 'base64')),
      };
    }
    case 'stop': {
      const m = check(stopSchema, json, event);
      return { event, sequenceNumber: m.sequenceNumber, streamSid: m.streamSid };
    }
    case 'dtmf': {
      const m = check(dtmfSchema, json, event);
      return {
        event,
        sequenceNumber: m.sequenceNumber,
        streamSid: m.streamSid,
        track: m.dtmf.track,
        digit: m.dtmf.digit,
      };
    }
    case 'mark': {
      const m = check(markSchema, json, event);
      return { event, sequenceNumber: m.sequenceNumber, streamSid: m.streamSid, name: m.mark.name };
    }
  }
}

function check<S extends z.ZodType>(schema: S, json: unknown, event: string): z.output<S> {
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new ReceiverError(
      'FS_RCV_INVALID_MESSAGE',
      `${event} message: ${describeIssues(result.error)}`,
    );
  }
  return result.data;
}
