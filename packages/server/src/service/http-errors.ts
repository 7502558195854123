/**
 * The one place the service translates errors into HTTP answers (style §6):
 * `{ error: { code, message, twilioCode? } }` with a stable status. The core's `FsError`s keep their
 * code and status; the twilio adapters' Flex token and signature errors become the service's
 * codes; anything unknown is a 500 `FS_ERR_INTERNAL` whose details go to the log only.
 */
import { isFsError, isVoiceApiError } from '@flex-streams/core';
import { isFlexTokenError, isFsTwilioError } from '@flex-streams/twilio';
import { FS_SERVICE_ERRORS, isServiceError, type ServiceErrorCode } from './errors.js';

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; twilioCode?: number };
}

/** An HTTP answer for an error. `internal` is true when the error was not one we expected. */
export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  internal: boolean;
}

function answer(status: number, code: string, message: string, twilioCode?: number | null) {
  const body: ErrorBody = {
    error: {
      code,
      message,
      ...(twilioCode === undefined || twilioCode === null ? {} : { twilioCode }),
    },
  };
  return { status, body, internal: false };
}

function service(code: ServiceErrorCode, message: string): ErrorAnswer {
  return answer(FS_SERVICE_ERRORS[code].status, code, message);
}

function fastifyStatus(error: unknown): number | null {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return null;
  const status = error.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/** Maps any thrown value to the HTTP answer the service gives. */
export function toErrorAnswer(error: unknown): ErrorAnswer {
  if (isServiceError(error)) return answer(error.status, error.code, error.message);
  if (isFsError(error)) {
    const cause: unknown = error.cause;
    return answer(
      error.status,
      error.code,
      error.message,
      isVoiceApiError(cause) ? cause.code : undefined,
    );
  }
  if (isFlexTokenError(error)) {
    if (error.reason === 'expired') return service('FS_ERR_TOKEN_EXPIRED', error.message);
    if (error.reason === 'unavailable') return service('FS_ERR_TOKEN_UNAVAILABLE', error.message);
    return service('FS_ERR_BAD_TOKEN', error.message);
  }
  if (isFsTwilioError(error)) {
    if (error.code === 'FS_TW_SIGNATURE_MISSING' || error.code === 'FS_TW_SIGNATURE_MISMATCH') {
      return service('FS_ERR_BAD_SIGNATURE', error.message);
    }
    return answer(error.status, error.code, error.message);
  }
  if (isVoiceApiError(error)) {
    // Use cases record Twilio failures instead of throwing them; reaching here is unexpected.
    return { ...answer(502, 'FS_ERR_TWILIO_REJECTED', error.message, error.code), internal: true };
  }
  const status = fastifyStatus(error);
  if (status !== null) {
    // Fastify's own refusals: unparseable JSON, unsupported content type, body too large.
    const detail = error instanceof Error ? error.message : 'the body could not be read';
    return answer(status, 'FS_ERR_MALFORMED_BODY', `The request body was refused: ${detail}`);
  }
  return {
    ...service(
      'FS_ERR_INTERNAL',
      'The service failed unexpectedly; the log has the details (search for this request id).',
    ),
    internal: true,
  };
}
