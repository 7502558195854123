import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { emulatorHttpClient } from '@flex-streams/emulator';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/flex-streams.mjs', import.meta.url));

type Child = ChildProcessByStdio<null, Readable, Readable>;
const children: Child[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Spawns the real executable, as `npx flex-streams emulator` would. */
function spawnCli(args: string[]): {
  child: Child;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [bin, 'emulator', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code);
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function firstLine(read: () => string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!read().includes('\n')) {
    if (Date.now() > deadline) throw new Error(`no JSON line on stdout within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return read().split('\n')[0] ?? '';
}

describe('flex-streams emulator', () => {
  it('prints one listening line, serves the SDK, and exits 0 on SIGTERM', async () => {
    const run = spawnCli(['--port', '0', '--host', '127.0.0.1']);
    const ready = JSON.parse(await firstLine(run.stdout)) as {
      event: string;
      url: string;
      accountSid: string;
      authToken: string;
    };
    expect(Object.keys(ready)).toEqual(['event', 'url', 'accountSid', 'authToken']);
    expect(ready.event).toBe('listening');
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(ready.authToken).toMatch(/^[0-9a-f]{32}$/);

    const client = twilio(ready.accountSid, ready.authToken, {
      httpClient: emulatorHttpClient(ready.url),
    });
    const call = await client.calls.create({
      to: '+15550001',
      from: '+15550002',
      twiml: '<Response><Pause length="5"/></Response>',
    });
    expect((await client.calls(call.sid).fetch()).sid).toBe(call.sid);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stdout().trim().split('\n')).toHaveLength(1);
    expect(run.stderr()).toContain('emulator listening');
  });

  it('rejects an unknown flag or a bad port with a usage error and exit code 2', async () => {
    const unknown = spawnCli(['--colour', 'red']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stdout()).toBe('');
    expect(unknown.stderr()).toContain('Usage: flex-streams emulator');
    const badPort = spawnCli(['--port', 'eighty']);
    expect(await badPort.exit).toBe(2);
    expect(badPort.stderr()).toContain('--port must be an integer');
    const badCallback = spawnCli(['--call-status-callback', 'ftp://x.example.com/status']);
    expect(await badCallback.exit).toBe(2);
    expect(badCallback.stderr()).toContain('--call-status-callback must be an absolute http');
  });

  it('sets the call-end callbacks a controller needs from its flags', async () => {
    const run = spawnCli([
      '--port',
      '0',
      '--call-status-callback',
      'http://127.0.0.1:9/v1/calls/status',
      '--conference-status-callback',
      'http://127.0.0.1:9/v1/conferences/status',
    ]);
    const ready = JSON.parse(await firstLine(run.stdout)) as { url: string };
    const settings = (await (await fetch(`${ready.url}/_emulator/settings`)).json()) as Record<
      string,
      unknown
    >;
    expect(settings).toMatchObject({
      inboundStatusCallback: 'http://127.0.0.1:9/v1/calls/status',
      flexConferenceStatusCallback: 'http://127.0.0.1:9/v1/conferences/status',
      flexConferenceStatusCallbackEvent: ['join', 'leave', 'end'],
    });
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });
});
