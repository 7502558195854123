import { ControlError } from '../errors.js';
import { isHttpUrl } from '../taskrouter/event-callback.js';
import {
  CONFERENCE_STATUS_CALLBACK_EVENTS,
  type ConferenceStatusCallbackEvent,
  type HttpMethod,
} from '../twiml/parse.js';

/** Where a webhook goes. */
export interface CallbackTarget {
  readonly url: string;
  readonly method: HttpMethod;
}

/** Where a conference status callback goes, and for which `statusCallbackEvent` filters. */
export interface ConferenceCallbackTarget extends CallbackTarget {
  /** Empty: the conference's own default (`start end`, see `CallModel.joinConference`). */
  readonly events: readonly ConferenceStatusCallbackEvent[];
}

/**
 * Emulator-wide settings that stand for configuration done once in the Twilio console or in the
 * Flex plugin, rather than per call. Set at start (`startEmulator` options) and at run time
 * (`POST /_emulator/settings`).
 */
export interface EmulatorSettings {
  /**
   * The phone number's "Call status changes" webhook: used for every inbound call (control API
   * `calls` and `queued-calls`) that names no `statusCallback` of its own.
   */
  readonly inboundStatusCallback: CallbackTarget | null;
  /**
   * The conference status callback the Flex plugin sets on every accept
   * (`conferenceOptions.conferenceStatusCallback*` in `beforeAcceptTask`, facts §6); an accept
   * that names its own wins.
   */
  readonly flexConferenceStatusCallback: ConferenceCallbackTarget | null;
}

/** The settings' JSON and option keys (`GET/POST /_emulator/settings`, `startEmulator`). */
export interface EmulatorSettingsInput {
  /** An http(s) URL; `null` or `""` removes it. */
  readonly inboundStatusCallback?: string | null;
  /** Default POST. Only together with `inboundStatusCallback`. */
  readonly inboundStatusCallbackMethod?: HttpMethod;
  /** An http(s) URL; `null` or `""` removes it. */
  readonly flexConferenceStatusCallback?: string | null;
  /** Default POST. Only together with `flexConferenceStatusCallback`. */
  readonly flexConferenceStatusCallbackMethod?: HttpMethod;
  /**
   * Filter names (`start end join leave mute hold modify speaker announcement`), as an array or
   * a space- or comma-separated string; default `leave end`. Only together with
   * `flexConferenceStatusCallback`.
   */
  readonly flexConferenceStatusCallbackEvent?: readonly string[] | string;
}

/** The events the emulator-wide Flex conference callback asks for when none are given. */
export const DEFAULT_FLEX_CONFERENCE_EVENTS: readonly ConferenceStatusCallbackEvent[] = [
  'leave',
  'end',
];

function bad(message: string): ControlError {
  return new ControlError('EMU_ERR_BAD_REQUEST', 400, message);
}

/** Checks a webhook URL given to the control API: http(s) only, else a 400 naming the field. */
export function callbackUrl(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isHttpUrl(value))
    throw bad(`${field} must be an http(s) URL, got ${JSON.stringify(value)}`);
  return value;
}

/** Checks a webhook method: GET or POST (default POST). */
export function callbackMethod(field: string, value: unknown): HttpMethod {
  if (value === undefined) return 'POST';
  if (value !== 'GET' && value !== 'POST')
    throw bad(`${field} must be GET or POST, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Checks conference `statusCallbackEvent` filter names: an array of names or one string of names
 * separated by spaces or commas (TwiML writes them space-separated, REST repeats the parameter).
 */
export function conferenceEvents(field: string, value: unknown): ConferenceStatusCallbackEvent[] {
  if (value === undefined) return [];
  const names =
    typeof value === 'string'
      ? value.split(/[\s,]+/).filter((name) => name !== '')
      : Array.isArray(value)
        ? value
        : null;
  if (names === null) throw bad(`${field} must be an array of event names or a string`);
  const known: readonly string[] = CONFERENCE_STATUS_CALLBACK_EVENTS;
  return names.map((name: unknown) => {
    if (typeof name !== 'string' || !known.includes(name))
      throw bad(
        `${field}: unknown event ${JSON.stringify(name)}; Twilio's names are ${known.join(' ')}`,
      );
    return name as ConferenceStatusCallbackEvent;
  });
}

/**
 * Validates a settings update (JSON body or start options) without applying it: each callback is
 * replaced whole when its URL key is present, so a method or event list without its URL is
 * refused. Returns the settings after the update; throws a 400 `ControlError` on bad input.
 */
export function applySettings(current: EmulatorSettings, input: unknown): EmulatorSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw bad('the settings must be a JSON object');
  const body = input as Record<string, unknown>;
  const allowed = new Set([
    'inboundStatusCallback',
    'inboundStatusCallbackMethod',
    'flexConferenceStatusCallback',
    'flexConferenceStatusCallbackMethod',
    'flexConferenceStatusCallbackEvent',
  ]);
  const unknown = Object.keys(body).filter((key) => !allowed.has(key) && body[key] !== undefined);
  if (unknown.length > 0)
    throw bad(`unknown setting(s) ${unknown.join(', ')}; known: ${[...allowed].join(', ')}`);
  const cleared = (value: unknown): boolean => value === null || value === '';
  const without = (url: string, others: readonly string[]): void => {
    if (body[url] === undefined) {
      const stray = others.filter((key) => body[key] !== undefined);
      if (stray.length > 0) throw bad(`${stray.join(', ')} must be given together with ${url}`);
    }
  };
  without('inboundStatusCallback', ['inboundStatusCallbackMethod']);
  without('flexConferenceStatusCallback', [
    'flexConferenceStatusCallbackMethod',
    'flexConferenceStatusCallbackEvent',
  ]);

  let inbound = current.inboundStatusCallback;
  if (body.inboundStatusCallback !== undefined) {
    inbound = cleared(body.inboundStatusCallback)
      ? null
      : {
          url: callbackUrl('inboundStatusCallback', body.inboundStatusCallback),
          method: callbackMethod('inboundStatusCallbackMethod', body.inboundStatusCallbackMethod),
        };
  }
  let flex = current.flexConferenceStatusCallback;
  if (body.flexConferenceStatusCallback !== undefined) {
    if (cleared(body.flexConferenceStatusCallback)) {
      flex = null;
    } else {
      const events = conferenceEvents(
        'flexConferenceStatusCallbackEvent',
        body.flexConferenceStatusCallbackEvent,
      );
      flex = {
        url: callbackUrl('flexConferenceStatusCallback', body.flexConferenceStatusCallback),
        method: callbackMethod(
          'flexConferenceStatusCallbackMethod',
          body.flexConferenceStatusCallbackMethod,
        ),
        events: events.length > 0 ? events : DEFAULT_FLEX_CONFERENCE_EVENTS,
      };
    }
  }
  return { inboundStatusCallback: inbound, flexConferenceStatusCallback: flex };
}

/** The settings as `GET /_emulator/settings` shows them (the input keys, `null` when unset). */
export function settingsJson(settings: EmulatorSettings): Record<string, unknown> {
  const inbound = settings.inboundStatusCallback;
  const flex = settings.flexConferenceStatusCallback;
  return {
    inboundStatusCallback: inbound?.url ?? null,
    inboundStatusCallbackMethod: inbound?.method ?? null,
    flexConferenceStatusCallback: flex?.url ?? null,
    flexConferenceStatusCallbackMethod: flex?.method ?? null,
    flexConferenceStatusCallbackEvent: flex === null ? null : [...flex.events],
  };
}

/** Settings with nothing configured. */
export const NO_SETTINGS: EmulatorSettings = {
  inboundStatusCallback: null,
  flexConferenceStatusCallback: null,
};
