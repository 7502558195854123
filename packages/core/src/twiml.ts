/**
 * TwiML for the `twiml` strategy: `<Start>`/`<Stop>` a named `<Stream>`, then `<Dial>` the customer
 * back into the task's conference. Attribute values are XML-escaped; the result is checked against
 * Twilio's 4000-character limit for inline `Twiml` (error 32018, twilio-facts §3).
 */
import { createFsError } from './errors.js';
import type { StreamTrack } from './model.js';

/** Twilio's limit for the `Twiml` parameter of a Calls update. */
export const MAX_INLINE_TWIML_CHARS = 4000;

/** Escapes text for an XML attribute value or element content. */
export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attributes(pairs: Readonly<Record<string, string | null>>): string {
  return Object.entries(pairs)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([key, value]) => ` ${key}="${escapeXml(value)}"`)
    .join('');
}

/**
 * The re-dial after the stream verb. `beep="false"` so the customer's re-join is silent (seed
 * step 1); `endConferenceOnExit="true"` restores what Flex set (`endConferenceOnCustomerExit`,
 * twilio-facts §6): when the customer hangs up, the conference ends. The room name is the Task SID,
 * the conference's FriendlyName in Flex (twilio-facts §3).
 */
function redial(taskSid: string): string {
  return `<Dial><Conference${attributes({ beep: 'false', endConferenceOnExit: 'true' })}>${escapeXml(
    taskSid,
  )}</Conference></Dial>`;
}

function checked(twiml: string): string {
  if (twiml.length > MAX_INLINE_TWIML_CHARS) {
    throw createFsError(
      'FS_ERR_TWIML_TOO_LONG',
      `generated TwiML is ${twiml.length} characters, over Twilio's ${MAX_INLINE_TWIML_CHARS} (error 32018); shorten the stream URL or the custom parameters`,
    );
  }
  return twiml;
}

/** What `<Start><Stream>` needs. */
export interface StartStreamTwimlInput {
  taskSid: string;
  name: string;
  url: string;
  track: StreamTrack;
  statusCallback: string | null;
  parameters: Readonly<Record<string, string>>;
}

/** `<Response><Start><Stream …><Parameter…/></Stream></Start><Dial><Conference>…` */
export function buildStartStreamTwiml(input: StartStreamTwimlInput): string {
  const parameters = Object.entries(input.parameters)
    .map(([name, value]) => `<Parameter${attributes({ name, value })}/>`)
    .join('');
  const stream = `<Stream${attributes({
    name: input.name,
    url: input.url,
    track: input.track,
    statusCallback: input.statusCallback,
  })}>${parameters}</Stream>`;
  return checked(`<Response><Start>${stream}</Start>${redial(input.taskSid)}</Response>`);
}

/** `<Response><Stop><Stream name="…"/></Stop><Dial><Conference>…` */
export function buildStopStreamTwiml(input: { taskSid: string; name: string }): string {
  return checked(
    `<Response><Stop><Stream${attributes({ name: input.name })}/></Stop>${redial(input.taskSid)}</Response>`,
  );
}
