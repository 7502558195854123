/**
 * Parent side of a measured server: starts `child.ts` as its own Node process (through tsx) and
 * talks to it over IPC. The receiver's CPU time is then measured apart from the sender's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromChild, Measurement, ServerKind, StreamOutcome, ToChild } from './ipc.js';

/** A measured server running in a child process. */
export interface MeasuredServer {
  readonly kind: ServerKind;
  /** `ws://127.0.0.1:PORT/media` */
  readonly url: string;
  /** Starts a measurement window in the child. */
  mark(): Promise<void>;
  /** Ends the window: the child's CPU, event-loop delay, frames (and lateness for a sink). */
  measure(): Promise<Measurement>;
  /** Resolves with the outcomes once `count` more streams have ended (`stop` handled). */
  waitForStopped(count: number, timeoutMs: number): Promise<StreamOutcome[]>;
  /** Stops the child and removes its temp dir. */
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Receiver options a benchmark may vary (the receiver's defaults otherwise). */
export interface ReceiverSettings {
  readonly flushIntervalMs?: number;
  readonly sidecarIntervalMs?: number;
}

/** Starts a `kind` server in a child process (the receiver writes into a fresh temp dir). */
export async function startMeasuredServer(
  kind: ServerKind,
  settings: ReceiverSettings = {},
): Promise<MeasuredServer> {
  const dir = kind === 'receiver' ? await mkdtemp(join(tmpdir(), 'fs-bench-')) : null;
  // An empty flushIntervalMs argument means the receiver's default (see child.ts).
  const args =
    dir === null
      ? [kind]
      : [
          kind,
          dir,
          settings.flushIntervalMs === undefined ? '' : String(settings.flushIntervalMs),
          ...(settings.sidecarIntervalMs === undefined ? [] : [String(settings.sidecarIntervalMs)]),
        ];
  // BENCH_CPU_PROF=DIR writes a V8 CPU profile of every measured server into DIR (open it in
  // Chrome DevTools) to find where a server's time goes.
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child: ChildProcess = fork(CHILD, args, {
    execArgv: ['--import', 'tsx', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const outcomes: StreamOutcome[] = [];
  let taken = 0;
  const waiters = new Set<() => void>();
  let nextReply: ((message: FromChild) => void) | null = null;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const ready = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`bench ${kind} server exited with code ${String(code)} before ready`));
    });
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') resolve(message.url);
      else if (message.type === 'stopped') {
        outcomes.push(message.outcome);
        for (const wake of waiters) wake();
      } else nextReply?.(message);
    });
  });
  const url = await ready;

  const ask = <T extends FromChild['type']>(
    message: ToChild,
    reply: T,
  ): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolve, reject) => {
      if (exited) {
        reject(new Error(`bench ${kind} server has exited`));
        return;
      }
      nextReply = (answer) => {
        if (answer.type !== reply) return;
        nextReply = null;
        resolve(answer as Extract<FromChild, { type: T }>);
      };
      child.send(message);
    });

  return {
    kind,
    url,
    async mark() {
      await ask({ type: 'mark' }, 'marked');
    },
    async measure() {
      return (await ask({ type: 'measure' }, 'measured')).measurement;
    },
    waitForStopped(count, timeoutMs) {
      const target = taken + count;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (outcomes.length < target) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(outcomes.slice(taken, target));
          taken = target;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `only ${outcomes.length - taken} of ${count} streams ended in ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (!exited) child.send({ type: 'exit' } satisfies ToChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `condition` every 10 ms until it holds, or throws after `timeoutMs` naming `what`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
