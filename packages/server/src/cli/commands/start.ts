import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { isFsError } from '@flex-streams/core';
import { startEmulator, type Emulator } from '@flex-streams/emulator';
import { isReceiverError, startReceiver, type Receiver } from '@flex-streams/receiver';
import type { Logger } from 'pino';
import {
  hasTwilioAccount,
  loadServiceConfigWith,
  type Environment,
  type ServiceConfig,
} from '../../config.js';
import {
  CALL_STATUS_PATH,
  CONFERENCE_STATUS_PATH,
  TASKROUTER_EVENTS_PATH,
} from '../../service/app.js';
import { startService, type RunningService } from '../../service/start.js';
import { UsageError, untilStopSignal, type Command } from '../command.js';
import { parseFlags, parsePort, stderrLogger } from '../options.js';

const DEFAULT_EMULATOR_PORT = 4010;
const DEFAULT_RECEIVER_PORT = 4011;
const DEFAULT_CONTROLLER_PORT = 4012;
/** Agents the emulator starts with (Available, in the "Everyone" queue), so a call finds someone. */
const DEMO_AGENTS = ['alice', 'bob'] as const;

const usage = `Usage: flex-streams start [options]

Runs flex-streams: the stream controller (TaskRouter webhooks, Flex plugin API, stream status
callbacks) and the Media Streams receiver, in one process. The receiver records every stream to
DIR/<CallSid>/<stream name>.wav with a JSON sidecar and checks every stream's X-Twilio-Signature.

Without Twilio credentials (TWILIO_ACCOUNT_SID unset) it also starts the local Twilio emulator and
points everything at it. With credentials it runs against Twilio (or TWILIO_API_BASE_URL); the
controller's settings then come from the environment (see .env.example and
packages/server/README.md): FLEX_STREAMS_STREAM_URL is the receiver's public wss:// URL and
FLEX_STREAMS_PUBLIC_URL the controller's public https:// URL.

Prints one JSON line on stdout when ready:
  {"event":"listening","mode":"emulator"|"twilio","controller":{"url"},"receiver":{"url"},
   "recordings":DIR,"emulator":{"url","accountSid","authToken"} (emulator mode only)}
and a short guide on stderr. SIGINT or SIGTERM finishes open recordings and exits 0.

Options:
  --host HOST            interface for every server (default 127.0.0.1)
  --controller-port N    port of the controller service (default ${DEFAULT_CONTROLLER_PORT}, or FLEX_STREAMS_PORT)
  --receiver-port N      port of the stream receiver (default ${DEFAULT_RECEIVER_PORT})
  --emulator-port N      port of the Twilio emulator, emulator mode only (default ${DEFAULT_EMULATOR_PORT})
                         (0 for any port = a free port)
  --recordings DIR       where recordings go (default ./recordings)
  --data-dir DIR         where segments are persisted (default ./data, or FLEX_STREAMS_DATA_DIR)
  --strategy S           rest (default) or twiml
  --leg L                customer (default) or worker
  --log-level LEVEL      pino level for stderr logs (default info)
  -h, --help             show this help`;

/** Asks the OS for a free port: the controller must know its public URL before it listens. */
function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

/** The lines a person reads on stderr: what runs where, and how to play a call into it. */
function guide(
  mode: 'emulator' | 'twilio',
  controllerUrl: string,
  receiverUrl: string,
  recordings: string,
  emulatorUrl: string | null,
): string {
  const lines = [
    '',
    mode === 'emulator'
      ? 'flex-streams is running on the local Twilio emulator (no Twilio credentials configured).'
      : 'flex-streams is running against Twilio.',
    '',
    `  Controller        ${controllerUrl}   (TaskRouter events, plugin API, /healthz, /metrics)`,
    `  Dashboard         ${controllerUrl}/dashboard   (live calls, segments, streams)`,
    `  Stream receiver   ${receiverUrl}`,
    `  Recordings        ${recordings}/<CallSid>/`,
  ];
  if (emulatorUrl !== null) {
    const twiml =
      `<Response><Start><Stream url=\\"${receiverUrl}\\" track=\\"both_tracks\\" name=\\"hello\\">` +
      `<Parameter name=\\"streamName\\" value=\\"hello\\"/></Stream></Start>` +
      `<Say>Hello from the flex-streams emulator</Say><Pause length=\\"2\\"/></Response>`;
    lines.push(
      `  Twilio emulator   ${emulatorUrl}   (REST API 2010-04-01, TaskRouter, control API under /_emulator/)`,
      `  Agents            ${DEMO_AGENTS.join(', ')} (Available; the workspace sends its events to the controller)`,
      `  Hang-ups          the number's call status webhook and Flex's conference callbacks go to the controller`,
      '',
      'Call the contact center: the call is queued, a reservation goes to an agent, and accepting it',
      "(POST /_emulator/reservations/{WR…}/accept with the agent's workerSid, see",
      "packages/emulator/README.md) makes the controller start that agent's stream:",
      '',
      `  curl -s ${emulatorUrl}/_emulator/queued-calls -H 'content-type: application/json' \\`,
      `    -d '{"from":"+15550100001","to":"+15550100002"}'`,
      `  curl -s ${emulatorUrl}/_emulator/taskrouter     # reservations, workers, tasks`,
      '',
      'Or play a call that streams both tracks straight into the receiver for a few seconds',
      '(recorded as <CallSid>/hello.wav):',
      '',
      `  curl -s ${emulatorUrl}/_emulator/calls -H 'content-type: application/json' \\`,
      `    -d '{"from":"+15550100001","to":"+15550100002","twiml":"${twiml}"}'`,
    );
  }
  lines.push('', 'Stop with Ctrl-C; open recordings are finished first.', '');
  return lines.join('\n');
}

/** Loads the service config, turning configuration mistakes into a usage error. */
function serviceConfig(overrides: Environment): ServiceConfig {
  try {
    return loadServiceConfigWith(overrides);
  } catch (error) {
    if (isFsError(error)) throw new UsageError(error.message);
    throw error;
  }
}

/** Closes what was started, newest first, logging (never throwing) each failure. */
async function closeAll(
  logger: Logger,
  parts: readonly (Emulator | Receiver | RunningService | undefined)[],
): Promise<void> {
  for (const part of [...parts].reverse()) {
    if (part === undefined) continue;
    try {
      await part.close();
    } catch (error) {
      logger.error({ err: error }, 'shutting down a component failed');
    }
  }
}

/** `flex-streams start`: the product on this machine. */
export const startCommand: Command = {
  summary: 'Run flex-streams (controller + receiver; on the Twilio emulator without credentials)',
  usage,
  async run(argv, io) {
    const flags = parseFlags(argv, {
      host: { type: 'string' },
      'controller-port': { type: 'string' },
      'receiver-port': { type: 'string' },
      'emulator-port': { type: 'string' },
      recordings: { type: 'string' },
      'data-dir': { type: 'string' },
      strategy: { type: 'string' },
      leg: { type: 'string' },
      'log-level': { type: 'string' },
    });
    const host = flags.host ?? '127.0.0.1';
    const receiverPort = parsePort(
      '--receiver-port',
      flags['receiver-port'],
      DEFAULT_RECEIVER_PORT,
    );
    const emulatorPort = parsePort(
      '--emulator-port',
      flags['emulator-port'],
      DEFAULT_EMULATOR_PORT,
    );
    const controllerPortFlag =
      flags['controller-port'] === undefined
        ? undefined
        : parsePort('--controller-port', flags['controller-port'], DEFAULT_CONTROLLER_PORT);
    const recordings = resolve(flags.recordings ?? 'recordings');
    const logger = stderrLogger(flags['log-level']);
    const mode = hasTwilioAccount() ? 'twilio' : 'emulator';

    // Flags win over the environment; unset flags leave the environment (or defaults) alone.
    const overrides: Record<string, string> = { FLEX_STREAMS_HOST: host };
    if (flags['data-dir'] !== undefined) overrides.FLEX_STREAMS_DATA_DIR = flags['data-dir'];
    if (flags.strategy !== undefined) overrides.FLEX_STREAMS_STRATEGY = flags.strategy;
    if (flags.leg !== undefined) overrides.FLEX_STREAMS_LEG = flags.leg;
    if (flags['log-level'] !== undefined) overrides.FLEX_STREAMS_LOG_LEVEL = flags['log-level'];
    if (controllerPortFlag !== undefined) {
      overrides.FLEX_STREAMS_PORT = String(controllerPortFlag);
    }

    const stop = untilStopSignal();
    let emulator: Emulator | undefined;
    let receiver: Receiver | undefined;
    let service: RunningService | undefined;
    try {
      let config: ServiceConfig;
      if (mode === 'emulator') {
        emulator = await startEmulator({
          host,
          port: emulatorPort,
          logger: logger.child({ component: 'emulator' }),
        });
        receiver = await startReceiver({
          recordingsDir: recordings,
          host,
          port: receiverPort,
          authToken: emulator.authToken,
          logger,
        });
        const wanted = controllerPortFlag ?? DEFAULT_CONTROLLER_PORT;
        const controllerPort = wanted === 0 ? await freePort(host) : wanted;
        config = serviceConfig({
          ...overrides,
          TWILIO_ACCOUNT_SID: emulator.accountSid,
          TWILIO_AUTH_TOKEN: emulator.authToken,
          TWILIO_API_KEY_SID: '',
          TWILIO_API_KEY_SECRET: '',
          TWILIO_API_BASE_URL: emulator.url,
          TWILIO_WORKSPACE_SID: emulator.state().taskrouter.workspace.sid,
          FLEX_STREAMS_STREAM_URL: receiver.url,
          FLEX_STREAMS_PUBLIC_URL: `http://${host}:${controllerPort}`,
          FLEX_STREAMS_PORT: String(controllerPort),
        });
      } else {
        config = serviceConfig(overrides);
        const streamUrl = new URL(config.controller.streamUrl);
        receiver = await startReceiver({
          recordingsDir: recordings,
          host,
          port: receiverPort,
          path: streamUrl.pathname,
          // Twilio signs the wss:// URL it was given: the receiver checks against that one.
          ...(config.twilio.authToken === null
            ? {}
            : { authToken: config.twilio.authToken, publicUrl: config.controller.streamUrl }),
          logger,
        });
      }
      service = await startService(config, {
        logger: logger.child({ component: 'controller' }),
        registry: receiver.registry,
      });
      if (emulator !== undefined) {
        // What an operator does once in the Twilio console: point the workspace's
        // EventCallbackUrl at the controller, and have agents to take calls.
        emulator.taskrouter.updateWorkspace({
          eventCallbackUrl: `${config.publicUrl}${TASKROUTER_EVENTS_PATH}`,
        });
        // And what the README's "Call end" asks: the number's call status webhook, and the
        // conference status callback the Flex plugin sets on every accept.
        emulator.updateSettings({
          inboundStatusCallback: `${config.publicUrl}${CALL_STATUS_PATH}`,
          flexConferenceStatusCallback: `${config.publicUrl}${CONFERENCE_STATUS_PATH}`,
          flexConferenceStatusCallbackEvent: ['join', 'leave', 'end'],
        });
        for (const friendlyName of DEMO_AGENTS) {
          emulator.taskrouter.createWorker({ friendlyName, activity: 'Available' });
        }
      }
    } catch (error) {
      await closeAll(logger, [emulator, receiver, service]);
      if (isReceiverError(error) && error.code === 'FS_RCV_INVALID_OPTIONS') {
        throw new UsageError(error.message);
      }
      throw error;
    }

    io.stdout.write(
      `${JSON.stringify({
        event: 'listening',
        mode,
        controller: { url: service.url },
        receiver: { url: receiver.url },
        recordings,
        ...(emulator === undefined
          ? {}
          : {
              emulator: {
                url: emulator.url,
                accountSid: emulator.accountSid,
                authToken: emulator.authToken,
              },
            }),
      })}\n`,
    );
    io.stderr.write(guide(mode, service.url, receiver.url, recordings, emulator?.url ?? null));

    const signal = await stop;
    logger.info({ signal }, 'stopping: controller first, then calls, then open recordings');
    // The controller stops taking events; the emulator's close sends `stop` on every stream, so
    // recordings end cleanly; the receiver finishes whatever is still open.
    await closeAll(logger, [receiver, emulator, service]);
    return 0;
  },
};
