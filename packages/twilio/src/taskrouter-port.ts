/**
 * The core's `TaskRouterPort` over the official `twilio` SDK: `FetchTaskReservation` and
 * `FetchTask` of TaskRouter v1 (twilio_taskrouter_v1.json) in one workspace, and `ListParticipant`
 * of the v2010 API. SDK failures become `VoiceApiError`s through {@link toVoiceApiError}, the one
 * wrapping this package has (style §6); a 404 answer is null (unknown task or reservation).
 */
import { VoiceApiError, type ReservationResource, type TaskRouterPort } from '@flex-streams/core';
import type twilio from 'twilio';
import { captureResponses } from './client.js';
import { FsTwilioError } from './errors.js';
import { listConferenceParticipants, toVoiceApiError } from './voice-port.js';

/** Options of {@link createTwilioTaskRouterPort}. */
export interface TwilioTaskRouterPortOptions {
  /** The Flex workspace (`WS` + 32 hex): the TaskRouter resources are read in it. */
  workspaceSid: string;
  /** Epoch milliseconds, to turn an HTTP-date `Retry-After` into a delay (default `Date.now`). */
  now?: () => number;
}

const WORKSPACE_SID = /^WS[0-9a-fA-F]{32}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Implements the core's `TaskRouterPort` with the SDK client `client` (best made by
 * `createTwilioClient`).
 *
 * @throws {FsTwilioError} `FS_TW_INVALID_OPTIONS` when `workspaceSid` is not a `WS…` SID.
 */
export function createTwilioTaskRouterPort(
  client: twilio.Twilio,
  options: TwilioTaskRouterPortOptions,
): TaskRouterPort {
  if (!WORKSPACE_SID.test(options.workspaceSid)) {
    throw new FsTwilioError(
      'FS_TW_INVALID_OPTIONS',
      `workspaceSid must be "WS" followed by 32 hex digits, not ${JSON.stringify(options.workspaceSid)}`,
    );
  }
  const now = options.now ?? Date.now;
  const workspace = client.taskrouter.v1.workspaces(options.workspaceSid);

  async function call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    const { result, captured } = captureResponses(request);
    try {
      return await result;
    } catch (error) {
      throw toVoiceApiError(operation, error, captured, now());
    }
  }

  /** Twilio answers 404 (code 20404) for a SID it does not know: that is an answer, not a failure. */
  async function orNull<T>(operation: string, request: () => Promise<T>): Promise<T | null> {
    try {
      return await call(operation, request);
    } catch (error) {
      if (error instanceof VoiceApiError && error.status === 404) return null;
      throw error;
    }
  }

  return {
    fetchReservation(taskSid, reservationSid) {
      return orNull('FetchTaskReservation', async (): Promise<ReservationResource> => {
        const answer = await workspace.tasks(taskSid).reservations(reservationSid).fetch();
        if (typeof answer.workerSid !== 'string' || typeof answer.reservationStatus !== 'string') {
          throw new FsTwilioError(
            'FS_TW_UNEXPECTED_ANSWER',
            'FetchTaskReservation: Twilio answered a reservation without worker_sid or reservation_status',
          );
        }
        return {
          sid: answer.sid,
          taskSid: answer.taskSid,
          workerSid: answer.workerSid,
          status: answer.reservationStatus,
        };
      });
    },

    fetchTaskAttributes(taskSid) {
      return orNull('FetchTask', async () => {
        const answer = await workspace.tasks(taskSid).fetch();
        let attributes: unknown;
        try {
          attributes = JSON.parse(answer.attributes);
        } catch {
          attributes = null;
        }
        if (!isRecord(attributes)) {
          throw new FsTwilioError(
            'FS_TW_UNEXPECTED_ANSWER',
            `FetchTask: the attributes of task ${taskSid} are not a JSON object`,
          );
        }
        return attributes;
      });
    },

    async listParticipants(conferenceSid) {
      const answer = await orNull('ListParticipant', () =>
        listConferenceParticipants(client, conferenceSid),
      );
      return answer ?? [];
    },
  };
}
