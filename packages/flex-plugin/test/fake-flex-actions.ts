/**
 * A fake of Flex UI 2.x's Actions framework that keeps its contract (twilio-facts §6 "Actions
 * framework"; style §10: an honest fake, not a mock):
 *
 * 1. the action's payload goes to every `before<Action>` listener, all awaited together
 *    (`Promise.all`);
 * 2. a listener that throws or rejects does **not** cancel the action: the error is only logged
 *    (kept in {@link FakeFlexActions.listenerErrors});
 * 3. only `abortFunction()` cancels: then neither the action nor its after-listeners run;
 * 4. otherwise the action's own implementation runs, then every `after<Action>` listener.
 *
 * The action implementations stand for Flex's own (`AcceptTask` → `reservation.conference()`…)
 * and are supplied by each test, e.g. as calls to the Twilio emulator.
 */
import type { FlexActionListener, FlexActions } from '../src/index.js';

/** What Flex does for an action once its before-listeners let it run. */
export type ActionImplementation = (payload: Record<string, unknown>) => unknown;

/** What one {@link FakeFlexActions.invokeAction} did. */
export interface InvokeOutcome {
  readonly aborted: boolean;
}

export class FakeFlexActions implements FlexActions {
  readonly #listeners = new Map<string, FlexActionListener[]>();
  readonly #actions = new Map<string, ActionImplementation>();
  /** Errors of listeners, as Flex would log them, by `before<Action>`/`after<Action>` name. */
  readonly listenerErrors: { readonly listener: string; readonly error: unknown }[] = [];

  addListener(name: string, listener: FlexActionListener): void {
    if (!/^(before|after)[A-Z]/.test(name)) throw new Error(`not an action event: ${name}`);
    const list = this.#listeners.get(name) ?? [];
    list.push(listener);
    this.#listeners.set(name, list);
  }

  removeListener(name: string, listener: FlexActionListener): void {
    const list = this.#listeners.get(name) ?? [];
    this.#listeners.set(
      name,
      list.filter((l) => l !== listener),
    );
  }

  /** How many listeners are registered for `name` (`beforeAcceptTask`…). */
  listenerCount(name: string): number {
    return this.#listeners.get(name)?.length ?? 0;
  }

  /** Registers Flex's own implementation of `action` (`AcceptTask`, `TransferTask`…). */
  registerAction(action: string, implementation: ActionImplementation): void {
    this.#actions.set(action, implementation);
  }

  /** `Actions.invokeAction(action, payload)`: runs the framework's four steps. */
  async invokeAction(action: string, payload: Record<string, unknown>): Promise<InvokeOutcome> {
    const implementation = this.#actions.get(action);
    if (implementation === undefined) throw new Error(`no action ${action}`);
    const state = { aborted: false };
    const abortFunction = (): void => {
      state.aborted = true;
    };
    const before = `before${action}`;
    await Promise.all(
      (this.#listeners.get(before) ?? []).map((listener) =>
        // Promise.resolve().then: a listener that throws synchronously is caught the same way.
        Promise.resolve()
          .then(() => listener(payload, abortFunction))
          .catch((error: unknown) => {
            this.listenerErrors.push({ listener: before, error });
          }),
      ),
    );
    if (state.aborted) return { aborted: true };
    await implementation(payload);
    const after = `after${action}`;
    await Promise.all(
      (this.#listeners.get(after) ?? []).map((listener) =>
        Promise.resolve()
          .then(() => listener(payload, abortFunction))
          .catch((error: unknown) => {
            this.listenerErrors.push({ listener: after, error });
          }),
      ),
    );
    return { aborted: false };
  }
}
