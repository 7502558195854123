import type { Clock } from '../ports.js';

/** A {@link Clock} whose time moves only when a test moves it; timers really fire, in order. */
export interface FakeClock extends Clock {
  /** Every duration passed to `sleep`, in call order (to check backoff and polling). */
  readonly sleeps: readonly number[];
  /** Timers not yet fired. */
  readonly pendingTimers: number;
  /** Moves time forward by `ms`, firing due timers in time order and letting their callers run. */
  advance(ms: number): Promise<void>;
  /**
   * Awaits `promise`, moving time to the next timer whenever everything else is idle. Fails if
   * the promise waits on something that is neither a timer nor a settled promise.
   */
  drive<T>(promise: Promise<T>): Promise<T>;
}

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Creates a {@link FakeClock} starting at `startMs` (default 2026-01-01T00:00:00Z). */
export function createFakeClock(startMs = Date.UTC(2026, 0, 1)): FakeClock {
  let current = startMs;
  let seq = 0;
  const timers: Timer[] = [];
  const sleeps: number[] = [];

  async function fireUntil(target: number): Promise<void> {
    for (;;) {
      timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = timers[0];
      if (next === undefined || next.at > target) break;
      timers.shift();
      current = Math.max(current, next.at);
      next.fire();
      await flush();
    }
    current = Math.max(current, target);
  }

  return {
    now: () => current,
    sleep(ms) {
      sleeps.push(ms);
      return new Promise((resolve) => {
        timers.push({ at: current + Math.max(0, ms), seq: seq++, fire: resolve });
      });
    },
    get sleeps() {
      return sleeps;
    },
    get pendingTimers() {
      return timers.length;
    },
    advance: (ms) => fireUntil(current + ms),
    async drive<T>(promise: Promise<T>): Promise<T> {
      let settled = false;
      const isSettled = (): boolean => settled;
      const watched = promise.finally(() => {
        settled = true;
      });
      // Handled here so a rejection is not reported as unhandled while time is still moving;
      // the caller still receives it from the returned promise.
      watched.catch(() => undefined);
      let idleRounds = 0;
      while (!isSettled()) {
        await flush();
        if (isSettled()) break;
        const next = [...timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (next !== undefined) {
          idleRounds = 0;
          await fireUntil(next.at);
        } else if (++idleRounds > 50) {
          throw new Error('FakeClock.drive: the promise waits on something other than the clock');
        }
      }
      return watched;
    },
  };
}
