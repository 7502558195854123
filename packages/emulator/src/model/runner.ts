import { TwilioApiError } from '../errors.js';
import { parseTwiml, TwimlError, type Verb } from '../twiml/parse.js';
import type { CallModel } from './model.js';
import type { CallRecord, TwimlSource } from './records.js';

/** Error 11200: the TwiML URL could not be fetched (https://www.twilio.com/docs/errors/11200). */
const HTTP_RETRIEVAL_FAILURE = 11200;

/**
 * Runs a call's TwiML, verb after verb, until it runs out (the call ends), a `<Hangup>`, an error
 * (the call ends and the error is logged, as Twilio does: https://www.twilio.com/docs/errors/12100)
 * or until a newer program replaces it (`token` no longer current).
 */
export async function runProgram(
  model: CallModel,
  call: CallRecord,
  token: symbol,
  source: TwimlSource,
): Promise<void> {
  const { events } = model.deps;
  const current = (): boolean => call.run === token && call.status === 'in-progress';
  // An inbound call's first TwiML is requested while it rings (CallStatus=ringing,
  // https://www.twilio.com/docs/voice/twiml#request-parameters) and answered once it has some.
  const ringing = (): boolean => call.run === token && call.status === 'ringing';
  const fail = (code: number, message: string): void => {
    events.append('twiml.error', { callSid: call.sid, code, message });
    model.deps.logger.warn({ callSid: call.sid, code }, message);
    // Twilio answers and hangs up with an application error: the call completes.
    if (ringing()) model.answer(call);
    if (current()) model.endCall(call, 'completed');
  };

  let verbs = await load(model, call, source, () => current() || ringing(), fail);
  if (verbs !== null && ringing()) model.answer(call);
  while (verbs !== null) {
    let next: TwimlSource | null = null;
    for (const verb of verbs) {
      if (!current()) return;
      events.append('twiml.verb', { callSid: call.sid, verb: verb.verb, ...describe(verb) });
      const outcome = await execute(model, call, verb, current);
      if (outcome === 'hangup') {
        if (current()) model.endCall(call, 'completed');
        return;
      }
      if (outcome !== 'next') {
        next = outcome;
        break;
      }
    }
    if (!current()) return;
    if (next === null) {
      // A call ends when its TwiML runs out (https://www.twilio.com/docs/voice/twiml).
      model.endCall(call, 'completed');
      return;
    }
    verbs = await load(model, call, next, current, fail);
  }
}

async function load(
  model: CallModel,
  call: CallRecord,
  source: TwimlSource,
  current: () => boolean,
  fail: (code: number, message: string) => void,
): Promise<readonly Verb[] | null> {
  if (source.kind === 'verbs') return source.verbs;
  let xml: string;
  if (source.kind === 'twiml') {
    xml = source.twiml;
  } else {
    let url: string;
    try {
      url = new URL(source.url, call.documentUrl ?? undefined).toString();
    } catch {
      fail(HTTP_RETRIEVAL_FAILURE, `HTTP retrieval failure: invalid URL '${source.url}'`);
      return null;
    }
    model.deps.events.append('twiml.fetch', { callSid: call.sid, url, method: source.method });
    const response = await model.deps.webhooks.send({
      url,
      method: source.method,
      params: model.callParams(call),
      purpose: 'twiml',
      callSid: call.sid,
    });
    if (!current()) return null;
    if (response === null || response.status < 200 || response.status > 299) {
      fail(
        HTTP_RETRIEVAL_FAILURE,
        `HTTP retrieval failure: ${url} answered ${response === null ? 'nothing' : String(response.status)}`,
      );
      return null;
    }
    call.documentUrl = url;
    xml = response.body;
  }
  try {
    return parseTwiml(xml);
  } catch (error) {
    if (error instanceof TwimlError) {
      fail(error.code, error.message);
      return null;
    }
    throw error;
  }
}

type Outcome = 'next' | 'hangup' | TwimlSource;

async function execute(
  model: CallModel,
  call: CallRecord,
  verb: Verb,
  current: () => boolean,
): Promise<Outcome> {
  const { audio, events } = model.deps;
  switch (verb.verb) {
    case 'Say':
    case 'Play': {
      const once =
        verb.verb === 'Say' ? Math.max(1, verb.text.length) * audio.sayMsPerChar : audio.playMs;
      // loop="0" repeats until something else happens to the call.
      call.activity = { kind: verb.verb === 'Say' ? 'say' : 'play' };
      await model.wait(call, verb.loop === 0 ? null : once * verb.loop);
      if (current()) call.activity = { kind: 'idle' };
      return 'next';
    }
    case 'Pause':
      await model.wait(call, verb.lengthS * 1000);
      return 'next';
    case 'Start':
      for (const noun of verb.streams) {
        try {
          model.createStream(call, {
            url: resolve(noun.url, call.documentUrl),
            name: noun.name,
            track: noun.track,
            statusCallback:
              noun.statusCallback === null
                ? null
                : {
                    url: resolve(noun.statusCallback, call.documentUrl),
                    method: noun.statusCallbackMethod,
                  },
            parameters: noun.parameters,
            via: 'twiml',
          });
        } catch (error) {
          // A refused fork does not end the call: TwiML goes on (logged as `stream.refused`).
          if (!(error instanceof TwilioApiError)) throw error;
        }
      }
      return 'next';
    case 'Stop':
      for (const name of verb.streamNames) {
        const stream = model.findRunningStream(call, name);
        if (stream) model.stopStream(stream, 'twiml');
        else
          events.append('twiml.error', {
            callSid: call.sid,
            code: 12200,
            message: `no running stream named '${name}'`,
          });
      }
      return 'next';
    case 'Dial': {
      if (model.participation(call) === null) {
        const { conference } = verb;
        model.joinConference(call, {
          ...conference,
          label: conference.participantLabel,
          // `coach="CA…"` joins as a coach of that call (heard by it alone).
          coaching: conference.coach !== null,
          callSidToCoach: conference.coach,
        });
      }
      // Wait until this participant leaves (conference ended, kicked); then the next verb runs.
      while (current() && model.participation(call) !== null) await model.wait(call, null);
      return 'next';
    }
    case 'Enqueue':
      // The call waits in the queue hearing wait music until it is redirected, hangs up, or is
      // bridged into a conference (TaskRouter: `<Enqueue workflowSid>` makes a task, see
      // src/taskrouter/model.ts); after that conference the TwiML goes on after `<Enqueue>`.
      call.activity = { kind: 'queue', queueName: verb.queueName, silent: verb.waitUrl === '' };
      while (current() && isQueued(call)) await model.wait(call, null);
      return 'next';
    case 'Redirect':
      return { kind: 'url', url: resolve(verb.url, call.documentUrl), method: verb.method };
    case 'Hangup':
      return 'hangup';
  }
}

function isQueued(call: CallRecord): boolean {
  return call.activity.kind === 'queue';
}

function resolve(url: string, base: string | null): string {
  try {
    return new URL(url, base ?? undefined).toString();
  } catch {
    return url;
  }
}

function describe(verb: Verb): Record<string, unknown> {
  switch (verb.verb) {
    case 'Dial':
      return { conference: verb.conference.name };
    case 'Start':
      return { streams: verb.streams.map((s) => s.name ?? s.url) };
    case 'Stop':
      return { streams: verb.streamNames };
    case 'Enqueue':
      return { queue: verb.queueName, workflowSid: verb.workflowSid, task: verb.task };
    case 'Redirect':
      return { url: verb.url };
    case 'Say':
    case 'Play':
    case 'Pause':
    case 'Hangup':
      return {};
  }
}
