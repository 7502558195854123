import { isReceiverError, startReceiver } from '@flex-streams/receiver';
import { UsageError, untilStopSignal, type Command } from '../command.js';
import { parseFlags, parsePort, stderrLogger } from '../options.js';

const usage = `Usage: flex-streams receiver --recordings DIR [options]

Runs the Twilio Media Streams receiver: every stream is recorded to DIR/<CallSid>/<name>.wav with
a JSON sidecar. Prints one JSON line on stdout when ready:
  {"event":"listening","url":"ws://127.0.0.1:PORT/PATH"}
Logs go to stderr. SIGTERM or SIGINT finishes open recordings and exits 0.

Options:
  --recordings DIR     folder for recordings (required; created if missing)
  --port N             port to listen on (default 0: a free port)
  --host HOST          interface to listen on (default 127.0.0.1)
  --path PATH          WebSocket path (default /media)
  --auth-token T       Twilio auth token: validate X-Twilio-Signature on every upgrade
  --public-url URL     the wss:// URL Twilio is given, used for signature validation behind a
                       proxy (a trailing slash may differ; default: the wss:// or ws:// URL the
                       upgrade arrived at, from its Host header)
  --file-name TEMPLATE name recordings from custom parameters, e.g.
                       'segment-{segmentIndex}-{workerSid}' (placeholders: any <Parameter> name,
                       streamSid, callSid); default: the streamName parameter, else the streamSid
  --metrics-path PATH  also serve Prometheus metrics over HTTP on PATH (e.g. /metrics; off by
                       default: the port usually faces the internet)
  --log-level LEVEL    pino level for stderr logs (default info)
  -h, --help           show this help`;

/** `flex-streams receiver`: the Media Streams receiver as a long-running process. */
export const receiverCommand: Command = {
  summary: 'Record every Twilio Media Stream to WAV + JSON sidecar',
  usage,
  async run(argv, io) {
    const values = parseFlags(argv, {
      recordings: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      'auth-token': { type: 'string' },
      'public-url': { type: 'string' },
      'log-level': { type: 'string' },
      'metrics-path': { type: 'string' },
      'file-name': { type: 'string' },
    });
    if (values.recordings === undefined) throw new UsageError('--recordings DIR is required');
    const port = parsePort('--port', values.port, 0);
    const logger = stderrLogger(values['log-level']);
    const stop = untilStopSignal();
    let receiver;
    try {
      receiver = await startReceiver({
        recordingsDir: values.recordings,
        port,
        ...(values.host === undefined ? {} : { host: values.host }),
        ...(values.path === undefined ? {} : { path: values.path }),
        ...(values['auth-token'] === undefined ? {} : { authToken: values['auth-token'] }),
        ...(values['public-url'] === undefined ? {} : { publicUrl: values['public-url'] }),
        ...(values['metrics-path'] === undefined ? {} : { metricsPath: values['metrics-path'] }),
        ...(values['file-name'] === undefined ? {} : { fileNameTemplate: values['file-name'] }),
        logger,
      });
    } catch (error) {
      if (isReceiverError(error) && error.code === 'FS_RCV_INVALID_OPTIONS') {
        throw new UsageError(error.message);
      }
      if (isReceiverError(error)) {
        // A start-up problem a person can fix (busy port, unusable folder): say so, no stack.
        io.stderr.write(`flex-streams receiver: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    io.stdout.write(`${JSON.stringify({ event: 'listening', url: receiver.url })}\n`);
    const signal = await stop;
    logger.info({ signal }, 'stopping: finishing open recordings');
    await receiver.close();
    return 0;
  },
};
