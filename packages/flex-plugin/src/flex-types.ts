/**
 * The few Flex UI 2.x shapes the plugin reads, declared here because `@twilio/flex-ui` cannot run
 * outside a browser (and is not a dependency). Each mirrors a declaration of
 * `@twilio/flex-ui@2.17.1` as summarised in twilio-facts §6; every field is optional where Flex
 * may leave it out, so a real Flex object is assignable to these.
 */

/** A `ConferenceParticipant` of `task.conference.participants` (facts §6, getters). */
export interface FlexConferenceParticipant {
  readonly callSid?: string | undefined;
  readonly workerSid?: string | undefined;
  /** `customer | worker | transfer | supervisor | agent | external | unknown`. */
  readonly participantType?: string | undefined;
  /** `joined | left | recently_left`: the list keeps people who already left. */
  readonly status?: string | undefined;
  readonly isCurrentWorker?: boolean | undefined;
}

/** `task.conference` (class `Conference`, facts §6). Its `sid` is the **task** SID, not `CF…`. */
export interface FlexConference {
  readonly sid?: string | undefined;
  /** The conference SID (`CF…`). */
  readonly conferenceSid?: string | undefined;
  readonly participants?: readonly FlexConferenceParticipant[] | undefined;
}

/** Flex's `TaskTransfer` (facts §6): only its presence matters here. */
export interface FlexTaskTransfer {
  readonly mode?: string | undefined;
  readonly status?: string | undefined;
}

/** The part of Flex's `ITask` (`models/CommonModels.d.ts`, facts §6) the plugin reads. */
export interface FlexTask {
  /** The **reservation** SID (`WR…`), despite the name. */
  readonly sid: string;
  /** The task SID (`WT…`). */
  readonly taskSid: string;
  readonly workerSid?: string | undefined;
  /** `voice` for calls; the plugin ignores every other channel. */
  readonly taskChannelUniqueName?: string | undefined;
  /** `call_sid` (customer CallSid), `conference: {sid, participants: {customer, worker}}`. */
  readonly attributes?: unknown;
  readonly conference?: FlexConference | undefined;
  readonly incomingTransferObject?: FlexTaskTransfer | null | undefined;
}

/**
 * taskrouter.js `ConferenceOptions` (facts §6 `beforeAcceptTask`): Flex fills some in, listeners
 * may change any key, then Flex calls `reservation.conference(conferenceOptions)`.
 */
export interface FlexConferenceOptions {
  conferenceStatusCallback?: string;
  conferenceStatusCallbackMethod?: string;
  conferenceStatusCallbackEvent?: string | string[];
  [key: string]: unknown;
}

/** `WorkerAcceptTaskActionPayload` = `{task?, sid?, conferenceOptions}` (facts §6). */
export interface AcceptTaskPayload {
  task?: FlexTask | undefined;
  sid?: string | undefined;
  conferenceOptions?: FlexConferenceOptions | undefined;
}

/** `TransferTaskPayload` = `{task?, sid?, targetSid, options?}` (facts §6). */
export interface TransferTaskPayload {
  task?: FlexTask | undefined;
  sid?: string | undefined;
  targetSid?: string | undefined;
  options?: { mode?: 'COLD' | 'WARM' | undefined } | undefined;
}

/** `{task?, sid?}` of `WrapupTask` / `CompleteTask`: `sid` is the reservation SID (facts §6). */
export interface TaskActionPayload {
  task?: FlexTask | undefined;
  sid?: string | undefined;
}

/**
 * An action listener as Flex calls it: `(payload, abortFunction)`. Flex awaits every `before*`
 * listener together; a rejection is only logged, only `abortFunction()` cancels (facts §6).
 */
export type FlexActionListener = (payload: unknown, abortFunction: () => void) => unknown;

/** The part of `Flex.Actions` the plugin uses. */
export interface FlexActions {
  addListener(name: string, listener: FlexActionListener): void;
  removeListener?(name: string, listener: FlexActionListener): void;
}
