/**
 * A task the service runs every so often (the reconciler, retention): the next run is scheduled
 * when the previous one ends, so runs never overlap; the timer never keeps the process alive;
 * `stop()` cancels the next run and waits for the one under way.
 */

/** A running periodic task. */
export interface Periodic {
  stop(): Promise<void>;
}

/** Options of {@link startPeriodic}. */
export interface PeriodicOptions {
  /** Milliseconds from the end of one run to the start of the next; 0 schedules nothing. */
  intervalMs: number;
  /** Run once at start as well (default false: the first run is one interval away). */
  immediately?: boolean;
  /** The work; a rejection is the caller's to log (it is swallowed here, the timer goes on). */
  run: () => Promise<unknown>;
}

/** Starts the timer. */
export function startPeriodic(options: PeriodicOptions): Periodic {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();

  const runNow = (): void => {
    running = options
      .run()
      .catch(() => undefined)
      .finally(schedule);
  };
  function schedule(): void {
    if (stopped || options.intervalMs === 0) return;
    timer = setTimeout(() => {
      timer = null;
      runNow();
    }, options.intervalMs);
    timer.unref();
  }

  if (options.immediately === true) runNow();
  else schedule();
  return {
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
