/**
 * The reconciler: every `intervalMs`, each customer call with a live segment is handed to the
 * core's `reconcile` use case, one call after the other. It is the driver that sees what no
 * callback reports: a customer who hangs up while their segment is paused, deferred or failed to
 * start (no stream, so no `stream-stopped`), an agent's leg that ended without a wrap-up, and a
 * twiml stream waiting for the agent's leg to join. Runs never overlap; `stop()` waits for the one
 * under way.
 */
import type { StreamController } from '@flex-streams/core';
import type { Logger } from 'pino';
import { startPeriodic } from './periodic.js';

/** What one pass did. */
export interface ReconcileReport {
  /** Live calls visited. */
  calls: number;
  /** Calls where something changed (segments ended, waiting streams started). */
  changed: number;
  /** Calls whose reconcile threw (logged; the next pass tries again). */
  failed: number;
}

/** A running reconciler. */
export interface Reconciler {
  /**
   * Runs one pass now (after the one under way, if any). `full` also reads the calls whose
   * streams all run (see {@link ReconcilerOptions.fullEvery}).
   */
  runOnce(options?: { full?: boolean }): Promise<ReconcileReport>;
  /** Stops the timer and waits for the pass under way. */
  stop(): Promise<void>;
}

/** Options of {@link startReconciler}. */
export interface ReconcilerOptions {
  controller: StreamController;
  logger: Logger;
  /** Milliseconds between the end of one pass and the start of the next; 0 runs no timer. */
  intervalMs: number;
  /**
   * Every how many timer passes one is full (default 20; the first is always full): a full pass
   * also reads the calls whose streams all run, for the callbacks that never arrived (the
   * service was down when a customer hung up, say). 0 makes no pass full.
   */
  fullEvery?: number;
  /** Called after each pass (metrics). */
  onPass?: (report: ReconcileReport) => void;
}

/** Starts the timer (unless `intervalMs` is 0). The timer never keeps the process alive. */
export function startReconciler(options: ReconcilerOptions): Reconciler {
  const { controller, logger, intervalMs } = options;
  let stopped = false;
  let running: Promise<ReconcileReport> = Promise.resolve({ calls: 0, changed: 0, failed: 0 });

  const fullEvery = options.fullEvery ?? 20;
  let timerPasses = 0;

  async function pass(full: boolean): Promise<ReconcileReport> {
    const report: ReconcileReport = { calls: 0, changed: 0, failed: 0 };
    let calls: string[];
    try {
      calls = await controller.liveCalls();
    } catch (error) {
      logger.error({ err: error }, 'reconcile: could not list the live calls');
      report.failed += 1;
      return report;
    }
    for (const customerCallSid of calls) {
      if (stopped) break;
      report.calls += 1;
      try {
        const result = await controller.reconcile({ customerCallSid, full });
        if (result.outcome === 'applied' || result.outcome === 'failed') {
          report.changed += 1;
          logger.info(
            { callSid: customerCallSid, outcome: result.outcome },
            `reconcile: ${result.detail}`,
          );
        }
      } catch (error) {
        // One call's trouble never stops the others.
        report.failed += 1;
        logger.error({ callSid: customerCallSid, err: error }, 'reconcile: failed for this call');
      }
    }
    options.onPass?.(report);
    return report;
  }

  function runOnce(runOptions: { full?: boolean } = {}): Promise<ReconcileReport> {
    const full = runOptions.full === true;
    running = running.then(
      () => pass(full),
      () => pass(full),
    );
    return running;
  }

  const timer = startPeriodic({
    intervalMs,
    run: () => {
      const full = fullEvery > 0 && timerPasses % fullEvery === 0;
      timerPasses += 1;
      return runOnce({ full });
    },
  });
  return {
    runOnce,
    async stop() {
      stopped = true;
      await timer.stop();
      await running.catch(() => undefined);
    },
  };
}
