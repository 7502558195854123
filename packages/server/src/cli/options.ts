import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino, type Logger } from 'pino';
import { UsageError } from './command.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `argv` strictly (unknown flags and positionals are usage errors) and returns the values.
 * Every mistake becomes a {@link UsageError}, so the CLI prints it with the command's usage.
 */
export function parseFlags<const O extends OptionsConfig>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** A TCP port from a flag: an integer 0–65535 (0 picks a free port); `fallback` when absent. */
export function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new UsageError(`${flag} must be an integer from 0 to 65535, not '${value}'`);
  }
  return port;
}

const LEVELS = [...Object.keys(pino.levels.values), 'silent'];

/** A pino logger writing to stderr (stdout stays free for the command's JSON output). */
export function stderrLogger(level = 'info'): Logger {
  if (!LEVELS.includes(level)) {
    throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, not '${level}'`);
  }
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}
