import { twilioSignature } from '@flex-streams/emulator';
import { readFile, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  WAV_HEADER_BYTES,
  readWavHeader,
  startReceiver,
  type Receiver,
  type ReceiverEventMap,
} from '../src/index.js';
import {
  TestStream,
  constantFrame,
  expectEveryWavReadable,
  isSilent,
  readSidecar,
  readWav,
  soxInfo,
  tempDir,
  waitFor,
} from './helpers.js';

/**
 * Acceptance tests written from the outside: what a real Twilio stream may send (twilio-facts §1)
 * that the happy path does not, checked only through the files, events and close codes a user sees.
 */

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let dir: string;
let remove: () => Promise<void>;
let receiver: Receiver;
let stoppedEvents: ReceiverEventMap['streamStopped'][];

async function start(options: Partial<Parameters<typeof startReceiver>[0]> = {}): Promise<void> {
  receiver = await startReceiver({ recordingsDir: dir, flushIntervalMs: 100, ...options });
  stoppedEvents = [];
  receiver.events.on('streamStopped', (e) => stoppedEvents.push(e));
}

async function stopped(stream: TestStream): Promise<ReceiverEventMap['streamStopped']> {
  await waitFor(
    () => stoppedEvents.some((e) => e.streamSid === stream.streamSid),
    'the recording to finish',
  );
  const event = stoppedEvents.find((e) => e.streamSid === stream.streamSid);
  if (event === undefined) throw new Error('unreachable');
  return event;
}

/** Sends `ms` of constant-valued 20 ms frames on `track` from `fromMs`. */
function send(
  stream: TestStream,
  track: 'inbound' | 'outbound',
  value: number,
  fromMs: number,
  ms: number,
): void {
  for (let at = fromMs; at < fromMs + ms; at += 20) stream.media(track, at, constantFrame(value));
}

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});

afterEach(async () => {
  await receiver.close();
  await expectEveryWavReadable(dir);
  await remove();
});

describe('what a real Twilio stream may do', () => {
  beforeEach(async () => {
    await start();
  });

  it('records an outbound_track-only stream as mono with the outbound audio on channel 1', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['outbound'], { streamName: 'what-the-customer-hears' });
    send(stream, 'outbound', 0x22, 0, 400);
    stream.stop();
    const event = await stopped(stream);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({
      tracks: ['outbound'],
      channels: { outbound: 1 },
      framesByTrack: { outbound: 20 },
      durationMs: 400,
      gaps: [],
      endReason: 'stop',
    });
    const wav = await readWav(event.wavPath);
    expect(wav.channels).toBe(1);
    expect(wav.byChannel[0]?.every((b) => b === 0x22)).toBe(true);
    expect(await soxInfo(event.wavPath)).toMatchObject({ channels: 1, samples: 3200 });
  });

  it('keeps a both_tracks recording stereo when one track never sends, and records the silent track as one gap', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound', 'outbound']);
    send(stream, 'inbound', 0x33, 0, 600);
    stream.stop();
    const event = await stopped(stream);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar.framesByTrack).toEqual({ inbound: 30, outbound: 0 });
    expect(sidecar.durationMs).toBe(600);
    expect(sidecar.gaps).toEqual([{ track: 'outbound', atMs: 0, durationMs: 600 }]);
    const wav = await readWav(event.wavPath);
    expect(wav.channels).toBe(2);
    expect(wav.byChannel[0]?.every((b) => b === 0x33)).toBe(true);
    expect(isSilent(wav.byChannel[1] ?? new Uint8Array([0]))).toBe(true);
    expect(await soxInfo(event.wavPath)).toMatchObject({ channels: 2, samples: 4800 });
  });

  it('places audio whose first timestamp is not 0 after leading silence, recorded as a gap', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound']);
    send(stream, 'inbound', 0x44, 140, 200);
    stream.stop();
    const event = await stopped(stream);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar.durationMs).toBe(340);
    expect(sidecar.gaps).toEqual([{ track: 'inbound', atMs: 0, durationMs: 140 }]);
    const channel = (await readWav(event.wavPath)).byChannel[0] ?? new Uint8Array();
    expect(isSilent(channel.subarray(0, 140 * 8))).toBe(true);
    expect(channel.subarray(140 * 8).every((b) => b === 0x44)).toBe(true);
  });

  it('accepts a stop with extra fields, and mark and dtmf events mid-stream, without ending the recording', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound']);
    send(stream, 'inbound', 0x55, 0, 200);
    stream.send({
      event: 'dtmf',
      streamSid: stream.streamSid,
      sequenceNumber: '12',
      dtmf: { track: 'inbound_track', digit: '1' },
    });
    stream.send({
      event: 'mark',
      sequenceNumber: '13',
      streamSid: stream.streamSid,
      mark: { name: 'greeting-played' },
    });
    send(stream, 'inbound', 0x55, 200, 200);
    stream.send({
      event: 'stop',
      sequenceNumber: '24',
      streamSid: stream.streamSid,
      stop: { accountSid: stream.accountSid, callSid: stream.callSid, reason: 'call-ended' },
      extra: { anything: true },
    });
    const event = await stopped(stream);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({
      endReason: 'stop',
      error: null,
      durationMs: 400,
      framesByTrack: { inbound: 20 },
    });
    stream.close();
    expect((await stream.closed).code).toBe(1000);
  });

  it('keeps very long, unicode and path-like custom parameter values intact in the sidecar, with a safe short file name', async () => {
    const longValue = 'x'.repeat(5000);
    const name = 'Agent Zoë/李 ../..\\B\u0000 ☎';
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound'], { streamName: name, note: longValue, emoji: '🎧 é' });
    send(stream, 'inbound', 0x66, 0, 100);
    stream.stop();
    const event = await stopped(stream);
    expect(event.wavPath.startsWith(join(dir, stream.callSid) + '/')).toBe(true);
    const base = event.wavPath.slice(join(dir, stream.callSid).length + 1);
    expect(base).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}\.wav$/);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar.streamName).toBe(name);
    expect(sidecar.customParameters).toEqual({ streamName: name, note: longValue, emoji: '🎧 é' });
    expect(await readdir(dir)).toEqual([stream.callSid]);
  });

  it('accepts a start whose 99 long custom parameters exceed maxMessageBytes, keeping every value', async () => {
    const parameters = Object.fromEntries(
      Array.from({ length: 99 }, (_, i) => [`p${i + 1}`, `${i}:`.padEnd(1000, 'v')]),
    );
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound'], parameters);
    send(stream, 'inbound', 0x67, 0, 100);
    stream.stop();
    const event = await stopped(stream);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({ endReason: 'stop', durationMs: 100 });
    expect(sidecar.customParameters).toEqual(parameters);
  });

  it('records two streams of the same call at once (warm transfer A and B), even with the same name, neither overwritten', async () => {
    const a = await TestStream.connect(receiver.url);
    const b = await TestStream.connect(receiver.url, { callSid: a.callSid });
    a.start(['inbound', 'outbound'], { streamName: 'customer' });
    b.start(['inbound', 'outbound'], { streamName: 'customer' });
    for (let at = 0; at < 600; at += 20) {
      a.media('inbound', at, constantFrame(0x10));
      a.media('outbound', at, constantFrame(0x11));
      b.media('inbound', at, constantFrame(0x20));
      b.media('outbound', at, constantFrame(0x21));
    }
    a.stop();
    b.stop();
    const [ea, eb] = [await stopped(a), await stopped(b)];
    expect(ea.wavPath).not.toBe(eb.wavPath);
    expect(ea.sidecarPath).not.toBe(eb.sidecarPath);
    expect((await readdir(join(dir, a.callSid))).sort()).toEqual([
      'customer-2.json',
      'customer-2.wav',
      'customer.json',
      'customer.wav',
    ]);
    for (const [event, stream, values] of [
      [ea, a, [0x10, 0x11]],
      [eb, b, [0x20, 0x21]],
    ] as const) {
      const sidecar = await readSidecar(event.sidecarPath);
      expect(sidecar.streamSid).toBe(stream.streamSid);
      expect(sidecar.durationMs).toBe(600);
      const wav = await readWav(event.wavPath);
      expect(wav.byChannel[0]?.every((x) => x === values[0])).toBe(true);
      expect(wav.byChannel[1]?.every((x) => x === values[1])).toBe(true);
    }
  });

  it('finishes a stream closed right after start, and one stopped before any media, as valid empty recordings', async () => {
    const closedEarly = await TestStream.connect(receiver.url);
    closedEarly.start(['inbound', 'outbound'], { streamName: 'closed-early' });
    closedEarly.close();
    const stoppedEarly = await TestStream.connect(receiver.url);
    stoppedEarly.start(['inbound'], { streamName: 'stopped-early' });
    stoppedEarly.stop();
    const closed = await readSidecar((await stopped(closedEarly)).sidecarPath);
    expect(closed).toMatchObject({ endReason: 'socket-closed', durationMs: 0, gaps: [] });
    expect(closed.endedAt).toMatch(ISO_8601);
    const early = await stopped(stoppedEarly);
    expect(await readSidecar(early.sidecarPath)).toMatchObject({
      endReason: 'stop',
      durationMs: 0,
    });
    expect(await soxInfo(early.wavPath)).toMatchObject({
      channels: 1,
      sampleRate: 8000,
      samples: 0,
    });
  });

  it('writes every sidecar field the issue names with its exact name and type', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound', 'outbound'], { streamName: 'fields' });
    send(stream, 'inbound', 0x70, 0, 200);
    send(stream, 'outbound', 0x71, 100, 100);
    stream.media('inbound', 180, constantFrame(0x70));
    stream.stop();
    const sidecar = (await readSidecar((await stopped(stream)).sidecarPath)) as unknown as Record<
      string,
      unknown
    >;
    expect(sidecar).toMatchObject({
      streamSid: stream.streamSid,
      callSid: stream.callSid,
      accountSid: stream.accountSid,
      streamName: 'fields',
      tracks: ['inbound', 'outbound'],
      customParameters: { streamName: 'fields' },
      durationMs: 200,
      framesByTrack: { inbound: 11, outbound: 5 },
      gaps: [{ track: 'outbound', atMs: 0, durationMs: 100 }],
      anomalies: { duplicates: 1, outOfOrder: 0, late: 0 },
      endReason: 'stop',
    });
    expect(sidecar.startedAt).toMatch(ISO_8601);
    expect(sidecar.endedAt).toMatch(ISO_8601);
    expect(Date.parse(String(sidecar.endedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(sidecar.startedAt)),
    );
  });
});

describe('crash budget with a silent track', () => {
  it('keeps the playable part of the WAV on disk within one second of the audio received, while the outbound track sends nothing', async () => {
    await start({ flushIntervalMs: 500 });
    const wavPaths: string[] = [];
    receiver.events.on('streamStarted', (e) => wavPaths.push(e.wavPath));
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound', 'outbound']);
    const started = Date.now();
    let sentMs = 0;
    let worstMs = 0;
    while (sentMs < 2500) {
      const due = Math.min(2500, Date.now() - started);
      for (; sentMs + 20 <= due; sentMs += 20) stream.media('inbound', sentMs, constantFrame(0x12));
      const path = wavPaths[0];
      if (path !== undefined && sentMs >= 1200) {
        const header = readWavHeader(await readFile(path));
        // What a SIGKILL now would leave, against what the receiver had at least 100 ms ago
        // (frames still in flight on a loaded machine are not the receiver's to lose).
        const onDiskMs = (header?.dataBytes ?? 0) / 16;
        worstMs = Math.max(worstMs, sentMs - 100 - onDiskMs);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(worstMs).toBeLessThanOrEqual(1000);
    stream.stop();
    const event = await stopped(stream);
    expect((await readSidecar(event.sidecarPath)).durationMs).toBe(2500);
    expect((await readFile(event.wavPath)).length).toBe(WAV_HEADER_BYTES + 2500 * 16);
  });
});

describe('a peer that never closes after stop', () => {
  it('is closed with 1000 after closeAfterStopMs, its recording already complete', async () => {
    await start({ closeAfterStopMs: 300 });
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound']);
    send(stream, 'inbound', 0x31, 0, 100);
    stream.stop();
    expect(await stream.closed).toEqual({ code: 1000, reason: 'stream stopped' });
    expect((await readSidecar((await stopped(stream)).sidecarPath)).endReason).toBe('stop');
  });
});

describe('a client that connects and never sends start', () => {
  it('is closed with 4014 after startTimeoutMs, and no file is created', async () => {
    await start({ startTimeoutMs: 300 });
    const stream = await TestStream.connect(receiver.url);
    stream.connected();
    const closed = await stream.closed;
    expect(closed).toEqual({ code: 4014, reason: 'FS_RCV_START_TIMEOUT' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('signatures against the public URL', () => {
  const authToken = 'a'.repeat(32);

  it('validates against the public URL exactly as given, trailing slash included', async () => {
    const publicUrl = 'wss://recorder.example.com/twilio/media/';
    await start({ authToken, publicUrl });
    const good = await TestStream.connect(receiver.url, {
      headers: { 'X-Twilio-Signature': twilioSignature(authToken, publicUrl, {}) },
    });
    good.close();
    expect((await good.closed).code).toBe(1000);
  });

  it('accepts the public URL with or without its trailing slash, as typed in the TwiML', async () => {
    await start({ authToken, publicUrl: 'wss://recorder.example.com/media' });
    for (const signed of [
      'wss://recorder.example.com/media',
      'wss://recorder.example.com/media/',
    ]) {
      const stream = await TestStream.connect(receiver.url, {
        headers: { 'X-Twilio-Signature': twilioSignature(authToken, signed, {}) },
      });
      stream.close();
      expect((await stream.closed).code, signed).toBe(1000);
    }
  });

  it('without a public URL, accepts the wss:// (what Twilio signs) and ws:// forms of the URL it was reached at, never https://', async () => {
    await start({ authToken });
    const local = receiver.url;
    for (const [url, signed] of [
      [local, local],
      [local, local.replace(/^ws:/, 'wss:')],
      [`${local}/`, `${local.replace(/^ws:/, 'wss:')}/`],
    ] as const) {
      const stream = await TestStream.connect(url, {
        headers: { 'X-Twilio-Signature': twilioSignature(authToken, signed, {}) },
      });
      stream.close();
      expect((await stream.closed).code, signed).toBe(1000);
    }
    await expect(
      TestStream.connect(local, {
        headers: {
          'X-Twilio-Signature': twilioSignature(authToken, local.replace(/^ws:/, 'https:'), {}),
        },
      }),
    ).rejects.toThrow('HTTP 403');
  });

  it('answers 403 to an upgrade whose Host header is no valid URL host, and keeps running', async () => {
    await start({ authToken });
    const { port } = new URL(receiver.url.replace(/^ws:/, 'http:'));
    for (const host of ['[broken', 'a b', '%']) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `GET /media HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
              `X-Twilio-Signature: AAAA\r\n\r\n`,
          );
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('close', () => {
          resolve(text);
        });
        socket.on('error', reject);
      });
      expect(answer.split('\r\n')[0], host).toBe('HTTP/1.1 403 Forbidden');
    }
    const stream = await TestStream.connect(receiver.url, {
      headers: { 'X-Twilio-Signature': twilioSignature(authToken, receiver.url, {}) },
    });
    stream.close();
    expect((await stream.closed).code).toBe(1000);
  });

  it('refuses a signature computed over https:// instead of wss://, or over another host', async () => {
    const publicUrl = 'wss://recorder.example.com/media';
    await start({ authToken, publicUrl });
    for (const signed of [
      'https://recorder.example.com/media',
      'wss://other.example.com/media',
      receiver.url,
    ]) {
      await expect(
        TestStream.connect(receiver.url, {
          headers: { 'X-Twilio-Signature': twilioSignature(authToken, signed, {}) },
        }),
        signed,
      ).rejects.toThrow('HTTP 403');
    }
  });
});

describe('both tracks arriving out of step', () => {
  it('records the whole outbound track when it trails the inbound one by 300 ms in real time', async () => {
    // Default flush interval: a stall of a whole interval on a loaded machine would commit all.
    await start({ flushIntervalMs: 500 });
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound', 'outbound']);
    for (let at = 0; at < 1500; at += 20) {
      stream.media('inbound', at, constantFrame(0x10));
      if (at >= 300) stream.media('outbound', at - 300, constantFrame(0x20));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (let at = 1200; at < 1500; at += 20) stream.media('outbound', at, constantFrame(0x20));
    stream.stop();
    const event = await stopped(stream);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar.anomalies).toMatchObject({ late: 0, duplicates: 0 });
    expect(sidecar.gaps).toEqual([]);
    const wav = await readWav(event.wavPath);
    expect(wav.durationMs).toBe(1500);
    expect(wav.byChannel[0]?.every((b) => b === 0x10)).toBe(true);
    expect(wav.byChannel[1]?.every((b) => b === 0x20)).toBe(true);
  });
});

describe('odd input from a stranger', () => {
  it.each([
    ['null', 4003],
    ['"text"', 4003],
    ['{"event":"__proto__"}', 4004],
    ['{"event":"toString"}', 4004],
    ['{"event":"start","start":null,"sequenceNumber":"1"}', 4003],
    [`${'['.repeat(50_000)}${']'.repeat(50_000)}`, 4003],
    ['{"event":"connected","protocol":"Call","version":"1.0.0"} trailing', 4002],
  ])(
    'closes the socket that sent %s with %i, and the process keeps recording',
    async (raw, code) => {
      await start({ maxMessageBytes: 64 * 1024 });
      const bad = await TestStream.connect(receiver.url);
      bad.sendRaw(raw);
      expect((await bad.closed).code).toBe(code);
      const good = await TestStream.connect(receiver.url);
      good.start(['inbound']);
      send(good, 'inbound', 0x77, 0, 100);
      good.stop();
      expect((await readSidecar((await stopped(good)).sidecarPath)).durationMs).toBe(100);
    },
  );
});
