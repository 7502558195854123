/** Runs tasks one at a time per key. */
export interface KeyedSerializer {
  /**
   * Runs `task` after every task queued earlier under `key` has settled; tasks under other keys
   * run concurrently. Resolves or rejects with `task`'s own outcome.
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Keys with queued or running tasks (for tests and metrics). */
  readonly pendingKeys: number;
}

/**
 * Creates a per-key serializer. The controller keys it by customer CallSid so two events for the
 * same call (a TaskRouter webhook and a plugin request, say) never interleave, while different
 * calls proceed in parallel. In-process only: several controller processes need the store's
 * optimistic versioning as well.
 */
export function createKeyedSerializer(): KeyedSerializer {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(task, task);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    get pendingKeys() {
      return tails.size;
    },
  };
}
