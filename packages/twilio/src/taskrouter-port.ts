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

/** The name Flex gives the TaskRouter workspace it creates for an account. */
export const FLEX_WORKSPACE_NAME = 'Flex Task Assignment';

/**
 * Finds the account's Flex workspace when none is configured (`ListWorkspace`,
 * `GET /v1/Workspaces`): the only workspace of the account, or else the one Flex named
 * {@link FLEX_WORKSPACE_NAME}. Returns its `WS…` SID.
 *
 * @throws {FsTwilioError} `FS_TW_WORKSPACE_AMBIGUOUS` naming the workspaces found (none, or several
 *   and none of them Flex's), so the operator can set one.
 * @throws {VoiceApiError} when TaskRouter cannot be asked (network, credentials).
 */
export async function discoverFlexWorkspace(
  client: twilio.Twilio,
  options: { now?: () => number } = {},
): Promise<{ sid: string; friendlyName: string }> {
  const now = options.now ?? Date.now;
  const { result, captured } = captureResponses(() =>
    // Every page (an account may have many workspaces), bounded for sanity.
    client.taskrouter.v1.workspaces.list({ pageSize: 50, limit: 1000 }),
  );
  let workspaces: { sid: string; friendlyName: string }[];
  try {
    workspaces = (await result).map((w) => ({ sid: w.sid, friendlyName: w.friendlyName }));
  } catch (error) {
    throw toVoiceApiError('ListWorkspace', error, captured, now());
  }
  const flex = workspaces.filter((w) => w.friendlyName === FLEX_WORKSPACE_NAME);
  const picked = workspaces.length === 1 ? workspaces[0] : flex.length === 1 ? flex[0] : undefined;
  if (picked !== undefined) return picked;
  const found =
    workspaces.length === 0
      ? 'the account has no TaskRouter workspace'
      : `the account has ${workspaces.length} workspaces (${workspaces
          .slice(0, 10)
          .map((w) => `${w.sid} "${w.friendlyName}"`)
          .join(
            ', ',
          )}) and ${flex.length === 0 ? 'none is' : 'several are'} named "${FLEX_WORKSPACE_NAME}"`;
  throw new FsTwilioError(
    'FS_TW_WORKSPACE_AMBIGUOUS',
    `Cannot tell which TaskRouter workspace is Flex's: ${found}. Set TWILIO_WORKSPACE_SID.`,
  );
}
