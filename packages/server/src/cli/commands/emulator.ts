import { startEmulator } from '@flex-streams/emulator';
import { UsageError, untilStopSignal, type Command } from '../command.js';
import { parseFlags, parsePort, stderrLogger } from '../options.js';

const usage = `Usage: flex-streams emulator [options]

Runs the local Twilio Voice emulator: the REST API 2010-04-01 (Calls, Conferences, Participants,
Streams) as the official twilio SDK calls it, TwiML, signed webhooks, Media Streams, and a control
API under /_emulator/ (see packages/emulator/README.md). Prints one JSON line on stdout when ready:
  {"event":"listening","url":"http://127.0.0.1:PORT","accountSid":"AC…","authToken":"…"}
Logs go to stderr. SIGTERM or SIGINT stops every stream (sending stop) and exits 0.

Options:
  --port N             port to listen on (default 0: a free port)
  --host HOST          interface to listen on (default 127.0.0.1)
  --call-status-callback URL
                       the number's "call status changes" webhook: inbound calls post their final
                       status there (a controller's /v1/calls/status)
  --conference-status-callback URL
                       what the Flex plugin sets on accept: Flex conferences post join, leave and
                       end there (a controller's /v1/conferences/status)
  --log-level LEVEL    pino level for stderr logs (default info)
  -h, --help           show this help`;

/** An absolute http(s) URL, or a usage error naming the flag. */
function parseCallbackUrl(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be an absolute http:// or https:// URL; got ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${flag} must be an absolute http:// or https:// URL; got ${value}`);
  }
  return value;
}

/** `flex-streams emulator`: the Twilio emulator as a long-running process. */
export const emulatorCommand: Command = {
  summary: 'Run the local Twilio Voice + Media Streams emulator',
  usage,
  async run(argv, io) {
    const values = parseFlags(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      'call-status-callback': { type: 'string' },
      'conference-status-callback': { type: 'string' },
    });
    const port = parsePort('--port', values.port, 0);
    const callStatus = parseCallbackUrl('--call-status-callback', values['call-status-callback']);
    const conferenceStatus = parseCallbackUrl(
      '--conference-status-callback',
      values['conference-status-callback'],
    );
    const logger = stderrLogger(values['log-level']);
    const stop = untilStopSignal();
    const emulator = await startEmulator({
      port,
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(callStatus === undefined ? {} : { inboundStatusCallback: callStatus }),
      ...(conferenceStatus === undefined
        ? {}
        : {
            flexConferenceStatusCallback: conferenceStatus,
            flexConferenceStatusCallbackEvent: ['join', 'leave', 'end'],
          }),
      logger,
    });
    const ready = {
      event: 'listening',
      url: emulator.url,
      accountSid: emulator.accountSid,
      authToken: emulator.authToken,
    };
    io.stdout.write(`${JSON.stringify(ready)}\n`);
    const signal = await stop;
    logger.info({ signal }, 'stopping: closing every stream and the server');
    await emulator.close();
    return 0;
  },
};
