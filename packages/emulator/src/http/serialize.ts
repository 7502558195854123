import { durationOf, isActive } from '../model/model.js';
import { rfc2822 } from '../model/ids.js';
import type {
  CallRecord,
  ConferenceRecord,
  ParticipantRecord,
  StreamRecord,
} from '../model/records.js';

/**
 * Twilio's v2010 JSON shapes: snake_case keys, RFC 2822 dates, `uri` and `subresource_uris`,
 * every property of the spec's component schema present (null when unknown). Shapes follow
 * `twilio_api_v2010.json` components `api.v2010.account.call`, `…conference`,
 * `…conference.participant` and `…call.stream`.
 */
const API = '/2010-04-01';

export function callUri(accountSid: string, sid: string): string {
  return `${API}/Accounts/${accountSid}/Calls/${sid}.json`;
}

export function serializeCall(call: CallRecord): Record<string, unknown> {
  const base = `${API}/Accounts/${call.accountSid}/Calls/${call.sid}`;
  const duration = durationOf(call);
  return {
    sid: call.sid,
    date_created: rfc2822(call.dateCreated),
    date_updated: rfc2822(call.dateUpdated),
    parent_call_sid: null,
    account_sid: call.accountSid,
    to: call.to,
    to_formatted: call.to,
    from: call.from,
    from_formatted: call.from,
    phone_number_sid: null,
    status: call.status,
    start_time: call.startTime === null ? null : rfc2822(call.startTime),
    end_time: call.endTime === null ? null : rfc2822(call.endTime),
    duration: duration === null ? null : String(duration),
    price: null,
    price_unit: 'USD',
    direction: call.direction,
    answered_by: null,
    api_version: '2010-04-01',
    forwarded_from: null,
    group_sid: null,
    caller_name: null,
    queue_time: '0',
    trunk_sid: null,
    uri: `${base}.json`,
    subresource_uris: {
      notifications: `${base}/Notifications.json`,
      recordings: `${base}/Recordings.json`,
      payments: `${base}/Payments.json`,
      events: `${base}/Events.json`,
      siprec: `${base}/Siprec.json`,
      streams: `${base}/Streams.json`,
      transcriptions: `${base}/Transcriptions.json`,
      user_defined_message_subscriptions: `${base}/UserDefinedMessageSubscriptions.json`,
      user_defined_messages: `${base}/UserDefinedMessages.json`,
    },
  };
}

export function serializeConference(conference: ConferenceRecord): Record<string, unknown> {
  const base = `${API}/Accounts/${conference.accountSid}/Conferences/${conference.sid}`;
  return {
    account_sid: conference.accountSid,
    date_created: rfc2822(conference.dateCreated),
    date_updated: rfc2822(conference.dateUpdated),
    api_version: '2010-04-01',
    friendly_name: conference.friendlyName,
    region: 'us1',
    sid: conference.sid,
    status: conference.status,
    uri: `${base}.json`,
    subresource_uris: {
      participants: `${base}/Participants.json`,
      recordings: `${base}/Recordings.json`,
    },
    reason_conference_ended: conference.reasonConferenceEnded,
    call_sid_ending_conference: conference.callSidEndingConference,
  };
}

export function serializeParticipant(
  accountSid: string,
  participant: ParticipantRecord,
  queueTime: string | null = null,
): Record<string, unknown> {
  return {
    account_sid: accountSid,
    call_sid: participant.callSid,
    label: participant.label,
    call_sid_to_coach: participant.callSidToCoach,
    coaching: participant.coaching,
    conference_sid: participant.conferenceSid,
    date_created: rfc2822(participant.dateCreated),
    date_updated: rfc2822(participant.dateUpdated),
    end_conference_on_exit: participant.endConferenceOnExit,
    muted: participant.muted,
    hold: participant.hold,
    start_conference_on_enter: participant.startConferenceOnEnter,
    status: participant.status,
    queue_time: queueTime,
    uri: `${API}/Accounts/${accountSid}/Conferences/${participant.conferenceSid}/Participants/${participant.callSid}.json`,
  };
}

export function serializeStream(stream: StreamRecord): Record<string, unknown> {
  return {
    sid: stream.sid,
    account_sid: stream.accountSid,
    call_sid: stream.callSid,
    name: stream.name,
    status: isActive(stream) ? 'in-progress' : 'stopped',
    date_updated: rfc2822(stream.dateUpdated),
    uri: `${API}/Accounts/${stream.accountSid}/Calls/${stream.callSid}/Streams/${stream.sid}.json`,
  };
}

/**
 * One v2010 list page: the resource key plus `first_page_uri`, `next_page_uri`,
 * `previous_page_uri`, `page`, `page_size`, `start`, `end`, `uri` (twilio-facts §5; twilio-node
 * `src/base/Page.ts`). `PageToken` is `PT<start index>`; PageSize defaults to 50, at most 1000.
 */
export function listPage<T>(
  key: string,
  items: readonly T[],
  serialize: (item: T) => Record<string, unknown>,
  path: string,
  query: Readonly<Record<string, string>>,
  paging: { page: number; pageSize: number },
): Record<string, unknown> {
  const { page, pageSize } = paging;
  const start = page * pageSize;
  const slice = items.slice(start, start + pageSize);
  const uriFor = (p: number): string => {
    const params = new URLSearchParams({ ...query, PageSize: String(pageSize), Page: String(p) });
    if (p > 0) params.set('PageToken', `PT${p * pageSize}`);
    return `${path}?${params.toString()}`;
  };
  return {
    [key]: slice.map(serialize),
    first_page_uri: uriFor(0),
    next_page_uri: start + pageSize < items.length ? uriFor(page + 1) : null,
    previous_page_uri: page > 0 ? uriFor(page - 1) : null,
    page,
    page_size: pageSize,
    start,
    end: start + Math.max(0, slice.length - 1),
    uri: uriFor(page),
  };
}
