import {
  defaultDriver,
  isE2eError,
  runScenario,
  SCENARIOS,
  type ScenarioResult,
} from '@flex-streams/e2e';
import { resolve } from 'node:path';
import { isReceiverError } from '@flex-streams/receiver';
import { UsageError, type Command } from '../command.js';
import { parseFlags, stderrLogger } from '../options.js';

const STRATEGIES = ['rest', 'twiml'] as const;
const LEGS = ['customer', 'worker'] as const;
const DRIVERS = ['taskrouter', 'plugin', 'both'] as const;

const usage = `Usage: flex-streams demo <scenario> [options]
       flex-streams demo --list

Runs one scenario of the seed's story on the in-process Twilio emulator, with the controller
service and the receiver wired together: agents accept, transfer, hold and leave; the customer
hangs up. Shows a timeline on stderr as it goes (who joined, which stream started, what was
recorded), then verifies the run from the recordings on disk and the emulator's log, and prints
a summary and the recording paths. Exit code 0 only when every check passed (1 otherwise).

Scenarios (see --list): ${SCENARIOS.map((s) => s.name).join(', ')}

Options:
  --strategy S       rest (default) or twiml
  --leg L            customer (default) or worker (worker needs --strategy rest)
  --driver D         taskrouter (default for the customer leg), plugin (the Flex plugin API;
                     default for the worker leg), or both at once (they must never make two
                     streams for one segment)
  --recordings DIR   where recordings go (default ./recordings); they are kept
  --json             print exactly one JSON document on stdout (scenario, strategy, leg, ok,
                     segments, recordings, twilioRequests, customerDisruptions, checks, timeline)
  --list             list the scenarios and exit
  --log-level LEVEL  pino level of the components' logs on stderr (default silent)
  -h, --help         show this help`;

/** A flag value that must be one of `allowed`. */
function oneOf<const T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not '${value}'`);
  }
  return found;
}

/** The summary a person reads on stderr after the timeline. */
function summary(result: ScenarioResult): string {
  const lines = [
    '',
    `Verification of ${result.scenario} (${result.strategy}, ${result.leg} leg, ${result.driver} driver):`,
    ...result.checks.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
    '',
    `Twilio API requests by the controller: ${result.twilioRequests.total} ${JSON.stringify(result.twilioRequests.byOperation)}`,
    `Customer-leg disruptions (leave/rejoin): ${result.customerDisruptions}; hold changes (Flex): ${result.customerHoldChanges}`,
    '',
    'Segments and recordings:',
  ];
  for (const segment of result.segments) {
    lines.push(
      `  agent ${segment.agent}  ${segment.startedAt ?? '?'} → ${segment.endedAt ?? '?'}`,
      ...segment.recordings.map((path) => `    ${path}`),
    );
  }
  lines.push('', result.ok ? 'All checks passed.' : 'Some checks FAILED.', '');
  return lines.join('\n');
}

/** `flex-streams demo`: the seed's story, shown and verified. */
export const demoCommand: Command = {
  summary: 'Run one end-to-end scenario on the emulator, show its timeline and verify it',
  usage,
  async run(argv, io) {
    // The scenario is the one positional argument; everything else is a flag.
    const first = argv[0];
    const name = first !== undefined && !first.startsWith('-') ? first : undefined;
    const flags = parseFlags(name === undefined ? argv : argv.slice(1), {
      strategy: { type: 'string' },
      leg: { type: 'string' },
      driver: { type: 'string' },
      recordings: { type: 'string' },
      json: { type: 'boolean' },
      list: { type: 'boolean' },
      'log-level': { type: 'string' },
    });
    if (flags.list === true) {
      const width = Math.max(...SCENARIOS.map((s) => s.name.length));
      for (const s of SCENARIOS) io.stdout.write(`${s.name.padEnd(width)}  ${s.summary}\n`);
      return 0;
    }
    if (name === undefined) throw new UsageError('name a scenario (flex-streams demo --list)');
    if (!SCENARIOS.some((s) => s.name === name)) {
      throw new UsageError(
        `unknown scenario '${name}'; one of ${SCENARIOS.map((s) => s.name).join(', ')}`,
      );
    }
    const strategy = oneOf('--strategy', flags.strategy, STRATEGIES, 'rest');
    const leg = oneOf('--leg', flags.leg, LEGS, 'customer');
    const driver = oneOf('--driver', flags.driver, DRIVERS, defaultDriver(leg));
    const logger = stderrLogger(flags['log-level'] ?? 'silent');
    const recordingsDir = resolve(flags.recordings ?? 'recordings');
    let result: ScenarioResult;
    try {
      result = await runScenario(name, {
        strategy,
        leg,
        driver,
        recordingsDir,
        logger,
        onProgress: (line) => io.stderr.write(`${line}\n`),
      });
    } catch (error) {
      if (isE2eError(error) && error.code === 'FS_E2E_INVALID_COMBINATION') {
        throw new UsageError(error.message);
      }
      // An unusable --recordings folder (or a busy port) is one line, not a stack trace.
      if (isReceiverError(error)) {
        io.stderr.write(`flex-streams demo: ${error.message}\n`);
        return 1;
      }
      // A step that did not happen is a failed demo: say which one.
      if (isE2eError(error)) {
        io.stderr.write(`flex-streams demo: the scenario did not complete: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    io.stderr.write(summary(result));
    if (flags.json === true) io.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  },
};
