import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { startEmulator } from '@flex-streams/emulator';
import { afterEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/flex-streams.mjs', import.meta.url));

interface Listening {
  event: 'listening';
  mode: 'emulator' | 'twilio';
  controller: { url: string };
  emulator: { url: string; accountSid: string; authToken: string };
  receiver: { url: string };
  recordings: string;
}

type Child = ChildProcessByStdio<null, Readable, Readable>;
const children: Child[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * Spawns `flex-streams start ARGS` with `env` on top of this process's environment (Twilio
 * credentials unset unless `env` sets them) and resolves with its JSON line.
 */
async function start(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: Child; listening: Listening; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TWILIO_ACCOUNT_SID: '', ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    child.on('exit', (code) => {
      reject(new Error(`start exited with ${String(code)} before listening:\n${stderr}`));
    });
  });
  return { child, listening: JSON.parse(line) as Listening, stderr: () => stderr };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('flex-streams start', () => {
  it('runs controller, receiver and emulator: a played call and a Flex call are recorded, SIGTERM exits 0', async () => {
    const recordings = await mkdtemp(join(tmpdir(), 'fs-start-'));
    const data = await mkdtemp(join(tmpdir(), 'fs-start-data-'));
    dirs.push(recordings, data);
    const { child, listening, stderr } = await start([
      ...['--emulator-port', '0', '--receiver-port', '0', '--controller-port', '0'],
      ...['--recordings', recordings, '--data-dir', data],
    ]);
    expect(listening.mode).toBe('emulator');
    expect(listening.emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The controller runs too, on the emulator, sharing the receiver's metrics registry.
    const health = await fetch(`${listening.controller.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${listening.controller.url}/metrics`)).text();
    expect(metrics).toMatch(/flex_streams_controller_/);
    expect(metrics).toMatch(/receiver/);
    expect(listening.emulator.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(listening.receiver.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/media$/);
    expect(listening.recordings).toBe(recordings);
    // The guide for a person arrives on stderr (a separate pipe, so possibly a moment later).
    await waitFor('the guide on stderr', () =>
      Promise.resolve(stderr().includes('/_emulator/calls') ? true : undefined),
    );

    // Play a call the way the guide on stderr says, with the receiver URL it printed.
    const twiml =
      `<Response><Start><Stream url="${listening.receiver.url}" track="both_tracks" name="hello"/></Start>` +
      '<Pause length="1"/></Response>';
    const placed = await fetch(`${listening.emulator.url}/_emulator/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: '+15550100001', to: '+15550100002', twiml }),
    });
    expect(placed.status).toBe(201);
    const { callSid } = (await placed.json()) as { callSid: string };

    // The call ends after its pause; the stream stops with it and the sidecar is written.
    const sidecar = await waitFor('the recording sidecar', async () => {
      const files = await readdir(join(recordings, callSid)).catch(() => []);
      const json = files.find((f) => f.endsWith('.json'));
      if (json === undefined) return undefined;
      const parsed = JSON.parse(await readFile(join(recordings, callSid, json), 'utf8')) as {
        endReason: string | null;
        callSid: string;
        tracks: string[];
        durationMs: number;
      };
      return parsed.endReason === null ? undefined : parsed; // written as null while recording
    });
    expect(sidecar.callSid).toBe(callSid);
    expect(sidecar.endReason).toBe('stop');
    expect(sidecar.tracks).toEqual(['inbound', 'outbound']);
    expect(sidecar.durationMs).toBeGreaterThan(800);
    const files = await readdir(join(recordings, callSid));
    expect(files.some((f) => f.endsWith('.wav'))).toBe(true);

    // The product path: a customer calls the contact center, alice accepts, and the controller —
    // told by the workspace's event callback — starts her stream; wrap-up stops it.
    const control = async (path: string, body?: unknown): Promise<unknown> => {
      const response = await fetch(`${listening.emulator.url}/_emulator/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(response.ok, `${path}: ${response.status} ${await response.clone().text()}`).toBe(
        true,
      );
      return response.json();
    };
    interface TaskRouterView {
      workers: { sid: string; friendlyName: string }[];
      reservations: { sid: string; workerSid: string; status: string }[];
    }
    const queued = (await control('queued-calls', {
      from: '+15550100003',
      to: '+15550100004',
    })) as {
      callSid: string;
    };
    const alice = ((await control('taskrouter')) as TaskRouterView).workers.find(
      (w) => w.friendlyName === 'alice',
    );
    expect(alice).toBeDefined();
    const reservation = await waitFor('a reservation for alice', async () =>
      ((await control('taskrouter')) as TaskRouterView).reservations.find(
        (r) => r.workerSid === alice?.sid && r.status === 'pending',
      ),
    );
    await control(`reservations/${reservation.sid}/accept`, { workerSid: alice?.sid });
    const streamName = `fs-${reservation.sid}-0`;
    interface StreamView {
      name: string | null;
      callSid: string;
      status: string;
    }
    const streamOf = async (): Promise<StreamView | undefined> =>
      ((await control('state')) as { streams: StreamView[] }).streams.find(
        (st) => st.name === streamName,
      );
    const started = await waitFor("the controller to start alice's stream", async () => {
      const stream = await streamOf();
      return stream?.status === 'in-progress' ? stream : undefined;
    });
    expect(started.callSid).toBe(queued.callSid);
    await control(`reservations/${reservation.sid}/wrapup`, { workerSid: alice?.sid });
    await waitFor("the controller to stop alice's stream", async () =>
      (await streamOf())?.status === 'stopped' ? true : undefined,
    );
    const recorded = await waitFor("alice's recording", async () => {
      const files = await readdir(join(recordings, queued.callSid)).catch((): string[] => []);
      // The WAV is created when the stream starts; the sidecar is complete once it has ended.
      return files.includes(`${streamName}.wav`) && files.includes(`${streamName}.json`)
        ? files
        : undefined;
    });
    expect(recorded).toContain(`${streamName}.json`);

    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('with credentials, runs against that Twilio (here an emulator at TWILIO_API_BASE_URL)', async () => {
    // A Twilio stand-in started on its own: `start` must not start an emulator of its own, and must
    // take everything from the environment, as it would against real Twilio.
    const twilioStandIn = await startEmulator();
    const recordings = await mkdtemp(join(tmpdir(), 'fs-start-'));
    const data = await mkdtemp(join(tmpdir(), 'fs-start-data-'));
    dirs.push(recordings, data);
    const receiverPort = await freePort();
    const streamUrl = `ws://127.0.0.1:${receiverPort}/media`;
    try {
      const { child, listening } = await start(
        [
          '--receiver-port',
          String(receiverPort),
          '--controller-port',
          '0',
          '--recordings',
          recordings,
        ],
        {
          TWILIO_ACCOUNT_SID: twilioStandIn.accountSid,
          TWILIO_AUTH_TOKEN: twilioStandIn.authToken,
          TWILIO_API_BASE_URL: twilioStandIn.url,
          FLEX_STREAMS_STREAM_URL: streamUrl,
          FLEX_STREAMS_PUBLIC_URL: 'http://127.0.0.1:1',
          FLEX_STREAMS_DATA_DIR: data,
          FLEX_STREAMS_LOG_LEVEL: 'warn',
        },
      );
      expect(listening.mode).toBe('twilio');
      expect(listening).not.toHaveProperty('emulator');
      expect(listening.receiver.url).toBe(streamUrl);
      expect((await fetch(`${listening.controller.url}/healthz`)).status).toBe(200);
      // The receiver checks signatures with the account's auth token: the stand-in's signed stream
      // is recorded under the stream's name.
      const { callSid } = await twilioStandIn.placeInboundCall({
        from: '+15550100001',
        to: '+15550100002',
        twiml:
          `<Response><Start><Stream url="${streamUrl}" name="signed"><Parameter name="streamName" value="signed"/></Stream></Start>` +
          '<Pause length="1"/></Response>',
      });
      await waitFor('the signed stream recording', async () => {
        const files = await readdir(join(recordings, callSid)).catch((): string[] => []);
        return files.includes('signed.wav') ? true : undefined;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await twilioStandIn.close();
    }
  });

  it('with credentials, refuses an incomplete configuration listing every problem (exit 2)', async () => {
    const child = spawn(process.execPath, [bin, 'start', '--receiver-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TWILIO_ACCOUNT_SID: 'not-a-sid', FLEX_STREAMS_STREAM_URL: '' },
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('TWILIO_ACCOUNT_SID');
    expect(stderr).toContain('FLEX_STREAMS_STREAM_URL');
    expect(stderr).toContain('FLEX_STREAMS_PUBLIC_URL');
  });

  it('refuses a bad port with a usage error (exit 2) and prints nothing on stdout', async () => {
    const child = spawn(process.execPath, [bin, 'start', '--emulator-port', 'x'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain("--emulator-port must be an integer from 0 to 65535, not 'x'");
  });
});
