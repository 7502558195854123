import { UsageError, type Command, type CommandIo } from './command.js';

/**
 * Every sub-command, loaded only when it is needed (run, or listed by `--help`), so that one
 * command's dependencies never slow another down.
 */
const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  emulator: async () => (await import('./commands/emulator.js')).emulatorCommand,
  receiver: async () => (await import('./commands/receiver.js')).receiverCommand,
  start: async () => (await import('./commands/start.js')).startCommand,
};

/** The command list for `flex-streams --help`, with each command's one-line summary. */
async function overview(): Promise<string> {
  const names = Object.keys(commands).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  const lines = await Promise.all(
    names.map(async (name) => {
      const load = commands[name];
      const summary = load === undefined ? '' : (await load()).summary;
      return `  ${name.padEnd(width)}  ${summary}`;
    }),
  );
  return [
    'Usage: flex-streams <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `flex-streams <command> --help` for the options of a command.',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and the script) and resolves with the exit code. */
export async function main(
  argv: readonly string[],
  io: CommandIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stderr.write(`${await overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    io.stderr.write(`flex-streams: unknown command '${name}'.\n\n${await overview()}\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stderr.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`flex-streams ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`flex-streams ${name}: failed: ${message}\n`);
    return 1;
  }
}
