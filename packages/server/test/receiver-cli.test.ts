import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { twilioSignature } from '@flex-streams/emulator';
import { WAV_HEADER_BYTES, readWavHeader } from '@flex-streams/receiver';
import {
  TestStream,
  constantFrame,
  readSidecar,
  soxInfo,
  tempDir,
  waitFor,
} from '../../receiver/test/helpers.js';

const bin = fileURLToPath(new URL('../bin/flex-streams.mjs', import.meta.url));

interface RunningCli {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `flex-streams receiver …` and resolves once it printed its listening line. */
async function startCli(args: string[]): Promise<RunningCli> {
  const child = spawn(process.execPath, [bin, 'receiver', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  await waitFor(
    () => stdout.includes('\n') || child.exitCode !== null,
    'the listening line',
    20_000,
  );
  const line = JSON.parse(stdout.split('\n')[0] ?? '') as { event: string; url: string };
  expect(line.event).toBe('listening');
  return { child, url: line.url, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs the CLI to completion. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'receiver', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let remove: () => Promise<void>;
const running: RunningCli[] = [];

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  }
  await remove();
});

describe('flex-streams receiver', () => {
  it.each([
    [['--recordings', 'x', '--bogus'], "Unknown option '--bogus'"],
    [[], '--recordings DIR is required'],
    [['--recordings', 'x', '--port', 'abc'], '--port must be an integer'],
    [['--recordings', 'x', 'extra'], 'positional'],
    [['--recordings', 'x', '--public-url', 'wss://x.example.com/media'], 'give authToken too'],
  ])('rejects %j with a usage error, exit 2, nothing on stdout', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage: flex-streams receiver');
  });

  it('explains a busy port and an unusable recordings folder in one line, exit 1, nothing on stdout', async () => {
    const busy = await startCli(['--recordings', dir]);
    running.push(busy);
    const port = new URL(busy.url.replace('ws:', 'http:')).port;
    const taken = await runCli(['--recordings', join(dir, 'other'), '--port', port]);
    expect(taken).toMatchObject({ code: 1, stdout: '' });
    expect(taken.stderr).toContain('FS_RCV_LISTEN_FAILED');
    expect(taken.stderr).toContain('EADDRINUSE');
    expect(taken.stderr).not.toContain('    at ');
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const notDir = await runCli(['--recordings', file]);
    expect(notDir).toMatchObject({ code: 1, stdout: '' });
    expect(notDir.stderr).toContain('FS_RCV_RECORDINGS_DIR_UNUSABLE');
    expect(notDir.stderr).not.toContain('    at ');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'prints exactly one JSON line, records a stream, and on %s finishes the open recording and exits 0',
    async (signal) => {
      const cli = await startCli([
        '--recordings',
        dir,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--metrics-path',
        '/metrics',
        '--file-name',
        '{streamName}-{leg}',
      ]);
      running.push(cli);
      expect(cli.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/media$/);
      const stream = await TestStream.connect(cli.url);
      stream.start(['inbound', 'outbound'], { streamName: 'sigterm', leg: 'customer' });
      for (let at = 0; at < 1000; at += 20) {
        stream.media('inbound', at, constantFrame(0x12));
        stream.media('outbound', at, constantFrame(0x34));
      }
      const wavPath = join(dir, stream.callSid, 'sigterm-customer.wav');
      await waitFor(
        async () => (await stat(wavPath).catch(() => null)) !== null,
        'the recording file',
      );
      cli.child.kill(signal);
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect((await stream.closed).code).toBe(1001);
      expect(cli.stdout()).toBe(`${JSON.stringify({ event: 'listening', url: cli.url })}\n`);
      expect(cli.stderr()).toContain('"msg":"recording finished"');
      const sidecar = await readSidecar(join(dir, stream.callSid, 'sigterm-customer.json'));
      expect(sidecar).toMatchObject({ endReason: 'socket-closed', durationMs: 1000 });
      expect(await soxInfo(wavPath)).toMatchObject({
        channels: 2,
        sampleRate: 8000,
        samples: 8000,
      });
    },
  );

  it('after SIGKILL mid-stream the WAV is playable, lost at most one second, and is repaired on the next start', async () => {
    const cli = await startCli(['--recordings', dir, '--metrics-path', '/metrics']);
    running.push(cli);
    const stream = await TestStream.connect(cli.url);
    stream.start(['inbound', 'outbound'], { streamName: 'killed' });
    // Real-time pacing, as Twilio sends: every frame whose time has come, 2.5 s in all.
    const started = Date.now();
    let sentMs = 0;
    while (sentMs < 2500) {
      const due = Math.min(2500, Date.now() - started);
      for (; sentMs + 20 <= due; sentMs += 20) {
        stream.media('inbound', sentMs, constantFrame(0x12));
        stream.media('outbound', sentMs, constantFrame(0x34));
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The receiver has every frame before the kill (its own counter says so): what it may lose
    // is then only what its flush policy has not written yet.
    const metricsUrl = cli.url.replace('ws://', 'http://').replace('/media', '/metrics');
    const received = `flex_streams_receiver_frames_total{track="outbound"} ${sentMs / 20}\n`;
    await waitFor(
      async () => (await (await fetch(metricsUrl)).text()).includes(received),
      'the receiver to count every frame',
    );
    cli.child.kill('SIGKILL');
    expect((await cli.exited).signal).toBe('SIGKILL');

    const wavPath = join(dir, stream.callSid, 'killed.wav');
    const sidecarPath = join(dir, stream.callSid, 'killed.json');
    const info = await soxInfo(wavPath);
    expect(info).toMatchObject({ channels: 2, sampleRate: 8000 });
    const keptMs = info.samples / 8;
    expect(keptMs).toBeGreaterThanOrEqual(sentMs - 1000);
    expect(keptMs).toBeLessThanOrEqual(sentMs);
    expect((await readSidecar(sidecarPath)).endedAt).toBeNull();

    const next = await startCli(['--recordings', dir]);
    running.push(next);
    expect(next.stderr()).toContain('repaired a recording left unfinished');
    const file = await readFile(wavPath);
    const header = readWavHeader(file);
    expect(header?.dataBytes).toBe(file.length - WAV_HEADER_BYTES);
    const sidecar = await readSidecar(sidecarPath);
    expect(sidecar).toMatchObject({
      endReason: 'error',
      error: { code: 'FS_RCV_UNCLEAN_SHUTDOWN' },
    });
    expect(sidecar.durationMs).toBe((await soxInfo(wavPath)).samples / 8);
    expect(sidecar.notes.join(' ')).toContain('Repaired on start');
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  });

  it('with --auth-token and a --public-url typed with a trailing slash, accepts Twilio-signed streams, refuses an https:// signature, and on SIGTERM finishes every open stream', async () => {
    const token = 'c'.repeat(32);
    const cli = await startCli([
      '--recordings',
      dir,
      '--auth-token',
      token,
      '--public-url',
      'wss://recorder.example.com/media/',
    ]);
    running.push(cli);
    const signed = (url: string) => ({
      headers: { 'X-Twilio-Signature': twilioSignature(token, url, {}) },
    });
    await expect(
      TestStream.connect(cli.url, signed('https://recorder.example.com/media/')),
    ).rejects.toThrow('HTTP 403');
    const a = await TestStream.connect(cli.url, signed('wss://recorder.example.com/media/'));
    const b = await TestStream.connect(cli.url, {
      ...signed('wss://recorder.example.com/media'),
      callSid: a.callSid,
    });
    const idle = await TestStream.connect(cli.url, signed('wss://recorder.example.com/media'));
    idle.connected();
    a.start(['inbound', 'outbound'], { streamName: 'agent-A' });
    b.start(['inbound'], { streamName: 'agent-B' });
    for (let at = 0; at < 600; at += 20) {
      a.media('inbound', at, constantFrame(0x12));
      a.media('outbound', at, constantFrame(0x34));
      b.media('inbound', at, constantFrame(0x56));
    }
    const folder = join(dir, a.callSid);
    await waitFor(
      async () =>
        (await stat(join(folder, 'agent-A.json')).catch(() => null)) !== null &&
        (await stat(join(folder, 'agent-B.json')).catch(() => null)) !== null,
      'both recordings to open',
    );
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect((await idle.closed).code).toBe(1001);
    expect(await readSidecar(join(folder, 'agent-A.json'))).toMatchObject({
      endReason: 'socket-closed',
      durationMs: 600,
      tracks: ['inbound', 'outbound'],
    });
    expect(await readSidecar(join(folder, 'agent-B.json'))).toMatchObject({
      endReason: 'socket-closed',
      durationMs: 600,
      tracks: ['inbound'],
    });
    expect(await soxInfo(join(folder, 'agent-A.wav'))).toMatchObject({
      channels: 2,
      samples: 4800,
    });
    expect(await soxInfo(join(folder, 'agent-B.wav'))).toMatchObject({
      channels: 1,
      samples: 4800,
    });
    expect(cli.stdout()).toBe(`${JSON.stringify({ event: 'listening', url: cli.url })}\n`);
  });
});
