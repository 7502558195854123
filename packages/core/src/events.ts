/**
 * Turns Twilio's webhook forms into use-case inputs, once, at the edge (style §5). Both runtimes
 * (the Fastify service and Twilio Functions) receive the same forms, so the mapping lives here.
 * Field names are TaskRouter's and Media Streams' own (twilio-facts §2 and §7).
 */
import type {
  CallStatusInput,
  ConferenceEventInput,
  ReservationAcceptedInput,
  ReservationEndedInput,
  ReservationEndEvent,
  StreamController,
  StreamStatusInput,
  TaskEndedInput,
  UseCaseResult,
} from './controller.js';
import { FINAL_CALL_STATUSES, isSid } from './controller.js';
import { createFsError } from './errors.js';

/** A decoded `application/x-www-form-urlencoded` body (or a Functions `event`). */
export type WebhookForm = Readonly<Record<string, unknown>>;

/** What a webhook asks the controller to do. */
export type ControllerCommand =
  | { kind: 'reservation-accepted'; input: ReservationAcceptedInput }
  | { kind: 'reservation-ended'; input: ReservationEndedInput }
  | { kind: 'task-ended'; input: TaskEndedInput }
  | { kind: 'stream-status'; input: StreamStatusInput }
  | { kind: 'call-status'; input: CallStatusInput }
  | { kind: 'conference-event'; input: ConferenceEventInput }
  /** A valid event the controller does not act on (e.g. `reservation.created`). */
  | { kind: 'not-handled'; eventType: string };

const RESERVATION_ENDS: Readonly<Record<string, ReservationEndEvent>> = {
  'reservation.wrapup': 'wrapup',
  'reservation.completed': 'completed',
  'reservation.canceled': 'canceled',
  'reservation.rescinded': 'rescinded',
  'reservation.timeout': 'timeout',
};

class Fields {
  readonly problems: string[] = [];
  constructor(private readonly form: WebhookForm) {}

  sid(name: string, prefix: string): string {
    const value = this.form[name];
    if (!isSid(value, prefix)) {
      this.problems.push(`${name} must be a ${prefix}… SID; got ${JSON.stringify(value ?? null)}`);
      return '';
    }
    return value;
  }

  text(name: string): string {
    const value = this.form[name];
    if (typeof value !== 'string' || value === '') {
      this.problems.push(`${name} is required`);
      return '';
    }
    return value;
  }

  /**
   * `TaskAttributes`, a JSON string: the customer's `call_sid` (set by `<Enqueue>`, §6) and, once
   * Flex has built it, `conference.sid` ([2ND], widespread community usage, §6).
   */
  taskAttributes(): { customerCallSid: string; conferenceSid: string | null } {
    const raw = this.form.TaskAttributes;
    let parsed: unknown;
    try {
      parsed = typeof raw === 'string' ? JSON.parse(raw) : undefined;
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      this.problems.push('TaskAttributes must be a JSON object');
      return { customerCallSid: '', conferenceSid: null };
    }
    const attributes = parsed as { call_sid?: unknown; conference?: { sid?: unknown } };
    if (!isSid(attributes.call_sid, 'CA')) {
      this.problems.push(
        `TaskAttributes.call_sid must be the customer's CA… SID; got ${JSON.stringify(attributes.call_sid ?? null)}`,
      );
    }
    const conferenceSid = attributes.conference?.sid;
    return {
      customerCallSid: typeof attributes.call_sid === 'string' ? attributes.call_sid : '',
      conferenceSid: isSid(conferenceSid, 'CF') ? conferenceSid : null,
    };
  }

  done<T>(what: string, value: T): T {
    if (this.problems.length > 0) {
      throw createFsError('FS_ERR_INVALID_INPUT', `invalid ${what}: ${this.problems.join('; ')}`);
    }
    return value;
  }
}

/**
 * False for a task that is not a call: `TaskChannelUniqueName` names another channel, or
 * `TaskAttributes` is a JSON object without `call_sid` (which `<Enqueue>` sets on call tasks,
 * twilio-facts §6). Unreadable attributes count as a call task, so they are reported as malformed.
 */
function isCallTask(form: WebhookForm): boolean {
  const channel = form.TaskChannelUniqueName;
  if (typeof channel === 'string' && channel !== '' && channel !== 'voice') return false;
  let attributes: unknown;
  try {
    attributes = typeof form.TaskAttributes === 'string' ? JSON.parse(form.TaskAttributes) : null;
  } catch {
    return true;
  }
  return !(typeof attributes === 'object' && attributes !== null && !('call_sid' in attributes));
}

/**
 * Maps a TaskRouter workspace event callback (the `EventCallbackUrl` form) to a command. Throws
 * `FS_ERR_INVALID_INPUT` listing every missing or malformed field of an event it handles.
 * Events of tasks that are not calls are `not-handled`.
 */
export function parseTaskRouterEvent(form: WebhookForm): ControllerCommand {
  const fields = new Fields(form);
  const eventType = fields.text('EventType');
  const what = `TaskRouter event ${eventType || '(no EventType)'}`;
  if (
    (eventType === 'reservation.accepted' ||
      eventType in RESERVATION_ENDS ||
      eventType === 'task.canceled' ||
      eventType === 'task.completed') &&
    !isCallTask(form)
  ) {
    // The workspace sends the events of every channel (chat, SMS…) to the same callback URL
    // (twilio-facts §7): they are valid, not ours, and answered 204 like other events.
    return { kind: 'not-handled', eventType };
  }
  if (eventType === 'reservation.accepted' || eventType in RESERVATION_ENDS) {
    const reservationSid = fields.sid('ReservationSid', 'WR');
    const taskSid = fields.sid('TaskSid', 'WT');
    const workerSid = fields.sid('WorkerSid', 'WK');
    const { customerCallSid, conferenceSid } = fields.taskAttributes();
    const end = RESERVATION_ENDS[eventType];
    if (end !== undefined) {
      return fields.done(what, {
        kind: 'reservation-ended',
        input: { reservationSid, taskSid, workerSid, customerCallSid, event: end },
      });
    }
    // The worker's own CallSid is not in the event; the worker leg needs it from the plugin.
    return fields.done(what, {
      kind: 'reservation-accepted',
      input: {
        reservationSid,
        taskSid,
        workerSid,
        customerCallSid,
        ...(conferenceSid === null ? {} : { conferenceSid }),
      },
    });
  }
  if (eventType === 'task.canceled' || eventType === 'task.completed') {
    const taskSid = fields.sid('TaskSid', 'WT');
    const { customerCallSid } = fields.taskAttributes();
    return fields.done(what, {
      kind: 'task-ended',
      input: {
        taskSid,
        customerCallSid,
        event: eventType === 'task.canceled' ? 'canceled' : 'completed',
      },
    });
  }
  return fields.done(what, { kind: 'not-handled', eventType });
}

/**
 * Maps a Media Streams status callback form (`StreamEvent`, `StreamSid`, …) to a command. The
 * exact field set is UNCONFIRMED against Twilio's primary page (twilio-facts §2): only `CallSid`,
 * `StreamSid`, `StreamName`, `StreamEvent` and the optional `StreamError` are read.
 */
export function parseStreamStatusCallback(form: WebhookForm): ControllerCommand {
  const fields = new Fields(form);
  const callSid = fields.sid('CallSid', 'CA');
  const streamSid = fields.sid('StreamSid', 'MZ');
  const streamName = fields.text('StreamName');
  const event = fields.text('StreamEvent');
  if (event !== '' && !['stream-started', 'stream-stopped', 'stream-error'].includes(event)) {
    fields.problems.push(
      `StreamEvent '${event}' is not stream-started, stream-stopped or stream-error`,
    );
  }
  const error = form.StreamError;
  return fields.done('stream status callback', {
    kind: 'stream-status',
    input: {
      callSid,
      streamSid,
      streamName,
      event: event as StreamStatusInput['event'],
      ...(typeof error === 'string' ? { error } : {}),
    },
  });
}

/** `call_enum_status`, plus `initiated` (UNCONFIRMED, see the controller's `CALL_STATUSES`). */
const CALL_STATUS_VALUES = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  ...FINAL_CALL_STATUSES,
];

/**
 * Maps a call status callback form (a phone number's "call status changes" webhook, or the
 * `StatusCallback` of an agent's leg; twilio-facts §4) to a command. Only `CallSid` and
 * `CallStatus` are read.
 */
export function parseCallStatusCallback(form: WebhookForm): ControllerCommand {
  const fields = new Fields(form);
  const callSid = fields.sid('CallSid', 'CA');
  const callStatus = fields.text('CallStatus');
  if (callStatus !== '' && !CALL_STATUS_VALUES.includes(callStatus)) {
    fields.problems.push(
      `CallStatus '${callStatus}' is not one of ${CALL_STATUS_VALUES.join(', ')}`,
    );
  }
  return fields.done('call status callback', {
    kind: 'call-status',
    input: { callSid, callStatus: callStatus as CallStatusInput['callStatus'] },
  });
}

/**
 * Maps a conference status callback form (twilio-facts §4 "Conference status callback fields")
 * to a command: `participant-join`, `participant-leave` (with its `ParticipantCallStatus` when
 * sent) and `conference-end` act; every other `StatusCallbackEvent` (hold, mute…) is
 * `not-handled`. `FriendlyName` is at most 128 characters, as Twilio allows.
 */
export function parseConferenceStatusCallback(form: WebhookForm): ControllerCommand {
  const fields = new Fields(form);
  const event = fields.text('StatusCallbackEvent');
  const conferenceSid = fields.sid('ConferenceSid', 'CF');
  const friendlyName = typeof form.FriendlyName === 'string' ? form.FriendlyName : '';
  if (friendlyName.length > 128) {
    fields.problems.push(`FriendlyName is ${friendlyName.length} characters, at most 128 allowed`);
  }
  const what = 'conference status callback';
  if (event === 'participant-join' || event === 'participant-leave') {
    const callSid = fields.sid('CallSid', 'CA');
    const status = form.ParticipantCallStatus;
    if (status !== undefined && (typeof status !== 'string' || status.length > 40)) {
      fields.problems.push('ParticipantCallStatus must be a short text when given');
    }
    return fields.done(what, {
      kind: 'conference-event',
      input: {
        conferenceSid,
        friendlyName,
        event,
        callSid,
        ...(event === 'participant-leave' && typeof status === 'string' && status !== ''
          ? { participantCallStatus: status }
          : {}),
      },
    });
  }
  if (event === 'conference-end') {
    return fields.done(what, {
      kind: 'conference-event',
      input: { conferenceSid, friendlyName, event },
    });
  }
  return fields.done(what, { kind: 'not-handled', eventType: event });
}

/** Runs a command's use case; `null` for `not-handled`. */
export function applyCommand(
  controller: StreamController,
  command: ControllerCommand,
): Promise<UseCaseResult | null> {
  switch (command.kind) {
    case 'reservation-accepted':
      return controller.reservationAccepted(command.input);
    case 'reservation-ended':
      return controller.reservationEnded(command.input);
    case 'task-ended':
      return controller.taskEnded(command.input);
    case 'stream-status':
      return controller.streamStatus(command.input);
    case 'call-status':
      return controller.callStatus(command.input);
    case 'conference-event':
      return controller.conferenceEvent(command.input);
    case 'not-handled':
      return Promise.resolve(null);
  }
}
