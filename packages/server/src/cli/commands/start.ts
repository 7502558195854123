import { resolve } from 'node:path';
import { startEmulator } from '@flex-streams/emulator';
import { isReceiverError, startReceiver } from '@flex-streams/receiver';
import { UsageError, untilStopSignal, type Command } from '../command.js';
import { parseFlags, parsePort, stderrLogger } from '../options.js';

const DEFAULT_EMULATOR_PORT = 4010;
const DEFAULT_RECEIVER_PORT = 4011;

const usage = `Usage: flex-streams start [options]

Runs flex-streams on this machine. No Twilio credentials are used yet: it starts the local Twilio
emulator and the Media Streams receiver in one process. The receiver records every stream to
DIR/<CallSid>/<name>.wav with a JSON sidecar and checks each stream's X-Twilio-Signature with the
emulator's auth token. (The stream controller joins this command in a later release.)

Prints one JSON line on stdout when ready:
  {"event":"listening","emulator":{"url","accountSid","authToken"},"receiver":{"url"},"recordings":DIR}
and a short guide on stderr. SIGINT or SIGTERM finishes open recordings and exits 0.

Options:
  --host HOST            interface for both servers (default 127.0.0.1)
  --emulator-port N      port of the Twilio emulator (default ${DEFAULT_EMULATOR_PORT}; 0 = a free port)
  --receiver-port N      port of the stream receiver (default ${DEFAULT_RECEIVER_PORT}; 0 = a free port)
  --recordings DIR       where recordings go (default ./recordings)
  --log-level LEVEL      pino level for stderr logs (default info)
  -h, --help             show this help`;

/** The lines a person reads on stderr: what runs where, and how to play a call into it. */
function guide(emulatorUrl: string, receiverUrl: string, recordings: string): string {
  const twiml =
    `<Response><Start><Stream url=\\"${receiverUrl}\\" track=\\"both_tracks\\" name=\\"hello\\"/></Start>` +
    `<Say>Hello from the flex-streams emulator</Say><Pause length=\\"2\\"/></Response>`;
  return [
    '',
    'flex-streams is running on the local Twilio emulator (no Twilio credentials used).',
    '',
    `  Twilio emulator   ${emulatorUrl}   (Twilio REST API 2010-04-01, control API under /_emulator/)`,
    `  Stream receiver   ${receiverUrl}`,
    `  Recordings        ${recordings}/<CallSid>/`,
    '',
    'Play a call that streams both tracks into the receiver for a few seconds:',
    '',
    `  curl -s ${emulatorUrl}/_emulator/calls -H 'content-type: application/json' \\`,
    `    -d '{"from":"+15550100001","to":"+15550100002","twiml":"${twiml}"}'`,
    '',
    'Stop with Ctrl-C; open recordings are finished first.',
    '',
  ].join('\n');
}

/** `flex-streams start`: the product on this machine (today: emulator + receiver). */
export const startCommand: Command = {
  summary: 'Run flex-streams locally on the Twilio emulator',
  usage,
  async run(argv, io) {
    const flags = parseFlags(argv, {
      host: { type: 'string' },
      'emulator-port': { type: 'string' },
      'receiver-port': { type: 'string' },
      recordings: { type: 'string' },
      'log-level': { type: 'string' },
    });
    const host = flags.host ?? '127.0.0.1';
    const emulatorPort = parsePort(
      '--emulator-port',
      flags['emulator-port'],
      DEFAULT_EMULATOR_PORT,
    );
    const receiverPort = parsePort(
      '--receiver-port',
      flags['receiver-port'],
      DEFAULT_RECEIVER_PORT,
    );
    const recordings = resolve(flags.recordings ?? 'recordings');
    const logger = stderrLogger(flags['log-level']);
    const stop = untilStopSignal();

    const emulator = await startEmulator({
      host,
      port: emulatorPort,
      logger: logger.child({ component: 'emulator' }),
    });
    let receiver;
    try {
      receiver = await startReceiver({
        recordingsDir: recordings,
        host,
        port: receiverPort,
        authToken: emulator.authToken,
        logger,
      });
    } catch (error) {
      await emulator.close();
      if (isReceiverError(error) && error.code === 'FS_RCV_INVALID_OPTIONS') {
        throw new UsageError(error.message);
      }
      throw error;
    }

    io.stdout.write(
      `${JSON.stringify({
        event: 'listening',
        emulator: {
          url: emulator.url,
          accountSid: emulator.accountSid,
          authToken: emulator.authToken,
        },
        receiver: { url: receiver.url },
        recordings,
      })}\n`,
    );
    io.stderr.write(guide(emulator.url, receiver.url, recordings));

    const signal = await stop;
    logger.info({ signal }, 'stopping: ending calls and finishing open recordings');
    // The emulator first: closing it sends `stop` on every stream, so recordings end cleanly.
    await emulator.close();
    await receiver.close();
    return 0;
  },
};
