import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';

/**
 * The TwiML the emulator understands, parsed and validated once at the edge into a typed list of
 * verbs (style: wire messages are typed unions validated once). Attribute names and defaults follow
 * twilio-node `src/twiml/VoiceResponse.ts` and https://www.twilio.com/docs/voice/twiml.
 */
export type StreamTrackParam = 'inbound_track' | 'outbound_track' | 'both_tracks';
export type HttpMethod = 'GET' | 'POST';
export type BeepSetting = 'true' | 'false' | 'onEnter' | 'onExit';

/** `<Stream>` inside `<Start>`: https://www.twilio.com/docs/voice/twiml/stream */
export interface StreamNoun {
  readonly url: string;
  readonly name: string | null;
  readonly track: StreamTrackParam;
  readonly statusCallback: string | null;
  readonly statusCallbackMethod: HttpMethod;
  readonly parameters: Readonly<Record<string, string>>;
}

/** `<Conference>` inside `<Dial>`: https://www.twilio.com/docs/voice/twiml/conference */
export interface ConferenceNoun {
  readonly name: string;
  readonly beep: BeepSetting;
  readonly startConferenceOnEnter: boolean;
  readonly endConferenceOnExit: boolean;
  readonly muted: boolean;
  /** null: Twilio's default wait music; '' : silence. */
  readonly waitUrl: string | null;
  readonly statusCallback: string | null;
  readonly statusCallbackMethod: HttpMethod;
  /** Subset of `start end join leave mute hold modify speaker announcement`. */
  readonly statusCallbackEvent: readonly string[];
  readonly participantLabel: string | null;
  readonly coach: string | null;
}

/** One verb of a TwiML document. */
export type Verb =
  | { readonly verb: 'Say'; readonly text: string; readonly loop: number }
  | { readonly verb: 'Play'; readonly url: string; readonly loop: number }
  | { readonly verb: 'Pause'; readonly lengthS: number }
  | { readonly verb: 'Start'; readonly streams: readonly StreamNoun[] }
  | { readonly verb: 'Stop'; readonly streamNames: readonly string[] }
  | { readonly verb: 'Dial'; readonly conference: ConferenceNoun }
  | {
      readonly verb: 'Enqueue';
      readonly queueName: string;
      readonly waitUrl: string | null;
      readonly workflowSid: string | null;
      readonly task: string | null;
    }
  | { readonly verb: 'Redirect'; readonly url: string; readonly method: HttpMethod }
  | { readonly verb: 'Hangup' };

/** TwiML that Twilio would refuse: 12100 (not well-formed XML) or 12200 (schema violation). */
export class TwimlError extends Error {
  override readonly name = 'TwimlError';
  constructor(
    /** https://www.twilio.com/docs/errors/12100 or https://www.twilio.com/docs/errors/12200 */
    readonly code: 12100 | 12200,
    message: string,
  ) {
    super(message);
  }
}

type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

/**
 * The conference `statusCallbackEvent` filter names Twilio accepts
 * (https://www.twilio.com/docs/voice/twiml/conference#attributes-statuscallbackevent).
 */
export const CONFERENCE_STATUS_CALLBACK_EVENTS = [
  'start',
  'end',
  'join',
  'leave',
  'mute',
  'hold',
  'modify',
  'speaker',
  'announcement',
] as const;

/** One conference `statusCallbackEvent` filter name. */
export type ConferenceStatusCallbackEvent = (typeof CONFERENCE_STATUS_CALLBACK_EVENTS)[number];

const STATUS_CALLBACK_EVENTS: ReadonlySet<string> = new Set(CONFERENCE_STATUS_CALLBACK_EVENTS);

/** Parses a TwiML document into verbs, or throws `TwimlError`. */
export function parseTwiml(xml: string): Verb[] {
  try {
    SyntaxValidator.validate(xml);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TwimlError(12100, `Document parse failure: ${message}`);
  }
  const roots = (parser.parse(xml) as OrderedNode[]).filter((n) => tagOf(n) !== '?xml');
  const root = roots[0];
  if (roots.length !== 1 || root === undefined || tagOf(root) !== 'Response') {
    throw new TwimlError(12100, 'Document parse failure: the root element must be <Response>');
  }
  return childrenOf(root)
    .filter((n) => tagOf(n) !== '#text')
    .map(parseVerb);
}

function tagOf(node: OrderedNode): string {
  return Object.keys(node).find((k) => k !== ':@') ?? '';
}

function childrenOf(node: OrderedNode): OrderedNode[] {
  const value = node[tagOf(node)];
  return Array.isArray(value) ? (value as OrderedNode[]) : [];
}

function attrsOf(node: OrderedNode): Record<string, string> {
  const attrs = node[':@'];
  return typeof attrs === 'object' && attrs !== null ? (attrs as Record<string, string>) : {};
}

function textOf(node: OrderedNode): string {
  return childrenOf(node)
    .map((c) => (typeof c['#text'] === 'string' ? c['#text'] : ''))
    .join('')
    .trim();
}

function elementChildren(node: OrderedNode): OrderedNode[] {
  return childrenOf(node).filter((n) => tagOf(n) !== '#text');
}

function schema(message: string): TwimlError {
  return new TwimlError(12200, `Schema validation warning: ${message}`);
}

/** Reads the attributes of `node`, refusing names outside `allowed`. */
function attributes(node: OrderedNode, allowed: readonly string[]): Record<string, string> {
  const attrs = attrsOf(node);
  for (const name of Object.keys(attrs)) {
    if (!allowed.includes(name)) {
      throw schema(`attribute '${name}' is not allowed on <${tagOf(node)}>`);
    }
  }
  return attrs;
}

function bool(tag: string, name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw schema(`<${tag} ${name}="${value}">: expected true or false`);
}

function integer(tag: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw schema(`<${tag} ${name}="${value}">: expected an integer`);
  return Number(value);
}

function method(tag: string, name: string, value: string | undefined): HttpMethod {
  if (value === undefined) return 'POST';
  const upper = value.toUpperCase();
  if (upper === 'GET' || upper === 'POST') return upper;
  throw schema(`<${tag} ${name}="${value}">: expected GET or POST`);
}

function noChildren(node: OrderedNode): void {
  const child = elementChildren(node)[0];
  if (child !== undefined) {
    throw schema(`<${tagOf(child)}> is not allowed inside <${tagOf(node)}>`);
  }
}

function parseVerb(node: OrderedNode): Verb {
  const tag = tagOf(node);
  switch (tag) {
    case 'Say': {
      const a = attributes(node, ['voice', 'language', 'loop']);
      return { verb: 'Say', text: textOf(node), loop: integer(tag, 'loop', a.loop, 1) };
    }
    case 'Play': {
      const a = attributes(node, ['loop', 'digits']);
      noChildren(node);
      return { verb: 'Play', url: textOf(node), loop: integer(tag, 'loop', a.loop, 1) };
    }
    case 'Pause': {
      const a = attributes(node, ['length']);
      noChildren(node);
      return { verb: 'Pause', lengthS: integer(tag, 'length', a.length, 1) };
    }
    case 'Start':
      attributes(node, ['action', 'method']);
      return { verb: 'Start', streams: elementChildren(node).map(parseStartStream) };
    case 'Stop':
      attributes(node, []);
      return {
        verb: 'Stop',
        streamNames: elementChildren(node).map((child) => {
          if (tagOf(child) !== 'Stream') throw schema(`<${tagOf(child)}> is not allowed in <Stop>`);
          const name = attributes(child, ['name', 'url']).name;
          if (name === undefined || name === '') {
            throw schema('<Stop><Stream> needs the name of the stream to stop');
          }
          return name;
        }),
      };
    case 'Dial':
      return parseDial(node);
    case 'Enqueue': {
      const a = attributes(node, ['action', 'method', 'waitUrl', 'waitUrlMethod', 'workflowSid']);
      const queueName = textOf(node) || (a.workflowSid ?? '');
      if (queueName === '') throw schema('<Enqueue> needs a queue name or a workflowSid');
      // `<Task>` carries the TaskRouter task attributes (JSON text), kept for step 3's TaskRouter.
      let task: string | null = null;
      for (const child of elementChildren(node)) {
        if (tagOf(child) !== 'Task') throw schema(`<${tagOf(child)}> is not allowed in <Enqueue>`);
        attributes(child, ['priority', 'timeout']);
        task = textOf(child);
      }
      return {
        verb: 'Enqueue',
        queueName,
        waitUrl: a.waitUrl ?? null,
        workflowSid: a.workflowSid ?? null,
        task,
      };
    }
    case 'Redirect': {
      const a = attributes(node, ['method']);
      const url = textOf(node);
      if (url === '') throw schema('<Redirect> needs a URL');
      return { verb: 'Redirect', url, method: method(tag, 'method', a.method) };
    }
    case 'Hangup':
      attributes(node, []);
      return { verb: 'Hangup' };
    default:
      throw schema(`<${tag}> is not a TwiML verb the emulator knows`);
  }
}

function parseStartStream(node: OrderedNode): StreamNoun {
  const tag = tagOf(node);
  if (tag !== 'Stream') throw schema(`<${tag}> is not allowed in <Start>`);
  const a = attributes(node, [
    'url',
    'name',
    'track',
    'statusCallback',
    'statusCallbackMethod',
    'connectorName',
  ]);
  if (a.url === undefined || a.url === '') throw schema('<Stream> needs a url');
  const track = a.track ?? 'inbound_track';
  if (track !== 'inbound_track' && track !== 'outbound_track' && track !== 'both_tracks') {
    throw schema(
      `<Stream track="${track}">: expected inbound_track, outbound_track or both_tracks`,
    );
  }
  const parameters: Record<string, string> = {};
  for (const child of elementChildren(node)) {
    if (tagOf(child) !== 'Parameter') throw schema(`<${tagOf(child)}> is not allowed in <Stream>`);
    const p = attributes(child, ['name', 'value']);
    if (p.name === undefined) throw schema('<Parameter> needs a name');
    parameters[p.name] = p.value ?? '';
  }
  return {
    url: a.url,
    name: a.name ?? null,
    track,
    statusCallback: a.statusCallback ?? null,
    statusCallbackMethod: method('Stream', 'statusCallbackMethod', a.statusCallbackMethod),
    parameters,
  };
}

function parseDial(node: OrderedNode): Verb {
  attributes(node, [
    'action',
    'method',
    'timeout',
    'hangupOnStar',
    'timeLimit',
    'callerId',
    'record',
    'answerOnBridge',
    'ringTone',
  ]);
  const nouns = elementChildren(node);
  const conf = nouns[0];
  if (nouns.length !== 1 || conf === undefined || tagOf(conf) !== 'Conference') {
    // Dialing numbers, clients or SIP is outside what the emulator models (README "Limits").
    throw schema('the emulator supports <Dial> with exactly one <Conference> noun');
  }
  const a = attributes(conf, [
    'beep',
    'startConferenceOnEnter',
    'endConferenceOnExit',
    'muted',
    'waitUrl',
    'waitMethod',
    'statusCallback',
    'statusCallbackMethod',
    'statusCallbackEvent',
    'participantLabel',
    'coach',
    'maxParticipants',
    'record',
    'region',
    'trim',
    'jitterBufferSize',
    'eventCallbackUrl',
    'recordingStatusCallback',
    'recordingStatusCallbackMethod',
    'recordingStatusCallbackEvent',
  ]);
  const name = textOf(conf);
  if (name === '') throw schema('<Conference> needs a room name');
  const beep = a.beep ?? 'true';
  if (beep !== 'true' && beep !== 'false' && beep !== 'onEnter' && beep !== 'onExit') {
    throw schema(`<Conference beep="${beep}">: expected true, false, onEnter or onExit`);
  }
  const events = (a.statusCallbackEvent ?? '').split(/[\s,]+/).filter((e) => e !== '');
  for (const event of events) {
    if (!STATUS_CALLBACK_EVENTS.has(event)) {
      throw schema(`<Conference statusCallbackEvent>: unknown event '${event}'`);
    }
  }
  return {
    verb: 'Dial',
    conference: {
      name,
      beep,
      startConferenceOnEnter: bool(
        'Conference',
        'startConferenceOnEnter',
        a.startConferenceOnEnter,
        true,
      ),
      endConferenceOnExit: bool('Conference', 'endConferenceOnExit', a.endConferenceOnExit, false),
      muted: bool('Conference', 'muted', a.muted, false),
      waitUrl: a.waitUrl ?? null,
      statusCallback: a.statusCallback ?? null,
      statusCallbackMethod: method('Conference', 'statusCallbackMethod', a.statusCallbackMethod),
      statusCallbackEvent: events,
      participantLabel: a.participantLabel ?? null,
      coach: a.coach ?? null,
    },
  };
}
