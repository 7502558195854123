import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { startEmulator, type Emulator } from '@flex-streams/emulator';
import {
  WAV_HEADER_BYTES,
  readWavHeader,
  startReceiver,
  type Receiver,
  type StreamStoppedEvent,
} from '../src/index.js';
import type { Sidecar } from '../src/index.js';

/** A Twilio-shaped SID: two letters and 32 hex digits. */
export function sid(prefix: 'AC' | 'CA' | 'MZ'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** A fresh temporary folder and the function that removes it. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fs-receiver-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `condition` until it holds or `timeoutMs` passes (no fixed sleeps in tests). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `bytes` µ-law samples of one value: content a test can check byte for byte. */
export function constantFrame(value: number, ms = 20): Uint8Array {
  return new Uint8Array(ms * 8).fill(value);
}

/**
 * A hand-written Media Streams client: sends exactly what a test tells it to, well-formed or not,
 * in the shapes of twilio-facts §1.
 */
export class TestStream {
  readonly accountSid = sid('AC');
  readonly callSid: string;
  readonly streamSid = sid('MZ');
  readonly closed: Promise<{ code: number; reason: string }>;
  private sequence = 0;
  private readonly chunks = { inbound: 0, outbound: 0 };

  private constructor(
    readonly ws: WebSocket,
    callSid?: string,
  ) {
    this.callSid = callSid ?? sid('CA');
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  /** Opens a socket to `url` (optionally with headers, e.g. X-Twilio-Signature). */
  static async connect(
    url: string,
    options: { headers?: Record<string, string>; callSid?: string } = {},
  ): Promise<TestStream> {
    const ws = new WebSocket(url, { headers: options.headers ?? {} });
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`upgrade refused with HTTP ${res.statusCode ?? 0}`));
      });
      ws.once('error', reject);
    });
    return new TestStream(ws, options.callSid);
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  connected(): void {
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  }

  start(
    tracks: readonly ('inbound' | 'outbound')[] = ['inbound', 'outbound'],
    customParameters: Record<string, string> = {},
  ): void {
    this.connected();
    this.send({
      event: 'start',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      start: {
        accountSid: this.accountSid,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks,
        customParameters,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
  }

  media(track: 'inbound' | 'outbound', timestampMs: number, payload: Uint8Array): void {
    this.send({
      event: 'media',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      media: {
        track,
        chunk: String(++this.chunks[track]),
        timestamp: String(timestampMs),
        payload: Buffer.from(payload).toString('base64'),
      },
    });
  }

  stop(): void {
    this.send({
      event: 'stop',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      stop: { accountSid: this.accountSid, callSid: this.callSid },
    });
  }

  close(): void {
    this.ws.close(1000);
  }
}

/** A WAV the receiver wrote, split into its channels (raw µ-law bytes). */
export interface WavContent {
  readonly channels: 1 | 2;
  readonly byChannel: Uint8Array[];
  readonly durationMs: number;
}

/** Reads a recording and de-interleaves it. Throws if it is not in the receiver's layout. */
export async function readWav(path: string): Promise<WavContent> {
  const file = await readFile(path);
  const header = readWavHeader(file);
  if (header === null) throw new Error(`${path} is not a receiver WAV`);
  const data = file.subarray(WAV_HEADER_BYTES, WAV_HEADER_BYTES + header.dataBytes);
  const frames = Math.floor(data.length / header.channels);
  const byChannel = Array.from({ length: header.channels }, () => new Uint8Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < header.channels; c++) {
      const channel = byChannel[c];
      if (channel !== undefined) channel[i] = data[i * header.channels + c] ?? 0;
    }
  }
  return { channels: header.channels, byChannel, durationMs: frames / 8 };
}

/** What `sox --info` says about a file. */
export interface SoxInfo {
  readonly channels: number;
  readonly sampleRate: number;
  readonly samples: number;
  readonly encoding: string;
}

/** Runs Debian's `sox --info` on `path` (fails the test if sox cannot read it). */
export async function soxInfo(path: string): Promise<SoxInfo> {
  const { stdout } = await promisify(execFile)('sox', ['--info', path]);
  const field = (name: string): string => {
    const match = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(stdout);
    if (match?.[1] === undefined) throw new Error(`sox --info printed no ${name}:\n${stdout}`);
    return match[1].trim();
  };
  // sox prints no Duration line for an empty file (header only).
  const samples = /^Duration\s*:.*=\s*(\d+)\s+samples/m.exec(stdout)?.[1] ?? '0';
  return {
    channels: Number(field('Channels')),
    sampleRate: Number(field('Sample Rate')),
    samples: Number(samples),
    encoding: field('Sample Encoding'),
  };
}

/** Reads a sidecar. */
export async function readSidecar(path: string): Promise<Sidecar> {
  return JSON.parse(await readFile(path, 'utf8')) as Sidecar;
}

/** True when every byte of `bytes` is µ-law silence. */
export function isSilent(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0xff);
}

/**
 * Every WAV under `recordingsDir` (`<CallSid>/<name>.wav`) is read by `sox --info` with 8000 Hz,
 * the channels its sidecar announces, and exactly the sidecar's length. Returns how many it read.
 */
export async function expectEveryWavReadable(recordingsDir: string): Promise<number> {
  let count = 0;
  for (const call of await readdir(recordingsDir, { withFileTypes: true })) {
    if (!call.isDirectory()) continue;
    const folder = join(recordingsDir, call.name);
    for (const name of await readdir(folder)) {
      if (!name.endsWith('.wav')) continue;
      const wavPath = join(folder, name);
      const sidecar = await readSidecar(wavPath.replace(/\.wav$/, '.json'));
      const info = await soxInfo(wavPath);
      expect(info, wavPath).toMatchObject({
        sampleRate: 8000,
        channels: sidecar.tracks.length,
        samples: Math.round(sidecar.durationMs * 8),
      });
      count++;
    }
  }
  return count;
}

/** A receiver recording into a temp dir, fed by an emulator that signs every upgrade. */
export interface EmulatorWorld {
  dir: string;
  remove: () => Promise<void>;
  emulator: Emulator;
  receiver: Receiver;
  /** Every `streamStopped` event, in order. */
  stopped: StreamStoppedEvent[];
}

/** Starts an {@link EmulatorWorld}: signatures on, as Twilio signs every upgrade. */
export async function openEmulatorWorld(): Promise<EmulatorWorld> {
  const { dir, remove } = await tempDir();
  const emulator = await startEmulator();
  const receiver = await startReceiver({
    recordingsDir: dir,
    authToken: emulator.authToken,
    flushIntervalMs: 200,
  });
  const stopped: StreamStoppedEvent[] = [];
  receiver.events.on('streamStopped', (e) => stopped.push(e));
  return { dir, remove, emulator, receiver, stopped };
}

/** Stops the calls, finishes the recordings, checks every WAV with sox, removes the temp dir. */
export async function closeEmulatorWorld(world: EmulatorWorld): Promise<void> {
  await world.emulator.close();
  await world.receiver.close();
  await expectEveryWavReadable(world.dir);
  await world.remove();
}
