import type { FastifyInstance, FastifyRequest } from 'fastify';
import { twilioErrors } from '../errors.js';
import type { CallModel } from '../model/model.js';
import type {
  CallProgressEvent,
  CallRecord,
  ConferenceRecord,
  ParticipantRecord,
  TwimlSource,
} from '../model/records.js';
import type { BeepSetting, StreamTrackParam } from '../twiml/parse.js';
import {
  absoluteUrl,
  bool,
  filters,
  list,
  method,
  paging,
  str,
  type FormParams,
} from './params.js';
import {
  listPage,
  serializeCall,
  serializeConference,
  serializeParticipant,
  serializeStream,
} from './serialize.js';

const CALL_PROGRESS_EVENTS: readonly CallProgressEvent[] = [
  'initiated',
  'ringing',
  'answered',
  'completed',
];

/** Inline TwiML limit (https://www.twilio.com/docs/api/errors/32018). */
const MAX_TWIML_CHARS = 4000;
const ACCOUNT = '/2010-04-01/Accounts/:AccountSid';

/** Every Twilio route: path parameters by name; bodies and queries are read through `params.ts`. */
interface Route {
  Params: Record<string, string>;
}
type Req = FastifyRequest<Route>;

/** The route's operation name, logged with every request (`rest.request` events). */
declare module 'fastify' {
  interface FastifyContextConfig {
    operation?: string;
  }
}

/** The SID inside a `{Sid}.json` path segment, or 20404. */
function jsonKey(request: Req, name: string): string {
  const raw = request.params[name] ?? '';
  if (!raw.endsWith('.json')) throw twilioErrors.notFound(request.url.split('?')[0] ?? request.url);
  return raw.slice(0, -'.json'.length);
}

function body(request: Req): FormParams {
  const b = request.body;
  return typeof b === 'object' && b !== null ? (b as FormParams) : {};
}

function query(request: Req): FormParams {
  const q = request.query;
  return typeof q === 'object' && q !== null ? (q as FormParams) : {};
}

function pathOf(request: Req): string {
  return request.url.split('?')[0] ?? request.url;
}

/** `Twiml` or `Url`+`Method`, as Calls create/update take them. */
function twimlSource(params: FormParams): TwimlSource | undefined {
  const twiml = str(params, 'Twiml');
  if (twiml !== undefined) {
    if (twiml.length > MAX_TWIML_CHARS) throw twilioErrors.twimlTooLong();
    return { kind: 'twiml', twiml };
  }
  const url = str(params, 'Url');
  if (url !== undefined)
    return { kind: 'url', url: absoluteUrl(url), method: method(params, 'Method') };
  return undefined;
}

/** Registers the Twilio-shaped Voice routes (Calls, Conferences, Participants, Streams). */
export function registerTwilioRoutes(app: FastifyInstance, model: CallModel): void {
  const findCall = (request: Req, sid: string): CallRecord => {
    const call = model.calls.get(sid);
    if (call === undefined) throw twilioErrors.notFound(pathOf(request));
    return call;
  };
  const findConference = (request: Req, sid: string): ConferenceRecord => {
    const conference = model.conferences.get(sid);
    if (conference === undefined) throw twilioErrors.notFound(pathOf(request));
    return conference;
  };
  // The participant path key is the CallSid or the participant's label (twilio-facts §4).
  const findParticipant = (
    request: Req,
    conference: ConferenceRecord,
    key: string,
  ): ParticipantRecord => {
    for (const participant of conference.participants.values()) {
      if (participant.callSid === key || participant.label === key) return participant;
    }
    throw twilioErrors.notFound(pathOf(request));
  };

  // ------------------------------------------------------------------ Calls

  app.post<Route>(
    `${ACCOUNT}/Calls.json`,
    { config: { operation: 'CreateCall' } },
    (req, reply) => {
      const params = body(req);
      const to = str(params, 'To');
      const from = str(params, 'From');
      if (to === undefined || to === '') throw twilioErrors.missingTo();
      if (from === undefined || from === '') throw twilioErrors.missingFrom();
      const source = twimlSource(params);
      if (source === undefined) throw twilioErrors.missingUrl('Url or Twiml');
      const callback = str(params, 'StatusCallback');
      const events = list(params, 'StatusCallbackEvent');
      for (const event of events) {
        if (!CALL_PROGRESS_EVENTS.includes(event as CallProgressEvent)) {
          throw twilioErrors.invalidParameter('StatusCallbackEvent', event);
        }
      }
      const call = model.createCall({
        from,
        to,
        direction: 'outbound-api',
        source,
        statusCallback:
          callback === undefined
            ? null
            : {
                url: absoluteUrl(callback),
                method: method(params, 'StatusCallbackMethod'),
                events: events.length > 0 ? (events as CallProgressEvent[]) : ['completed'],
              },
      });
      return reply.code(201).send(serializeCall(call));
    },
  );

  app.get<Route>(`${ACCOUNT}/Calls.json`, { config: { operation: 'ListCall' } }, (req) => {
    const q = query(req);
    const wanted = filters(q, ['To', 'From', 'Status', 'ParentCallSid']);
    const calls = [...model.calls.values()]
      .filter(
        (c) =>
          (wanted.To === undefined || c.to === wanted.To) &&
          (wanted.From === undefined || c.from === wanted.From) &&
          (wanted.Status === undefined || c.status === wanted.Status) &&
          wanted.ParentCallSid === undefined,
      )
      .reverse();
    return listPage('calls', calls, serializeCall, pathOf(req), wanted, paging(q));
  });

  app.get<Route>(`${ACCOUNT}/Calls/:file`, { config: { operation: 'FetchCall' } }, (req) => {
    return serializeCall(findCall(req, jsonKey(req, 'file')));
  });

  app.post<Route>(`${ACCOUNT}/Calls/:file`, { config: { operation: 'UpdateCall' } }, (req) => {
    const call = findCall(req, jsonKey(req, 'file'));
    const params = body(req);
    const status = str(params, 'Status');
    const source = twimlSource(params);
    if (status !== undefined) {
      if (status !== 'completed' && status !== 'canceled')
        throw twilioErrors.invalidParameter('Status', status);
      // UNCONFIRMED: Status=canceled on an in-progress call is treated like completed.
      model.endCall(call, status);
    } else if (source !== undefined) {
      model.redirectCall(call, source);
    }
    return serializeCall(call);
  });

  // ------------------------------------------------------------------ Streams

  app.post<Route>(
    `${ACCOUNT}/Calls/:CallSid/Streams.json`,
    { config: { operation: 'CreateStream' } },
    (req) => {
      const call = findCall(req, req.params.CallSid ?? '');
      const params = body(req);
      const url = str(params, 'Url');
      if (url === undefined || url === '') throw twilioErrors.missingUrl();
      const track = str(params, 'Track') ?? 'inbound_track';
      if (track !== 'inbound_track' && track !== 'outbound_track' && track !== 'both_tracks') {
        throw twilioErrors.invalidParameter('Track', track);
      }
      const parameters: Record<string, string> = {};
      for (let n = 1; n <= 99; n++) {
        const name = str(params, `Parameter${n}.Name`);
        if (name !== undefined) parameters[name] = str(params, `Parameter${n}.Value`) ?? '';
      }
      const callback = str(params, 'StatusCallback');
      const stream = model.createStream(call, {
        url: resolveUrl(url, call.documentUrl),
        name: str(params, 'Name') ?? null,
        track: track satisfies StreamTrackParam,
        statusCallback:
          callback === undefined
            ? null
            : { url: absoluteUrl(callback), method: method(params, 'StatusCallbackMethod') },
        parameters,
        via: 'rest',
      });
      // The spec answers 200 (not 201) for CreateStream (twilio-facts §2).
      return serializeStream(stream);
    },
  );

  app.post<Route>(
    `${ACCOUNT}/Calls/:CallSid/Streams/:file`,
    { config: { operation: 'UpdateStream' } },
    (req) => {
      const call = findCall(req, req.params.CallSid ?? '');
      // The path key is the MZ SID or the stream's name, URL-decoded by the router (twilio-facts §2).
      const key = jsonKey(req, 'file');
      const status = str(body(req), 'Status');
      if (status !== 'stopped') throw twilioErrors.invalidParameter('Status', status ?? '');
      const stream = model.findRunningStream(call, key);
      // UNCONFIRMED: stopping an unknown or already stopped stream answers 404 / 20404.
      if (stream === undefined) throw twilioErrors.notFound(pathOf(req));
      model.stopStream(stream, 'rest');
      return serializeStream(stream);
    },
  );

  // ------------------------------------------------------------------ Conferences

  app.get<Route>(
    `${ACCOUNT}/Conferences.json`,
    { config: { operation: 'ListConference' } },
    (req) => {
      const q = query(req);
      const wanted = filters(q, ['FriendlyName', 'Status']);
      const conferences = [...model.conferences.values()]
        .filter(
          (c) =>
            (wanted.FriendlyName === undefined || c.friendlyName === wanted.FriendlyName) &&
            (wanted.Status === undefined || c.status === wanted.Status),
        )
        .reverse();
      return listPage(
        'conferences',
        conferences,
        serializeConference,
        pathOf(req),
        wanted,
        paging(q),
      );
    },
  );

  app.get<Route>(
    `${ACCOUNT}/Conferences/:file`,
    { config: { operation: 'FetchConference' } },
    (req) => {
      return serializeConference(findConference(req, jsonKey(req, 'file')));
    },
  );

  app.post<Route>(
    `${ACCOUNT}/Conferences/:file`,
    { config: { operation: 'UpdateConference' } },
    (req) => {
      const conference = findConference(req, jsonKey(req, 'file'));
      const status = str(body(req), 'Status');
      if (status !== undefined) {
        if (status !== 'completed') throw twilioErrors.invalidParameter('Status', status);
        model.endConference(conference, 'conference-ended-via-api', null);
      }
      return serializeConference(conference);
    },
  );

  // ------------------------------------------------------------------ Participants

  const participants = `${ACCOUNT}/Conferences/:ConferenceSid/Participants`;

  app.post<Route>(
    `${participants}.json`,
    { config: { operation: 'CreateParticipant' } },
    (req, reply) => {
      const params = body(req);
      const from = str(params, 'From');
      const to = str(params, 'To');
      if (from === undefined || from === '') throw twilioErrors.missingFrom();
      if (to === undefined || to === '') throw twilioErrors.missingTo();
      // The path may hold a CF SID or a friendly name; a new name creates the conference.
      const key = req.params.ConferenceSid ?? '';
      const existing = model.conferences.get(key);
      if (key.startsWith('CF') && existing === undefined) throw twilioErrors.notFound(pathOf(req));
      if (existing?.status === 'completed') throw twilioErrors.notFound(pathOf(req));
      const name = existing?.friendlyName ?? key;
      const beep = str(params, 'Beep') ?? 'true';
      if (!['true', 'false', 'onEnter', 'onExit'].includes(beep))
        throw twilioErrors.invalidParameter('Beep', beep);
      const statusCallback = str(params, 'ConferenceStatusCallback');
      const options = {
        name,
        beep: beep as BeepSetting,
        startConferenceOnEnter: bool(params, 'StartConferenceOnEnter') ?? true,
        endConferenceOnExit: bool(params, 'EndConferenceOnExit') ?? false,
        muted: bool(params, 'Muted') ?? false,
        hold: bool(params, 'Hold') ?? false,
        coaching: bool(params, 'Coaching') ?? false,
        callSidToCoach: str(params, 'CallSidToCoach') ?? null,
        waitUrl: str(params, 'WaitUrl') ?? null,
        statusCallback: statusCallback === undefined ? null : absoluteUrl(statusCallback),
        statusCallbackMethod: method(params, 'ConferenceStatusCallbackMethod'),
        statusCallbackEvent: list(params, 'ConferenceStatusCallbackEvent'),
        participantLabel: str(params, 'Label') ?? null,
        label: str(params, 'Label') ?? null,
        coach: null,
      };
      // The callee answers at once and joins (README: participants answer instantly).
      const call = model.createCallAnswered({ from, to, options });
      const participant = model.participation(call)?.participant;
      if (participant === undefined) throw twilioErrors.notFound(pathOf(req));
      return reply.code(201).send(serializeParticipant(model.deps.accountSid, participant, '0'));
    },
  );

  app.get<Route>(`${participants}.json`, { config: { operation: 'ListParticipant' } }, (req) => {
    const conference = findConference(req, req.params.ConferenceSid ?? '');
    const q = query(req);
    const muted = bool(q, 'Muted');
    const hold = bool(q, 'Hold');
    const coaching = bool(q, 'Coaching');
    const items = [...conference.participants.values()].filter(
      (p) =>
        (muted === undefined || p.muted === muted) &&
        (hold === undefined || p.hold === hold) &&
        (coaching === undefined || p.coaching === coaching),
    );
    return listPage(
      'participants',
      items,
      (p) => serializeParticipant(model.deps.accountSid, p),
      pathOf(req),
      filters(q, ['Muted', 'Hold', 'Coaching']),
      paging(q),
    );
  });

  app.get<Route>(`${participants}/:file`, { config: { operation: 'FetchParticipant' } }, (req) => {
    const conference = findConference(req, req.params.ConferenceSid ?? '');
    return serializeParticipant(
      model.deps.accountSid,
      findParticipant(req, conference, jsonKey(req, 'file')),
    );
  });

  app.post<Route>(
    `${participants}/:file`,
    { config: { operation: 'UpdateParticipant' } },
    (req) => {
      const conference = findConference(req, req.params.ConferenceSid ?? '');
      const participant = findParticipant(req, conference, jsonKey(req, 'file'));
      const params = body(req);
      const update = {
        muted: bool(params, 'Muted'),
        hold: bool(params, 'Hold'),
        holdUrl: str(params, 'HoldUrl'),
        holdMethod:
          str(params, 'HoldMethod') === undefined ? undefined : method(params, 'HoldMethod', 'GET'),
        endConferenceOnExit: bool(params, 'EndConferenceOnExit'),
        coaching: bool(params, 'Coaching'),
        callSidToCoach: str(params, 'CallSidToCoach'),
        beepOnExit: bool(params, 'BeepOnExit'),
        waitUrl: str(params, 'WaitUrl'),
      };
      model.updateParticipant(
        conference,
        participant,
        Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)),
      );
      return serializeParticipant(model.deps.accountSid, participant);
    },
  );

  app.delete<Route>(
    `${participants}/:file`,
    { config: { operation: 'DeleteParticipant' } },
    (req, reply) => {
      const conference = findConference(req, req.params.ConferenceSid ?? '');
      const participant = findParticipant(req, conference, jsonKey(req, 'file'));
      const call = model.calls.get(participant.callSid);
      if (call) model.leaveConference(call, 'participant_kicked');
      return reply.code(204).send();
    },
  );
}

function resolveUrl(url: string, base: string | null): string {
  try {
    return new URL(url, base ?? undefined).toString();
  } catch {
    throw twilioErrors.invalidUrl(url);
  }
}
