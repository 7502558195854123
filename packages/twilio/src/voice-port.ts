/**
 * The core's `VoicePort` over the official `twilio` SDK (v2010 REST API). Every method resolves
 * with Twilio's answer mapped to the core's camelCase resources, or rejects with the core's
 * `VoiceApiError`, built in exactly one place: {@link toVoiceApiError} (style §6).
 */
import {
  VoiceApiError,
  type CallStatus,
  type CreateStreamRequest,
  type ParticipantResource,
  type ParticipantSummary,
  type StreamResource,
  type VoicePort,
} from '@flex-streams/core';
import type twilio from 'twilio';
import type { StreamListInstanceCreateOptions } from 'twilio/lib/rest/api/v2010/account/call/stream.js';
import type { ParticipantContextUpdateOptions } from 'twilio/lib/rest/api/v2010/account/conference/participant.js';
import { captureResponses, type CapturedResponse } from './client.js';
import { FsTwilioError, isFsTwilioError } from './errors.js';
import { parseRetryAfterMs } from './retry-after.js';

/** Twilio accepts at most 99 custom parameter pairs on a REST stream (twilio-facts §2). */
export const MAX_STREAM_PARAMETERS = 99;

/** Options of {@link createTwilioVoicePort}. */
export interface TwilioVoicePortOptions {
  /** Epoch milliseconds, to turn an HTTP-date `Retry-After` into a delay (default `Date.now`). */
  now?: () => number;
}

/**
 * Twilio operation names (the OpenAPI `operationId`s of `twilio_api_v2010.json`), used in error
 * messages so a log says which request failed.
 */
type Operation =
  | 'CreateStream'
  | 'UpdateStream'
  | 'FetchCall'
  | 'UpdateCall'
  | 'ListConference'
  | 'FetchParticipant'
  | 'ListParticipant'
  | 'UpdateParticipant';

/**
 * `GET /Conferences/{cf}/Participants.json` (first page of 50: a Flex conference has a handful),
 * as `{callSid, label}`. Shared by the voice port and the TaskRouter port; the caller wraps errors.
 */
export async function listConferenceParticipants(
  client: twilio.Twilio,
  conferenceSid: string,
): Promise<ParticipantSummary[]> {
  const answer = await client.conferences(conferenceSid).participants.page({ pageSize: 50 });
  return answer.instances.map((p) => ({
    callSid: p.callSid,
    label: typeof p.label === 'string' && p.label !== '' ? p.label : null,
    hold: p.hold,
    endConferenceOnExit: p.endConferenceOnExit,
  }));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * The one place SDK failures become `VoiceApiError`s:
 * - axios gave up (connection refused or reset, DNS, timeout): status 0, code null: retryable;
 * - Twilio answered non-2xx (`RestException`, or `TwilioServiceException` for RFC 9457 bodies):
 *   its HTTP status, its Twilio `code`, and `Retry-After` as `retryAfterMs`;
 * - Twilio answered but the body could not be read: that HTTP status, code null;
 * - nothing was sent (the SDK refused a path parameter, too many stream parameters): status 400,
 *   code null, with an `FS_TW_REQUEST_REFUSED` error as cause.
 * The original error is kept as `cause` (for axios failures a copy without the request config,
 * which holds the Authorization header).
 */
export function toVoiceApiError(
  operation: string,
  error: unknown,
  captured: CapturedResponse,
  nowMs: number,
): VoiceApiError {
  if (isRecord(error) && error.isAxiosError === true) {
    const reason = typeof error.code === 'string' ? error.code : 'no answer';
    const detail = error instanceof Error ? error.message : 'request failed';
    // An AxiosError carries its request config, Authorization header included: a logger that
    // serialises `cause` would print the credentials. Keep a copy with the name, code and message.
    const cause = Object.assign(new Error(detail), { name: 'AxiosError', code: reason });
    return new VoiceApiError(
      {
        status: 0,
        code: null,
        message: `${operation}: Twilio did not answer (${reason}: ${detail})`,
      },
      { cause },
    );
  }
  if (
    error instanceof Error &&
    !isFsTwilioError(error) &&
    isRecord(error) &&
    typeof error.status === 'number' &&
    error.status >= 100 &&
    error.status <= 599
  ) {
    const status = error.status;
    const code = typeof error.code === 'number' ? error.code : null;
    const retryAfterMs =
      captured.statusCode === status
        ? parseRetryAfterMs(captured.headers['retry-after'], nowMs)
        : null;
    const more = typeof error.moreInfo === 'string' ? ` (${error.moreInfo})` : '';
    return new VoiceApiError(
      {
        status,
        code,
        message: `${operation}: Twilio answered ${status}${code === null ? '' : ` / ${code}`}: ${error.message}${more}`,
        ...(retryAfterMs === null ? {} : { retryAfterMs }),
      },
      { cause: error },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  if (captured.statusCode !== null) {
    return new VoiceApiError(
      {
        status: captured.statusCode,
        code: null,
        message: `${operation}: Twilio answered ${captured.statusCode} but the answer could not be read: ${detail}`,
      },
      { cause: error },
    );
  }
  const refused = isFsTwilioError(error, 'FS_TW_REQUEST_REFUSED')
    ? error
    : new FsTwilioError('FS_TW_REQUEST_REFUSED', `${operation} not sent: ${detail}`, {
        cause: error,
      });
  return new VoiceApiError(
    { status: 400, code: null, message: refused.message },
    { cause: refused },
  );
}

function unexpected(operation: Operation, what: string): FsTwilioError {
  return new FsTwilioError('FS_TW_UNEXPECTED_ANSWER', `${operation}: Twilio answered ${what}`);
}

function toStream(
  operation: Operation,
  answer: { sid: string; name: string | null; status: string },
): StreamResource {
  if (answer.status !== 'in-progress' && answer.status !== 'stopped') {
    throw unexpected(operation, `an unknown stream status "${answer.status}"`);
  }
  return { sid: answer.sid, name: answer.name, status: answer.status };
}

const CALL_STATUSES: readonly string[] = [
  'queued',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
] satisfies readonly CallStatus[];

function toCallStatus(operation: Operation, status: unknown): CallStatus {
  if (typeof status !== 'string' || !CALL_STATUSES.includes(status)) {
    throw unexpected(operation, `an unknown call status ${JSON.stringify(status)}`);
  }
  return status as CallStatus;
}

function toParticipant(
  operation: Operation,
  answer: { callSid: string; conferenceSid: string; hold: boolean; endConferenceOnExit: boolean },
): ParticipantResource {
  if (typeof answer.hold !== 'boolean' || typeof answer.endConferenceOnExit !== 'boolean') {
    throw unexpected(operation, 'a participant without boolean hold / end_conference_on_exit');
  }
  return {
    callSid: answer.callSid,
    conferenceSid: answer.conferenceSid,
    hold: answer.hold,
    endConferenceOnExit: answer.endConferenceOnExit,
  };
}

/**
 * The REST form of `CreateStream`: twilio-node spells the custom parameters as the quoted keys
 * `"parameter1.name"` / `"parameter1.value"` … `"parameter99.*"` (twilio-facts §2).
 */
function streamCreateOptions(request: CreateStreamRequest): StreamListInstanceCreateOptions {
  const entries = Object.entries(request.parameters);
  if (entries.length > MAX_STREAM_PARAMETERS) {
    throw new FsTwilioError(
      'FS_TW_REQUEST_REFUSED',
      `CreateStream not sent: ${entries.length} custom parameters, Twilio accepts at most ${MAX_STREAM_PARAMETERS}`,
    );
  }
  const options: Record<string, string> = { url: request.url, name: request.name };
  options.track = request.track;
  if (request.statusCallback !== undefined) {
    options.statusCallback = request.statusCallback;
    options.statusCallbackMethod = 'POST';
  }
  entries.forEach(([name, value], index) => {
    options[`parameter${index + 1}.name`] = name;
    options[`parameter${index + 1}.value`] = value;
  });
  // The SDK types spell out all 99 keys; a record built in a loop cannot be checked against them.
  return options as unknown as StreamListInstanceCreateOptions;
}

/**
 * Implements every method of the core's `VoicePort` with the SDK client `client` (best made by
 * `createTwilioClient`, whose request client also captures `Retry-After`; any other client works,
 * with `retryAfterMs` then always null).
 */
export function createTwilioVoicePort(
  client: twilio.Twilio,
  options: TwilioVoicePortOptions = {},
): VoicePort {
  const now = options.now ?? Date.now;
  // The SDK loads each resource's modules on first use (`lazyLoading`); reading them here moves
  // that cost (hundreds of milliseconds on a cold process) from the first stream start to
  // start-up, so the first segment's stream starts as close to the segment as the later ones.
  if (typeof client.calls !== 'function' || typeof client.conferences !== 'function') {
    throw new FsTwilioError(
      'FS_TW_INVALID_OPTIONS',
      'The Twilio client has no Calls or Conferences',
    );
  }

  async function call<T>(operation: Operation, request: () => Promise<T>): Promise<T> {
    const { result, captured } = captureResponses(request);
    try {
      return await result;
    } catch (error) {
      throw toVoiceApiError(operation, error, captured, now());
    }
  }

  return {
    createStream(callSid, request) {
      return call('CreateStream', async () =>
        toStream(
          'CreateStream',
          await client.calls(callSid).streams.create(streamCreateOptions(request)),
        ),
      );
    },

    stopStream(callSid, sidOrName) {
      return call('UpdateStream', async () =>
        toStream(
          'UpdateStream',
          await client.calls(callSid).streams(sidOrName).update({ status: 'stopped' }),
        ),
      );
    },

    fetchCallStatus(callSid) {
      return call('FetchCall', async () =>
        toCallStatus('FetchCall', (await client.calls(callSid).fetch()).status),
      );
    },

    updateCallTwiml(callSid, twiml) {
      return call('UpdateCall', async () => {
        await client.calls(callSid).update({ twiml });
      });
    },

    findInProgressConference(friendlyName) {
      return call('ListConference', async () => {
        const page = await client.conferences.page({
          friendlyName,
          status: 'in-progress',
          pageSize: 1,
        });
        const first = page.instances[0];
        return first === undefined ? null : first.sid;
      });
    },

    fetchParticipant(conferenceSid, callSid) {
      return call('FetchParticipant', async () =>
        toParticipant(
          'FetchParticipant',
          await client.conferences(conferenceSid).participants(callSid).fetch(),
        ),
      );
    },

    async listParticipants(conferenceSid) {
      try {
        return await call('ListParticipant', () =>
          listConferenceParticipants(client, conferenceSid),
        );
      } catch (error) {
        // A conference Twilio no longer knows has nobody in it.
        if (error instanceof VoiceApiError && error.status === 404) return [];
        throw error;
      }
    },

    updateParticipant(conferenceSid, callSid, update) {
      return call('UpdateParticipant', async () => {
        const params: ParticipantContextUpdateOptions = {};
        if (update.endConferenceOnExit !== undefined) {
          params.endConferenceOnExit = update.endConferenceOnExit;
        }
        if (update.hold !== undefined) params.hold = update.hold;
        return toParticipant(
          'UpdateParticipant',
          await client.conferences(conferenceSid).participants(callSid).update(params),
        );
      });
    },
  };
}
