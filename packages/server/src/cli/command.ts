/** A sub-command of `flex-streams`. `run` resolves with the process exit code. */
export interface Command {
  /** One line for `flex-streams --help`. */
  readonly summary: string;
  /** Full usage text, printed by `flex-streams <command> --help` and after a usage error. */
  readonly usage: string;
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** Where a command writes. stdout carries machine-readable output only; people read stderr. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Resolves when the process is asked to stop (SIGINT or SIGTERM), with the signal's name.
 * Long-running commands await this, then shut down cleanly.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
