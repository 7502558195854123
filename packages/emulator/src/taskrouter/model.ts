import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  NO_SETTINGS,
  callbackMethod,
  callbackUrl,
  conferenceEvents,
  type ConferenceCallbackTarget,
  type EmulatorSettings,
} from '../control/settings.js';
import { ControlError } from '../errors.js';
import type { EmulatorEvent, EventLog } from '../events.js';
import { newSid } from '../model/ids.js';
import { transition } from '../model/lifecycle.js';
import { numberStatusCallback, type CallModel } from '../model/model.js';
import type { CallRecord, ConferenceRecord, JoinOptions } from '../model/records.js';
import type { ConferenceStatusCallbackEvent, HttpMethod } from '../twiml/parse.js';
import type { WebhookSender } from '../webhooks/sender.js';
import {
  createEventDelivery,
  eventParams,
  isHttpUrl,
  type EventSubject,
  type TaskRouterEventType,
} from './event-callback.js';
import {
  RESERVATION_TRANSITIONS,
  TASK_TRANSITIONS,
  TRANSFER_TRANSITIONS,
  isLive,
  type ActivityName,
  type ReservationStatus,
  type TaskStatus,
  type TransferStatus,
} from './lifecycle.js';
import type {
  ActivityRecord,
  QueueRecord,
  ReservationRecord,
  TaskRecord,
  TransferRecord,
  WorkerRecord,
  WorkflowRecord,
  WorkspaceRecord,
} from './records.js';

/** Ports of the TaskRouter model (style: domain logic gets its ports as arguments). */
export interface TaskRouterDeps {
  readonly accountSid: string;
  readonly calls: CallModel;
  readonly events: EventLog;
  readonly webhooks: WebhookSender;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Seconds before an unanswered reservation times out (Twilio's workflow default is 120). */
  readonly reservationTimeoutS?: number;
  /** The emulator-wide settings now (the number's status callback, the Flex plugin's defaults). */
  readonly settings?: () => EmulatorSettings;
}

/** The conference options an agent's accept may override (facts §6 `beforeAcceptTask`). */
export interface AcceptOptions {
  readonly beep?: boolean;
  readonly beepOnCustomerEntrance?: boolean;
  readonly endConferenceOnExit?: boolean;
  readonly endConferenceOnCustomerExit?: boolean;
  /**
   * The conference status callback URL (http(s)), as a plugin sets
   * `conferenceOptions.conferenceStatusCallback` in `beforeAcceptTask` and Flex passes it to
   * `reservation.conference()` (facts §6). The conference keeps the first one it is given (see
   * `CallModel.joinConference`); when absent, the emulator-wide `flexConferenceStatusCallback`.
   */
  readonly conferenceStatusCallback?: string;
  /** GET or POST (default POST). */
  readonly conferenceStatusCallbackMethod?: HttpMethod;
  /** Filter names (`start end join leave mute hold modify speaker announcement`); default `start end`. */
  readonly conferenceStatusCallbackEvent?: readonly ConferenceStatusCallbackEvent[];
}

/** A Flex token the emulator issued. */
export interface TokenRecord {
  readonly workerSid: string;
  readonly identity: string;
  readonly roles: readonly string[];
  readonly expiration: Date;
}

/** Input of `createWorker`. */
export interface WorkerInput {
  readonly friendlyName: string;
  readonly identity?: string;
  readonly roles?: readonly string[];
  readonly activity?: ActivityName;
  readonly queues?: readonly string[];
  readonly voiceHz?: number;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Input of `placeQueuedCall`: a customer dials in and is enqueued to the workflow. */
export interface QueuedCallInput {
  readonly from: string;
  readonly to: string;
  readonly queue?: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly voiceHz?: number;
  /**
   * Where the call's final status goes (a number-level "Call status changes" webhook: final status
   * only); when absent, the emulator-wide `inboundStatusCallback`.
   */
  readonly statusCallback?: string;
  /** GET or POST (default POST). */
  readonly statusCallbackMethod?: HttpMethod;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The emulated TaskRouter workspace of a Flex account, and Flex's voice orchestration on top of it
 * (facts §6, §7): tasks from `<Enqueue workflowSid>`, reservations offered to available workers,
 * the conference Flex builds on accept, holds, warm and cold transfers, wrap-up and completion, and
 * the workspace event callbacks each step sends. Every agent-desktop verb checks what Flex would
 * allow and throws a `ControlError` before changing anything.
 */
export class TaskRouterModel {
  readonly workspace: WorkspaceRecord;
  readonly activities: Readonly<Record<ActivityName, ActivityRecord>>;
  readonly queues = new Map<string, QueueRecord>();
  readonly workflow: WorkflowRecord;
  readonly workers = new Map<string, WorkerRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly reservations = new Map<string, ReservationRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly #deps: TaskRouterDeps;
  readonly #delivery: ReturnType<typeof createEventDelivery>;
  readonly #now: () => Date;
  #reactions: EmulatorEvent[] = [];
  #closed = false;

  constructor(deps: TaskRouterDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#delivery = createEventDelivery(deps.webhooks);
    const now = this.#now();
    this.workspace = {
      sid: newSid('WS'),
      friendlyName: 'Flex Task Assignment',
      eventCallbackUrl: null,
      eventsFilter: null,
      dateCreated: now,
      dateUpdated: now,
    };
    this.activities = {
      Available: { sid: newSid('WA'), name: 'Available', available: true },
      Offline: { sid: newSid('WA'), name: 'Offline', available: false },
    };
    this.queueByName('Everyone', true);
    this.workflow = {
      sid: newSid('WW'),
      friendlyName: 'Assign to Anyone',
      reservationTimeoutS: deps.reservationTimeoutS ?? 120,
    };
    deps.events.subscribe((event) => {
      if (!this.#isReaction(event)) return;
      // Flex and TaskRouter react to the Voice model asynchronously (over the network); reacting
      // once the current model operation is over also keeps its loops free of re-entry.
      this.#reactions.push(event);
      if (this.#reactions.length === 1) {
        queueMicrotask(() => {
          this.#drainReactions();
        });
      }
    });
  }

  // ------------------------------------------------------------ directory

  /** The queue of that friendly name; `create` makes it when missing. */
  queueByName(friendlyName: string, create = false): QueueRecord | undefined {
    for (const queue of this.queues.values()) if (queue.friendlyName === friendlyName) return queue;
    if (!create) return undefined;
    const queue = { sid: newSid('WQ'), friendlyName };
    this.queues.set(queue.sid, queue);
    return queue;
  }

  /** Reservations of a task, in creation order. */
  reservationsOf(taskSid: string): ReservationRecord[] {
    return [...this.reservations.values()].filter((r) => r.taskSid === taskSid);
  }

  /** Flex's `incomingTransferObject` / `outgoingTransferObject` of a reservation (facts §6). */
  transfersOf(reservation: ReservationRecord): {
    incoming: TransferRecord | null;
    outgoing: TransferRecord | null;
  } {
    const task = this.tasks.get(reservation.taskSid);
    const transfers = task?.transfers ?? [];
    return {
      incoming: transfers.find((t) => t.sid === reservation.transferSid) ?? null,
      outgoing: transfers.findLast((t) => t.initiatorReservationSid === reservation.sid) ?? null,
    };
  }

  /** The live Flex conference of a task (named after the task SID), if any. */
  conferenceOf(task: TaskRecord): ConferenceRecord | null {
    if (task.conferenceSid === null) return null;
    const conference = this.#deps.calls.conferences.get(task.conferenceSid);
    return conference !== undefined && conference.status !== 'completed' ? conference : null;
  }

  /** Resolves once every event callback queued so far was delivered (or failed). */
  idle(): Promise<void> {
    return this.#delivery.idle();
  }

  /** Stops reservation timers; nothing is sent afterwards. */
  close(): void {
    this.#closed = true;
    for (const reservation of this.reservations.values()) this.#clearTimer(reservation);
  }

  // ------------------------------------------------------------ workspace

  /**
   * `UpdateWorkspace`: `EventCallbackUrl` (empty: none; else an http(s) URL, or a `ControlError`
   * before anything changes), `EventsFilter` (empty: every event).
   */
  updateWorkspace(update: {
    friendlyName?: string;
    eventCallbackUrl?: string;
    eventsFilter?: string;
  }): void {
    const url = update.eventCallbackUrl;
    if (url !== undefined && url !== '' && !isHttpUrl(url))
      throw new ControlError(
        'EMU_ERR_BAD_REQUEST',
        400,
        `eventCallbackUrl must be an http(s) URL, got '${url}'`,
      );
    const ws = this.workspace;
    if (update.friendlyName !== undefined) ws.friendlyName = update.friendlyName;
    if (update.eventCallbackUrl !== undefined)
      ws.eventCallbackUrl = update.eventCallbackUrl === '' ? null : update.eventCallbackUrl;
    if (update.eventsFilter !== undefined) {
      const types = update.eventsFilter
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      ws.eventsFilter = types.length === 0 ? null : types;
    }
    ws.dateUpdated = this.#now();
  }

  // ------------------------------------------------------------ workers

  /** Creates a worker (default: Available, in "Everyone", `contact_uri` `client:{identity}`). */
  createWorker(input: WorkerInput): WorkerRecord {
    for (const worker of this.workers.values()) {
      if (worker.friendlyName === input.friendlyName)
        throw new ControlError(
          'EMU_ERR_BAD_REQUEST',
          409,
          `a worker named '${input.friendlyName}' exists: TaskRouter worker friendly names are unique per workspace`,
        );
    }
    const identity = input.identity ?? input.friendlyName;
    const queueSids = (input.queues ?? ['Everyone']).map((name) => {
      const queue = this.queueByName(name, true);
      if (queue === undefined) throw new Error('unreachable: queue created on demand');
      return queue.sid;
    });
    const now = this.#now();
    const sid = newSid('WK');
    const worker: WorkerRecord = {
      sid,
      friendlyName: input.friendlyName,
      identity,
      roles: input.roles ?? ['agent'],
      attributes: {
        contact_uri: `client:${identity}`,
        full_name: input.friendlyName,
        ...input.attributes,
      },
      activity: input.activity ?? 'Available',
      queueSids,
      // Workers and calls share one voice allocator, so no customer sounds like an agent; the
      // worker's call legs reuse this voice (see `accept`).
      voiceHz: this.#deps.calls.allocateVoice(sid, input.voiceHz).frequencyHz,
      dateCreated: now,
      dateUpdated: now,
      dateStatusChanged: now,
    };
    this.workers.set(worker.sid, worker);
    this.#deps.events.append('taskrouter.worker', {
      workerSid: worker.sid,
      friendlyName: worker.friendlyName,
      activity: worker.activity,
      voiceHz: worker.voiceHz,
    });
    this.#route();
    return worker;
  }

  /** Changes a worker's activity (`worker.activity.update`); Available workers get waiting tasks. */
  setActivity(workerSid: string, activity: ActivityName): WorkerRecord {
    const worker = this.#worker(workerSid);
    if (worker.activity === activity) return worker;
    const previousActivity = { name: worker.activity, since: worker.dateStatusChanged };
    worker.activity = activity;
    worker.dateStatusChanged = worker.dateUpdated = this.#now();
    this.#emit('worker.activity.update', {
      description: `Worker ${worker.friendlyName} updated to ${activity} Activity`,
      worker,
      previousActivity,
    });
    this.#route();
    return worker;
  }

  // ------------------------------------------------------------ calls and tasks

  /**
   * A customer dials in and runs `<Enqueue workflowSid=…><Task>{attributes}</Task></Enqueue>`, as a
   * Flex number's Studio flow "Send to Flex" does. The workflow routes a task to the queue its
   * `queue` attribute names ("Everyone" when absent): the emulator's one workflow configuration.
   */
  placeQueuedCall(input: QueuedCallInput): { callSid: string } {
    const ownCallback =
      input.statusCallback === undefined
        ? null
        : {
            url: callbackUrl('statusCallback', input.statusCallback),
            method: callbackMethod('statusCallbackMethod', input.statusCallbackMethod),
          };
    const statusCallback = ownCallback ?? this.#settings().inboundStatusCallback;
    if (input.queue !== undefined && this.queueByName(input.queue) === undefined)
      throw new ControlError('EMU_ERR_UNKNOWN_QUEUE', 404, `no task queue named '${input.queue}'`);
    const attributes = {
      type: 'inbound',
      name: input.from,
      ...input.attributes,
      ...(input.queue === undefined ? {} : { queue: input.queue }),
    };
    const twiml =
      `<Response><Enqueue workflowSid="${this.workflow.sid}">` +
      `<Task>${escapeXml(JSON.stringify(attributes))}</Task></Enqueue></Response>`;
    const call = this.#deps.calls.createCall({
      from: input.from,
      to: input.to,
      direction: 'inbound',
      source: { kind: 'twiml', twiml },
      ...(input.voiceHz === undefined ? {} : { voiceHz: input.voiceHz }),
      statusCallback: statusCallback === null ? null : numberStatusCallback(statusCallback),
    });
    return { callSid: call.sid };
  }

  #createTask(call: CallRecord, taskText: string | null): void {
    let given: Record<string, unknown> = {};
    if (taskText !== null && taskText.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(taskText);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
          given = parsed as Record<string, unknown>;
        else throw new Error('not an object');
      } catch {
        this.#deps.events.append('taskrouter.error', {
          callSid: call.sid,
          message: 'the <Task> text is not a JSON object; the task gets no custom attributes',
        });
      }
    }
    const queueName = typeof given.queue === 'string' ? given.queue : 'Everyone';
    const queue = this.queueByName(queueName) ?? this.queueByName('Everyone', true);
    if (queue === undefined) throw new Error('unreachable: Everyone exists');
    const now = this.#now();
    // The voice attributes Twilio adds to an enqueued call's task (facts §4 "In Flex, the
    // customer CallSid is in task.attributes.call_sid, because <Enqueue> set it"; facts §6).
    const attributes: Record<string, unknown> = {
      ...given,
      call_sid: call.sid,
      account_sid: call.accountSid,
      from: call.from,
      to: call.to,
      caller: call.from,
      called: call.to,
      direction: call.direction,
    };
    const task: TaskRecord = {
      sid: newSid('WT'),
      status: 'pending',
      attributes,
      customerCallSid: call.sid,
      workflowSid: this.workflow.sid,
      queueSid: queue.sid,
      priority: 0,
      reason: null,
      version: 0,
      dateCreated: now,
      dateUpdated: now,
      queueEnteredDate: now,
      conferenceSid: null,
      declinedBy: new Set(),
      transfers: [],
    };
    this.tasks.set(task.sid, task);
    this.#emit('task.created', { description: 'Task created', task });
    this.#route();
  }

  // ------------------------------------------------------------ routing

  #busy(worker: WorkerRecord): boolean {
    for (const r of this.reservations.values())
      if (r.workerSid === worker.sid && isLive(r.status)) return true;
    return false;
  }

  #availableWorker(queueSid: string, exclude: ReadonlySet<string>): WorkerRecord | undefined {
    for (const worker of this.workers.values()) {
      if (worker.activity !== 'Available' || exclude.has(worker.sid)) continue;
      if (!worker.queueSids.includes(queueSid) || this.#busy(worker)) continue;
      return worker;
    }
    return undefined;
  }

  /** Offers waiting tasks and waiting queue transfers to available workers, oldest first. */
  #route(): void {
    for (const task of this.tasks.values()) {
      if (task.status === 'pending') {
        const worker = this.#availableWorker(task.queueSid, task.declinedBy);
        if (worker !== undefined) this.#reserve(task, worker, null);
        continue;
      }
      const transfer = task.transfers.find((t) => t.status === 'INITIATED');
      if (transfer === undefined) continue;
      if (
        this.reservationsOf(task.sid).some(
          (r) =>
            r.transferSid === transfer.sid && r.status !== 'rejected' && r.status !== 'timeout',
        )
      )
        continue;
      if (transfer.type === 'WORKER') {
        // A transfer names its worker, who gets it once Available and free, even after having
        // declined the task's first offer.
        const target = this.workers.get(transfer.to);
        if (target?.activity === 'Available' && !this.#busy(target))
          this.#reserve(task, target, transfer);
        continue;
      }
      const exclude = new Set([...task.declinedBy, transfer.initiatorWorkerSid]);
      const worker = this.#availableWorker(transfer.to, exclude);
      if (worker !== undefined) this.#reserve(task, worker, transfer);
    }
  }

  #reserve(
    task: TaskRecord,
    worker: WorkerRecord,
    transfer: TransferRecord | null,
  ): ReservationRecord {
    const now = this.#now();
    const reservation: ReservationRecord = {
      sid: newSid('WR'),
      taskSid: task.sid,
      workerSid: worker.sid,
      status: 'pending',
      workerCallSid: null,
      transferSid: transfer?.sid ?? null,
      dateCreated: now,
      dateUpdated: now,
      timer: null,
    };
    this.reservations.set(reservation.sid, reservation);
    if (task.status === 'pending') this.#setTaskStatus(task, 'reserved');
    this.#emit('reservation.created', {
      description: `Reservation ${reservation.sid} created for Worker ${worker.friendlyName}`,
      task,
      worker,
      reservation,
    });
    // https://www.twilio.com/docs/taskrouter/api/workflow: `TaskReservationTimeout`, default 120 s.
    reservation.timer = setTimeout(() => {
      reservation.timer = null;
      if (reservation.status !== 'pending' || this.#closed) return;
      try {
        this.#decline(reservation, 'timeout');
      } catch (error) {
        // A fault of the emulator must never escape into a timer and end the process.
        this.#deps.logger.error(
          { err: error, reservationSid: reservation.sid },
          'reservation timeout failed',
        );
      }
    }, this.workflow.reservationTimeoutS * 1000);
    reservation.timer.unref();
    return reservation;
  }

  // ------------------------------------------------------------ agent-desktop verbs

  /**
   * The worker accepts a pending reservation and Flex builds the call (facts §6 `beforeAcceptTask`,
   * taskrouter.js `reservation.conference`): the conference is named after the task SID; the
   * worker's leg (an outbound-api call to its `contact_uri`, in its own voice) joins with
   * `endConferenceOnExit = !conference || liveWorkerCount === 0`; on the first accept the customer
   * leaves the queue and joins with `endConferenceOnExit = endConferenceOnCustomerExit` (true).
   */
  accept(
    reservationSid: string,
    workerSid: string,
    options: AcceptOptions = {},
  ): ReservationRecord {
    const conferenceCallback = this.#conferenceCallbackOf(options);
    const { reservation, worker, task } = this.#ownReservation(reservationSid, workerSid);
    this.#expect(reservation, 'pending', 'accept');
    const customer = this.#deps.calls.calls.get(task.customerCallSid);
    if (customer?.status !== 'in-progress')
      throw new ControlError(
        'EMU_ERR_ILLEGAL_TRANSITION',
        409,
        `the customer call of task ${task.sid} is not in progress`,
      );
    this.#clearTimer(reservation);
    this.#setReservationStatus(reservation, 'accepted');
    if (task.status === 'reserved') this.#setTaskStatus(task, 'assigned');
    this.#emit('reservation.accepted', {
      description: `Reservation ${reservation.sid} accepted`,
      task,
      worker,
      reservation,
    });
    const incoming = this.transfersOf(reservation).incoming;
    if (incoming !== null) {
      // UNCONFIRMED: TaskRouter counts a transfer complete once its target accepts.
      this.#setTransferStatus(incoming, 'COMPLETED');
      this.#emit('task.transfer-completed', {
        description: `Transfer ${incoming.sid} completed`,
        task,
        transfer: incoming,
      });
    }

    const existing = this.conferenceOf(task);
    const liveWorkers = existing === null ? 0 : this.#liveWorkerLegs(task, existing).length;
    const beep = options.beep ?? true;
    const join = (endConferenceOnExit: boolean, beepOn: boolean): JoinOptions => ({
      name: task.sid,
      beep: beepOn ? 'true' : 'false',
      startConferenceOnEnter: true,
      endConferenceOnExit,
      muted: false,
      waitUrl: null,
      statusCallback: conferenceCallback?.url ?? null,
      statusCallbackMethod: conferenceCallback?.method ?? 'POST',
      statusCallbackEvent: conferenceCallback?.events ?? [],
      participantLabel: null,
      coach: null,
      label: null,
    });
    const contactUri =
      typeof worker.attributes.contact_uri === 'string'
        ? worker.attributes.contact_uri
        : `client:${worker.identity}`;
    // UNCONFIRMED: the worker leg joins before the customer is bridged in, from the number called.
    const leg = this.#deps.calls.createCallAnswered({
      from: customer.to,
      to: contactUri,
      options: join(options.endConferenceOnExit ?? (existing === null || liveWorkers === 0), beep),
      voiceHz: worker.voiceHz,
    });
    reservation.workerCallSid = leg.sid;
    const conference = this.#deps.calls.participation(leg)?.conference;
    if (conference === undefined) throw new Error('unreachable: the worker leg just joined');
    if (existing === null) {
      if (this.#deps.calls.participation(customer) === null) {
        this.#deps.calls.joinConference(
          customer,
          join(options.endConferenceOnCustomerExit ?? true, options.beepOnCustomerEntrance ?? true),
        );
      }
      task.conferenceSid = conference.sid;
      task.attributes = {
        ...task.attributes,
        conference: {
          sid: conference.sid,
          participants: { customer: customer.sid, worker: leg.sid },
        },
      };
    } else {
      // UNCONFIRMED (facts §6): how `conference.participants.worker` changes after a transfer.
      task.attributes = {
        ...task.attributes,
        conference: {
          sid: conference.sid,
          participants: { customer: customer.sid, worker: leg.sid },
        },
      };
      // UNCONFIRMED: the customer, held by Flex during a cold transfer, is taken off hold when the
      // target accepts; during a warm transfer it stays held until an agent unholds it.
      if (incoming?.mode === 'COLD' && this.#customerParticipant(task)?.participant.hold === true) {
        this.#flexAction('unholdCustomer', {
          taskSid: task.sid,
          workerSid,
          reason: 'cold transfer accepted',
        });
        this.#setCustomerHold(task, false);
      }
    }
    this.#bumpTask(task);
    this.#emit('task.updated', { description: 'Task attributes updated (conference)', task });
    this.#flexAction('accept', {
      taskSid: task.sid,
      reservationSid: reservation.sid,
      workerSid,
      workerCallSid: leg.sid,
    });
    this.#syncEndConferenceOnExit(task);
    return reservation;
  }

  /**
   * The conference status callback of an accept: its own options (checked here, before anything
   * changes), else the emulator-wide default standing for a plugin that sets them on every accept.
   */
  #conferenceCallbackOf(options: AcceptOptions): ConferenceCallbackTarget | null {
    if (options.conferenceStatusCallback === undefined) {
      if (
        options.conferenceStatusCallbackMethod !== undefined ||
        options.conferenceStatusCallbackEvent !== undefined
      )
        throw new ControlError(
          'EMU_ERR_BAD_REQUEST',
          400,
          'conferenceStatusCallbackMethod and conferenceStatusCallbackEvent need conferenceStatusCallback',
        );
      return this.#settings().flexConferenceStatusCallback;
    }
    return {
      url: callbackUrl('conferenceStatusCallback', options.conferenceStatusCallback),
      method: callbackMethod(
        'conferenceStatusCallbackMethod',
        options.conferenceStatusCallbackMethod,
      ),
      events: conferenceEvents(
        'conferenceStatusCallbackEvent',
        options.conferenceStatusCallbackEvent,
      ),
    };
  }

  #settings(): EmulatorSettings {
    return this.#deps.settings?.() ?? NO_SETTINGS;
  }

  /** The worker rejects a pending reservation; the task is offered to someone else. */
  reject(reservationSid: string, workerSid: string): ReservationRecord {
    const { reservation } = this.#ownReservation(reservationSid, workerSid);
    this.#expect(reservation, 'pending', 'reject');
    this.#decline(reservation, 'rejected');
    this.#flexAction('reject', { reservationSid, workerSid });
    return reservation;
  }

  #decline(reservation: ReservationRecord, status: 'rejected' | 'timeout'): void {
    const task = this.#task(reservation.taskSid);
    const worker = this.#worker(reservation.workerSid);
    this.#clearTimer(reservation);
    this.#setReservationStatus(reservation, status);
    task.declinedBy.add(worker.sid);
    const transfer = this.transfersOf(reservation).incoming;
    if (
      task.status === 'reserved' &&
      !this.reservationsOf(task.sid).some((r) => r.status === 'pending')
    )
      this.#setTaskStatus(task, 'pending');
    this.#emit(status === 'rejected' ? 'reservation.rejected' : 'reservation.timeout', {
      description: `Reservation ${reservation.sid} ${status === 'rejected' ? 'rejected' : 'timed out'}`,
      task,
      worker,
      reservation,
    });
    if (transfer !== null && transfer.type === 'QUEUE' && transfer.status === 'INITIATED') {
      // A queue transfer puts the task back through routing to the target queue: a declined
      // reservation only makes it available to the queue's other workers (docs "Task Reservation
      // Resource": a timed-out reservation leaves the task "available for other workers"), and the
      // transfer goes on, waiting until a worker is free. UNCONFIRMED: TaskRouter reports each
      // declined attempt as `task.transfer-attempt-failed` (facts §7 lists the type).
      this.#emit('task.transfer-attempt-failed', {
        description: `Transfer ${transfer.sid} attempt failed: reservation ${reservation.sid} ${status}`,
        task,
        transfer,
      });
    } else if (transfer !== null) {
      // A transfer to one worker ends with that worker's answer (not emulated: TaskRouter
      // re-routing it elsewhere); Flex leaves the task with the transferring agent, if still there.
      this.#setTransferStatus(transfer, 'FAILED');
      this.#emit('task.transfer-failed', {
        description: `Transfer ${transfer.sid} failed`,
        task,
        transfer,
      });
    }
    this.#route();
  }

  /**
   * Flex's TransferTask (facts §6 `beforeTransferTask`): the customer is held (UNCONFIRMED: Flex
   * holds the customer while a transfer is pending); on COLD, the transferring worker's
   * `endConferenceOnExit` is set false first, then the transfer is made and the worker leaves and
   * wraps up at once; on WARM the worker stays. The target gets a new reservation on the same task
   * (UNCONFIRMED: the conference stays named after the task SID for every agent).
   */
  transfer(input: {
    taskSid: string;
    workerSid: string;
    to: string;
    mode: 'WARM' | 'COLD';
  }): TransferRecord {
    const { task, reservation, worker } = this.#ownTask(input.taskSid, input.workerSid, 'transfer');
    if (task.transfers.some((t) => t.status === 'INITIATED'))
      throw new ControlError(
        'EMU_ERR_TRANSFER_IN_PROGRESS',
        409,
        `task ${task.sid} already has a transfer in progress: Flex allows one at a time`,
      );
    const conference = this.conferenceOf(task);
    if (conference === null)
      throw new ControlError(
        'EMU_ERR_NO_CONFERENCE',
        409,
        `task ${task.sid} has no live conference to transfer`,
      );
    let target: WorkerRecord | null = null;
    let type: TransferRecord['type'];
    if (input.to.startsWith('WK')) {
      target = this.workers.get(input.to) ?? null;
      if (target === null)
        throw new ControlError('EMU_ERR_UNKNOWN_WORKER', 404, `no worker ${input.to}`);
      if (target.sid === worker.sid)
        throw new ControlError(
          'EMU_ERR_BAD_REQUEST',
          400,
          'a worker cannot transfer a task to itself',
        );
      // A target who is Offline or busy does not refuse the transfer: like any task waiting for
      // a worker, it waits until the target is Available and free (`#route`). UNCONFIRMED: how
      // long TaskRouter lets a transfer wait; the emulator waits until the call ends.
      type = 'WORKER';
    } else if (input.to.startsWith('WQ')) {
      if (!this.queues.has(input.to))
        throw new ControlError('EMU_ERR_UNKNOWN_QUEUE', 404, `no task queue ${input.to}`);
      type = 'QUEUE';
    } else {
      throw new ControlError(
        'EMU_ERR_BAD_REQUEST',
        400,
        `transfer target must be a WK… worker or a WQ… queue SID, got '${input.to}'`,
      );
    }
    if (this.#customerParticipant(task)?.participant.hold === false) {
      this.#flexAction('holdCustomer', {
        taskSid: task.sid,
        workerSid: worker.sid,
        reason: 'transfer',
      });
      this.#setCustomerHold(task, true);
    }
    const leg =
      reservation.workerCallSid === null
        ? undefined
        : this.#deps.calls.calls.get(reservation.workerCallSid);
    const legParticipant = leg === undefined ? null : this.#deps.calls.participation(leg);
    if (input.mode === 'COLD' && legParticipant !== null) {
      this.#deps.calls.updateParticipant(legParticipant.conference, legParticipant.participant, {
        endConferenceOnExit: false,
      });
      this.#flexAction('setEndConferenceOnExit', {
        callSid: legParticipant.participant.callSid,
        value: false,
      });
    }
    const now = this.#now();
    const transfer: TransferRecord = {
      sid: newSid('TT'),
      mode: input.mode,
      type,
      to: input.to,
      initiatorWorkerSid: worker.sid,
      initiatorReservationSid: reservation.sid,
      status: 'INITIATED',
      dateCreated: now,
      dateUpdated: now,
    };
    task.transfers.push(transfer);
    this.#bumpTask(task);
    this.#flexAction('transfer', {
      taskSid: task.sid,
      workerSid: worker.sid,
      to: input.to,
      mode: input.mode,
      transferSid: transfer.sid,
    });
    this.#emit('task.transfer-initiated', {
      description: `Transfer ${transfer.sid} initiated`,
      task,
      worker,
      transfer,
    });
    this.#route();
    if (input.mode === 'COLD') this.#leaveAndWrap(reservation, 'cold transfer');
    this.#syncEndConferenceOnExit(task);
    return transfer;
  }

  /** Completes a warm transfer: the transferring worker leaves the conference and wraps up. */
  completeTransfer(input: { taskSid: string; workerSid: string }): ReservationRecord {
    const { task, reservation } = this.#ownTask(
      input.taskSid,
      input.workerSid,
      'complete a transfer of',
    );
    const outgoing = this.transfersOf(reservation).outgoing;
    if (outgoing?.mode !== 'WARM' || outgoing.status === 'FAILED' || outgoing.status === 'CANCELED')
      throw new ControlError(
        'EMU_ERR_NO_TRANSFER',
        409,
        `worker ${input.workerSid} has no warm transfer of task ${task.sid} in progress`,
      );
    if (outgoing.status !== 'COMPLETED')
      throw new ControlError(
        'EMU_ERR_NO_TRANSFER',
        409,
        `the warm transfer ${outgoing.sid} is not accepted yet: only an accepted warm transfer can be completed`,
      );
    this.#flexAction('completeTransfer', {
      taskSid: task.sid,
      workerSid: input.workerSid,
      transferSid: outgoing.sid,
    });
    this.#leaveAndWrap(reservation, 'warm transfer completed');
    this.#syncEndConferenceOnExit(task);
    return reservation;
  }

  /**
   * The transferring agent cancels a WARM transfer not yet accepted (Flex's "cancel transfer" on a
   * consult): the target's pending reservation, if any, is canceled (`reservation.canceled`), the
   * transfer becomes `CANCELED` (`task.transfer-canceled`) and the agent may transfer again.
   * UNCONFIRMED: the customer stays held until the agent unholds it, as after a failed transfer.
   */
  cancelTransfer(input: { taskSid: string; workerSid: string }): ReservationRecord {
    const { task, reservation } = this.#ownTask(
      input.taskSid,
      input.workerSid,
      'cancel a transfer of',
    );
    const outgoing = this.transfersOf(reservation).outgoing;
    if (outgoing?.mode !== 'WARM' || outgoing.status !== 'INITIATED')
      throw new ControlError(
        'EMU_ERR_NO_TRANSFER',
        409,
        `worker ${input.workerSid} has no warm transfer of task ${task.sid} waiting to be accepted`,
      );
    this.#flexAction('cancelTransfer', {
      taskSid: task.sid,
      workerSid: input.workerSid,
      transferSid: outgoing.sid,
    });
    for (const offer of this.reservationsOf(task.sid)) {
      if (offer.transferSid !== outgoing.sid || offer.status !== 'pending') continue;
      this.#clearTimer(offer);
      this.#setReservationStatus(offer, 'canceled');
      this.#emit('reservation.canceled', {
        description: `Reservation ${offer.sid} canceled: transfer ${outgoing.sid} canceled`,
        task,
        worker: this.#worker(offer.workerSid),
        reservation: offer,
      });
    }
    this.#setTransferStatus(outgoing, 'CANCELED');
    this.#emit('task.transfer-canceled', {
      description: `Transfer ${outgoing.sid} canceled by the transferring worker`,
      task,
      transfer: outgoing,
    });
    this.#route();
    return reservation;
  }

  /** Flex's HoldCall / UnholdCall on the customer: a participant update `Hold` (facts §4). */
  hold(input: { taskSid: string; workerSid: string; hold: boolean }): void {
    const { task } = this.#ownTask(
      input.taskSid,
      input.workerSid,
      input.hold ? 'hold the customer of' : 'unhold the customer of',
    );
    const customer = this.#customerParticipant(task);
    if (customer === null)
      throw new ControlError(
        'EMU_ERR_NO_CONFERENCE',
        409,
        `the customer of task ${task.sid} is not in its conference`,
      );
    if (customer.participant.hold === input.hold)
      throw new ControlError(
        'EMU_ERR_ILLEGAL_TRANSITION',
        409,
        `the customer is already ${input.hold ? 'on hold' : 'off hold'}`,
      );
    this.#flexAction(input.hold ? 'holdCustomer' : 'unholdCustomer', {
      taskSid: task.sid,
      workerSid: input.workerSid,
    });
    this.#setCustomerHold(task, input.hold);
  }

  /** A party of the task's call hangs up: `customer` or a worker SID (that worker's leg). */
  hangup(input: { taskSid: string; party: string }): { callSid: string } {
    const task = this.#task(input.taskSid);
    let call: CallRecord | undefined;
    if (input.party === 'customer') {
      call = this.#deps.calls.calls.get(task.customerCallSid);
    } else {
      this.#worker(input.party);
      const reservation = this.reservationsOf(task.sid).find(
        (r) => r.workerSid === input.party && r.status === 'accepted',
      );
      call =
        reservation?.workerCallSid == null
          ? undefined
          : this.#deps.calls.calls.get(reservation.workerCallSid);
    }
    if (call === undefined || !['queued', 'ringing', 'in-progress'].includes(call.status))
      throw new ControlError(
        'EMU_ERR_ILLEGAL_TRANSITION',
        409,
        `${input.party} has no live call leg on task ${task.sid}`,
      );
    this.#flexAction('hangup', { taskSid: task.sid, party: input.party, callSid: call.sid });
    this.#deps.calls.endCall(call, 'completed');
    return { callSid: call.sid };
  }

  /** Flex's WrapupTask: the worker's leg leaves (if still there) and the reservation wraps up. */
  wrapup(reservationSid: string, workerSid: string): ReservationRecord {
    const { reservation } = this.#ownReservation(reservationSid, workerSid);
    this.#expect(reservation, 'accepted', 'wrap up');
    this.#flexAction('wrapup', { reservationSid, workerSid });
    const task = this.#task(reservation.taskSid);
    this.#leaveAndWrap(reservation, 'wrapup');
    this.#syncEndConferenceOnExit(task);
    return reservation;
  }

  /**
   * Flex's CompleteTask: a wrapping reservation completes; once no reservation of the task is
   * live, the task completes too (UNCONFIRMED: event order reservation.completed, task.completed).
   */
  complete(reservationSid: string, workerSid: string): ReservationRecord {
    const { reservation, task, worker } = this.#ownReservation(reservationSid, workerSid);
    this.#expect(reservation, 'wrapping', 'complete');
    this.#flexAction('complete', { reservationSid, workerSid });
    this.#setReservationStatus(reservation, 'completed');
    this.#emit('reservation.completed', {
      description: `Reservation ${reservation.sid} completed`,
      task,
      worker,
      reservation,
    });
    if (
      (task.status === 'wrapping' || task.status === 'assigned') &&
      !this.reservationsOf(task.sid).some((r) => isLive(r.status))
    ) {
      task.reason = 'Task completed by the agent';
      this.#setTaskStatus(task, 'completed');
      this.#emit('task.completed', { description: 'Task completed', task });
    }
    this.#route();
    return reservation;
  }

  // ------------------------------------------------------------ tokens

  /** Issues an opaque Flex token for a worker's user, valid `ttlSeconds` (default 3600). */
  issueToken(
    workerSid: string,
    ttlSeconds = 3600,
  ): { token: string; expiration: Date; identity: string } {
    const worker = this.#worker(workerSid);
    const token = `emu-flex.${randomBytes(24).toString('base64url')}`;
    const expiration = new Date(this.#now().getTime() + ttlSeconds * 1000);
    this.tokens.set(token, {
      workerSid,
      identity: worker.identity,
      roles: worker.roles,
      expiration,
    });
    this.#deps.events.append('control', {
      action: 'issue-token',
      workerSid,
      expiration: expiration.toISOString(),
    });
    return { token, expiration, identity: worker.identity };
  }

  // ------------------------------------------------------------ reactions to the Voice model

  #isReaction(event: EmulatorEvent): boolean {
    return (
      (event.type === 'twiml.verb' && event.verb === 'Enqueue' && event.workflowSid != null) ||
      event.type === 'conference.join' ||
      event.type === 'conference.leave' ||
      event.type === 'conference.end' ||
      event.type === 'call.status'
    );
  }

  #drainReactions(): void {
    const batch = this.#reactions;
    this.#reactions = [];
    for (const event of batch) {
      try {
        this.#react(event);
      } catch (error) {
        this.#deps.logger.error({ err: error, event: event.type }, 'TaskRouter reaction failed');
      }
    }
  }

  #react(event: EmulatorEvent): void {
    if (this.#closed) return;
    const callSid = typeof event.callSid === 'string' ? event.callSid : '';
    const type: string = event.type;
    switch (type) {
      case 'twiml.verb': {
        const call = this.#deps.calls.calls.get(callSid);
        if (call === undefined) return;
        if (event.workflowSid !== this.workflow.sid) {
          this.#deps.events.append('taskrouter.error', {
            callSid,
            message: `unknown workflowSid '${String(event.workflowSid)}'; the call waits in its queue`,
          });
          return;
        }
        this.#createTask(call, typeof event.task === 'string' ? event.task : null);
        return;
      }
      case 'call.status': {
        if (
          !['completed', 'canceled', 'failed', 'busy', 'no-answer'].includes(String(event.status))
        )
          return;
        // A caller who hangs up while waiting cancels the task (task.canceled, then its pending
        // reservation canceled): https://www.twilio.com/docs/taskrouter/lifecycle-task-state.
        for (const task of this.tasks.values()) {
          if (task.customerCallSid !== callSid) continue;
          if (task.status === 'pending' || task.status === 'reserved')
            this.#cancelTask(task, 'hangup');
        }
        return;
      }
      case 'conference.leave': {
        // A worker's leg leaving the conference (hang-up, kick, redirect, conference end) puts its
        // reservation into wrapping (facts §4: "Never redirect a worker leg in Flex … forces the
        // task into wrapping").
        for (const reservation of this.reservations.values()) {
          if (reservation.workerCallSid === callSid && reservation.status === 'accepted')
            this.#wrap(reservation, `worker left the conference (${String(event.reason)})`);
        }
        this.#syncByConferenceName(event.friendlyName);
        return;
      }
      case 'conference.join':
        this.#syncByConferenceName(event.friendlyName);
        return;
      case 'conference.end': {
        const task =
          typeof event.friendlyName === 'string' ? this.tasks.get(event.friendlyName) : undefined;
        if (task === undefined || task.conferenceSid !== event.conferenceSid) return;
        // UNCONFIRMED: a transfer still pending when the call ends is canceled with its reservation.
        for (const reservation of this.reservationsOf(task.sid)) {
          if (reservation.status !== 'pending') continue;
          this.#clearTimer(reservation);
          this.#setReservationStatus(reservation, 'canceled');
          this.#emit('reservation.canceled', {
            description: `Reservation ${reservation.sid} canceled: the call ended`,
            task,
            worker: this.#worker(reservation.workerSid),
            reservation,
          });
        }
        for (const transfer of task.transfers) {
          if (transfer.status !== 'INITIATED') continue;
          this.#setTransferStatus(transfer, 'CANCELED');
          this.#emit('task.transfer-canceled', {
            description: `Transfer ${transfer.sid} canceled: the call ended`,
            task,
            transfer,
          });
        }
        this.#maybeWrapTask(task);
        this.#route();
        return;
      }
      default:
        return;
    }
  }

  #syncByConferenceName(name: unknown): void {
    const task = typeof name === 'string' ? this.tasks.get(name) : undefined;
    if (task !== undefined) this.#syncEndConferenceOnExit(task);
  }

  /**
   * Flex's `updateEndConferenceOnExitForTask` (facts §6, [SPEC bundle]): whenever the conference
   * changes, each live worker's flag becomes true with ≤ 2 live participants, false otherwise.
   */
  #syncEndConferenceOnExit(task: TaskRecord): void {
    const conference = this.conferenceOf(task);
    if (conference === null) return;
    const want = conference.participants.size <= 2;
    for (const callSid of this.#liveWorkerLegs(task, conference)) {
      const participant = conference.participants.get(callSid);
      if (participant === undefined || participant.endConferenceOnExit === want) continue;
      this.#deps.calls.updateParticipant(conference, participant, { endConferenceOnExit: want });
      this.#flexAction('updateEndConferenceOnExit', { taskSid: task.sid, callSid, value: want });
    }
  }

  /** CallSids of the task's accepted workers whose legs are in the conference now. */
  #liveWorkerLegs(task: TaskRecord, conference: ConferenceRecord): string[] {
    return this.reservationsOf(task.sid)
      .filter(
        (r) =>
          r.status === 'accepted' &&
          r.workerCallSid !== null &&
          conference.participants.has(r.workerCallSid),
      )
      .map((r) => r.workerCallSid ?? '');
  }

  // ------------------------------------------------------------ state changes

  #leaveAndWrap(reservation: ReservationRecord, why: string): void {
    const leg =
      reservation.workerCallSid === null
        ? undefined
        : this.#deps.calls.calls.get(reservation.workerCallSid);
    // Flex kicks the agent's participant; its leg has nothing after `<Dial>` and ends.
    if (leg !== undefined && this.#deps.calls.participation(leg) !== null)
      this.#deps.calls.leaveConference(leg, 'participant_kicked');
    this.#wrap(reservation, why);
  }

  #wrap(reservation: ReservationRecord, why: string): void {
    if (reservation.status !== 'accepted') return;
    const task = this.#task(reservation.taskSid);
    this.#setReservationStatus(reservation, 'wrapping');
    this.#emit('reservation.wrapup', {
      description: `Reservation ${reservation.sid} wrapping: ${why}`,
      task,
      worker: this.#worker(reservation.workerSid),
      reservation,
    });
    this.#maybeWrapTask(task);
  }

  /** The task wraps up once no reservation of it is pending or accepted any more. */
  #maybeWrapTask(task: TaskRecord): void {
    if (task.status !== 'assigned') return;
    if (
      this.reservationsOf(task.sid).some((r) => r.status === 'pending' || r.status === 'accepted')
    )
      return;
    this.#setTaskStatus(task, 'wrapping');
    this.#emit('task.wrapup', { description: 'Task wrapping', task });
  }

  #cancelTask(task: TaskRecord, reason: string): void {
    task.reason = reason;
    this.#setTaskStatus(task, 'canceled');
    this.#emit('task.canceled', { description: `Task canceled: ${reason}`, task });
    for (const reservation of this.reservationsOf(task.sid)) {
      if (reservation.status !== 'pending') continue;
      this.#clearTimer(reservation);
      this.#setReservationStatus(reservation, 'canceled');
      this.#emit('reservation.canceled', {
        description: `Reservation ${reservation.sid} canceled`,
        task,
        worker: this.#worker(reservation.workerSid),
        reservation,
      });
    }
    this.#route();
  }

  #setCustomerHold(task: TaskRecord, hold: boolean): void {
    const customer = this.#customerParticipant(task);
    if (customer === null || customer.participant.hold === hold) return;
    this.#deps.calls.updateParticipant(customer.conference, customer.participant, { hold });
  }

  #customerParticipant(task: TaskRecord): ReturnType<CallModel['participation']> {
    const call = this.#deps.calls.calls.get(task.customerCallSid);
    const current = call === undefined ? null : this.#deps.calls.participation(call);
    return current !== null && current.conference.sid === task.conferenceSid ? current : null;
  }

  #setTaskStatus(task: TaskRecord, to: TaskStatus): void {
    task.status = transition(`task ${task.sid}`, TASK_TRANSITIONS, task.status, to);
    this.#bumpTask(task);
  }

  #bumpTask(task: TaskRecord): void {
    task.version += 1;
    task.dateUpdated = this.#now();
  }

  #setReservationStatus(reservation: ReservationRecord, to: ReservationStatus): void {
    reservation.status = transition(
      `reservation ${reservation.sid}`,
      RESERVATION_TRANSITIONS,
      reservation.status,
      to,
    );
    reservation.dateUpdated = this.#now();
  }

  #setTransferStatus(transfer: TransferRecord, to: TransferStatus): void {
    transfer.status = transition(
      `transfer ${transfer.sid}`,
      TRANSFER_TRANSITIONS,
      transfer.status,
      to,
    );
    transfer.dateUpdated = this.#now();
  }

  #clearTimer(reservation: ReservationRecord): void {
    if (reservation.timer !== null) clearTimeout(reservation.timer);
    reservation.timer = null;
  }

  /** Logs a TaskRouter event and sends it to the workspace's EventCallbackUrl (if not filtered). */
  #emit(eventType: TaskRouterEventType, subject: EventSubject): void {
    const ws = this.workspace;
    const worker =
      subject.worker ??
      (subject.reservation === undefined
        ? undefined
        : this.workers.get(subject.reservation.workerSid));
    const full: EventSubject = worker === undefined ? subject : { ...subject, worker };
    const url = ws.eventCallbackUrl;
    const sent = url !== null && (ws.eventsFilter === null || ws.eventsFilter.includes(eventType));
    this.#deps.events.append('taskrouter.event', {
      eventType,
      taskSid: subject.task?.sid ?? null,
      reservationSid: subject.reservation?.sid ?? null,
      workerSid: worker?.sid ?? null,
      status: subject.reservation?.status ?? subject.task?.status ?? null,
      sent,
    });
    if (!sent) return;
    const params = eventParams(
      {
        accountSid: this.#deps.accountSid,
        workspace: ws,
        queue: (sid) => this.queues.get(sid),
        workflow: (sid) => (sid === this.workflow.sid ? this.workflow : undefined),
        activity: (name) => this.activities[name],
      },
      eventType,
      full,
      this.#now(),
    );
    this.#delivery.deliver(url, params);
  }

  #flexAction(action: string, fields: Record<string, unknown>): void {
    this.#deps.events.append('flex.action', { action, ...fields });
  }

  // ------------------------------------------------------------ lookups that fail clearly

  #worker(workerSid: string): WorkerRecord {
    const worker = this.workers.get(workerSid);
    if (worker === undefined)
      throw new ControlError('EMU_ERR_UNKNOWN_WORKER', 404, `no worker ${workerSid}`);
    return worker;
  }

  #task(taskSid: string): TaskRecord {
    const task = this.tasks.get(taskSid);
    if (task === undefined)
      throw new ControlError('EMU_ERR_UNKNOWN_TASK', 404, `no task ${taskSid}`);
    return task;
  }

  #ownReservation(
    reservationSid: string,
    workerSid: string,
  ): { reservation: ReservationRecord; worker: WorkerRecord; task: TaskRecord } {
    const worker = this.#worker(workerSid);
    const reservation = this.reservations.get(reservationSid);
    if (reservation === undefined)
      throw new ControlError(
        'EMU_ERR_UNKNOWN_RESERVATION',
        404,
        `no reservation ${reservationSid}`,
      );
    if (reservation.workerSid !== worker.sid)
      throw new ControlError(
        'EMU_ERR_NOT_YOUR_RESERVATION',
        403,
        `reservation ${reservationSid} belongs to another worker: a worker acts only on its own reservations`,
      );
    return { reservation, worker, task: this.#task(reservation.taskSid) };
  }

  #ownTask(
    taskSid: string,
    workerSid: string,
    what: string,
  ): { task: TaskRecord; reservation: ReservationRecord; worker: WorkerRecord } {
    const worker = this.#worker(workerSid);
    const task = this.#task(taskSid);
    const reservation = this.reservationsOf(task.sid).find(
      (r) => r.workerSid === worker.sid && r.status === 'accepted',
    );
    if (reservation === undefined)
      throw new ControlError(
        'EMU_ERR_NOT_YOUR_TASK',
        403,
        `worker ${worker.friendlyName} has no accepted reservation on task ${task.sid}: only the agent handling a task may ${what} it`,
      );
    return { task, reservation, worker };
  }

  #expect(reservation: ReservationRecord, status: ReservationStatus, verb: string): void {
    if (reservation.status !== status)
      throw new ControlError(
        'EMU_ERR_ILLEGAL_TRANSITION',
        409,
        `cannot ${verb} reservation ${reservation.sid} in status '${reservation.status}' (only '${status}')`,
      );
  }
}
