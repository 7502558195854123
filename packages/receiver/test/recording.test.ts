import { decodeMulaw, detectTones, partyVoice, synthesizeMulaw } from '@flex-streams/emulator';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startReceiver, type Receiver, type ReceiverEventMap } from '../src/index.js';
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

const customer = partyVoice(0);
const agent = partyVoice(1);
const candidates = [customer.frequencyHz, agent.frequencyHz];

let dir: string;
let remove: () => Promise<void>;
let receiver: Receiver;
let registry: Registry;
let seen: { [K in keyof ReceiverEventMap]: ReceiverEventMap[K][] };

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  registry = new Registry();
  receiver = await startReceiver({ recordingsDir: dir, registry, flushIntervalMs: 100 });
  seen = { streamStarted: [], streamStopped: [], level: [], anomaly: [], rejected: [] };
  for (const type of Object.keys(seen) as (keyof ReceiverEventMap)[]) {
    receiver.events.on(type, (event) => {
      (seen[type] as unknown[]).push(event);
    });
  }
});

afterEach(async () => {
  await receiver.close();
  await expectEveryWavReadable(dir);
  await remove();
});

/** Sends `ms` of a tone on `track` as 20 ms frames starting at `fromMs`, skipping `skip`. */
function sendTone(
  stream: TestStream,
  track: 'inbound' | 'outbound',
  tone: { frequencyHz: number; gain: number },
  fromMs: number,
  ms: number,
  skip: (atMs: number) => boolean = () => false,
): void {
  for (let at = fromMs; at < fromMs + ms; at += 20) {
    if (skip(at)) continue;
    stream.media(track, at, synthesizeMulaw([tone], 20, at * 8));
  }
}

async function stopped(stream: TestStream): Promise<ReceiverEventMap['streamStopped']> {
  await waitFor(
    () => seen.streamStopped.some((e) => e.streamSid === stream.streamSid),
    'the recording to finish',
  );
  const event = seen.streamStopped.find((e) => e.streamSid === stream.streamSid);
  if (event === undefined) throw new Error('unreachable');
  return event;
}

describe('recording a stream', () => {
  it('writes a stereo WAV: inbound on channel 1, outbound on channel 2, gaps silent, sidecar complete', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound', 'outbound'], { streamName: 'agent-A segment 1', segment: '1' });
    // 2 s of both tracks; the outbound track starts 200 ms late and skips 400 ms at 1000 ms.
    sendTone(stream, 'inbound', customer, 0, 2000);
    sendTone(stream, 'outbound', agent, 200, 1800, (at) => at >= 1000 && at < 1400);
    stream.stop();
    const event = await stopped(stream);

    expect(event.endReason).toBe('stop');
    expect(event.wavPath).toBe(join(dir, stream.callSid, 'agent-A_segment_1.wav'));
    const info = await soxInfo(event.wavPath);
    expect(info).toMatchObject({ channels: 2, sampleRate: 8000, samples: 16000 });
    expect(info.encoding).toContain('u-law');

    const wav = await readWav(event.wavPath);
    expect(Math.abs(wav.durationMs - 2000)).toBeLessThanOrEqual(40);
    const [inbound, outbound] = wav.byChannel;
    if (inbound === undefined || outbound === undefined) throw new Error('expected two channels');
    const window = (c: Uint8Array, fromMs: number, toMs: number): Int16Array =>
      decodeMulaw(c.subarray(fromMs * 8, toMs * 8));
    expect(detectTones(window(inbound, 0, 2000), candidates)).toEqual([customer.frequencyHz]);
    expect(detectTones(window(outbound, 200, 1000), candidates)).toEqual([agent.frequencyHz]);
    expect(detectTones(window(outbound, 1400, 2000), candidates)).toEqual([agent.frequencyHz]);
    // Silence exactly where the outbound audio was missing, not a sample more or less.
    expect(isSilent(outbound.subarray(0, 200 * 8))).toBe(true);
    expect(isSilent(outbound.subarray(1000 * 8, 1400 * 8))).toBe(true);
    expect(outbound[200 * 8 - 1]).toBe(0xff);
    expect(isSilent(outbound.subarray(1400 * 8 - 1, 1400 * 8 + 160))).toBe(false);

    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({
      streamSid: stream.streamSid,
      callSid: stream.callSid,
      accountSid: stream.accountSid,
      streamName: 'agent-A segment 1',
      tracks: ['inbound', 'outbound'],
      channels: { inbound: 1, outbound: 2 },
      customParameters: { streamName: 'agent-A segment 1', segment: '1' },
      wav: 'agent-A_segment_1.wav',
      durationMs: 2000,
      framesByTrack: { inbound: 100, outbound: 70 },
      endReason: 'stop',
      error: null,
      anomalies: { duplicates: 0, outOfOrder: 0, late: 0, overlaps: 0, overflows: [] },
    });
    expect(sidecar.gaps).toEqual([
      { track: 'outbound', atMs: 0, durationMs: 200 },
      { track: 'outbound', atMs: 1000, durationMs: 400 },
    ]);
    expect(Date.parse(sidecar.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(sidecar.startedAt));
    expect(sidecar.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Events: started, gaps as anomalies, one level per track per second.
    expect(seen.streamStarted.map((e) => e.streamSid)).toEqual([stream.streamSid]);
    expect(seen.anomaly.filter((a) => a.kind === 'gap')).toHaveLength(2);
    const levels = seen.level.map((l) => `${l.track}:${l.second}`).sort();
    expect(levels).toEqual(['inbound:0', 'inbound:1', 'outbound:0', 'outbound:1']);
    const inboundLevel = seen.level.find((l) => l.track === 'inbound');
    // A sine of amplitude g has an RMS of g/√2: 20·log10(g/√2) dBFS, give or take µ-law.
    const expectedDbfs = 20 * Math.log10(customer.gain / Math.SQRT2);
    expect(Math.abs((inboundLevel?.rmsDbfs ?? 0) - expectedDbfs)).toBeLessThan(0.5);
    const silentStart = seen.level.find((l) => l.track === 'outbound' && l.second === 0);
    expect(silentStart?.rmsDbfs).toBeLessThan(expectedDbfs);

    const metrics = await registry.metrics();
    expect(metrics).toContain('flex_streams_receiver_frames_total{track="inbound"} 100');
    expect(metrics).toContain('flex_streams_receiver_frames_total{track="outbound"} 70');
    expect(metrics).toContain('flex_streams_receiver_gaps_total{track="outbound"} 2');
    expect(metrics).toContain('flex_streams_receiver_audio_bytes_total{track="inbound"} 16000');
    expect(metrics).toContain('flex_streams_receiver_recordings_total{end_reason="stop"} 1');
    expect(metrics).toMatch(/flex_streams_receiver_write_latency_seconds_count [1-9]/);
    await waitFor(
      async () => (await registry.metrics()).includes('flex_streams_receiver_active_sessions 0'),
      'the session to be counted as closed',
    );
  });

  it('writes a mono WAV when only one track is announced, named after the streamSid without a name', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['outbound']);
    sendTone(stream, 'outbound', agent, 0, 1000);
    stream.stop();
    const event = await stopped(stream);
    expect(event.wavPath).toBe(join(dir, stream.callSid, `${stream.streamSid}.wav`));
    expect(await soxInfo(event.wavPath)).toMatchObject({
      channels: 1,
      sampleRate: 8000,
      samples: 8000,
    });
    const wav = await readWav(event.wavPath);
    expect(detectTones(decodeMulaw(wav.byChannel[0] ?? new Uint8Array()), candidates)).toEqual([
      agent.frequencyHz,
    ]);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({
      tracks: ['outbound'],
      channels: { outbound: 1 },
      streamName: null,
      gaps: [],
    });
  });

  it('places duplicate, out-of-order, overlapping and late frames by timestamp and counts each', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound']);
    await waitFor(() => seen.streamStarted.length === 1, 'the recording to open');
    stream.media('inbound', 0, constantFrame(0x10));
    stream.media('inbound', 40, constantFrame(0x30));
    stream.media('inbound', 20, constantFrame(0x20)); // out of order, inside the window
    stream.media('inbound', 20, constantFrame(0x21)); // duplicate: dropped
    stream.media('inbound', 50, constantFrame(0x40, 10)); // overlaps 40..60: the earlier frame wins
    // 2.5 s more: more than 2 s waits uncommitted, so the receiver commits up to 200 ms before
    // the newest audio; a frame for 100 ms then arrives too late.
    for (let at = 60; at < 2560; at += 20) stream.media('inbound', at, constantFrame(0x50));
    stream.media('inbound', 110, constantFrame(0x60)); // late: dropped
    stream.stop();
    const event = await stopped(stream);
    const wav = await readWav(event.wavPath);
    const audio = wav.byChannel[0] ?? new Uint8Array();
    expect(audio.length).toBe(2560 * 8);
    expect([...audio.subarray(0, 480)]).toEqual([
      ...constantFrame(0x10),
      ...constantFrame(0x20),
      ...constantFrame(0x30),
    ]);
    expect(audio.subarray(480).every((b) => b === 0x50)).toBe(true);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar.anomalies).toEqual({
      duplicates: 1,
      outOfOrder: 1,
      late: 1,
      overlaps: 1,
      overflows: [],
    });
    expect(sidecar.gaps).toEqual([]);
    const kinds = seen.anomaly.map((a) => a.kind).sort();
    expect(kinds).toEqual(['duplicate', 'late', 'out-of-order', 'overlap']);
  });

  it('finishes the recording with endReason socket-closed when the socket closes without stop', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound', 'outbound']);
    sendTone(stream, 'inbound', customer, 0, 600);
    sendTone(stream, 'outbound', agent, 0, 600);
    stream.close();
    await waitFor(() => seen.streamStarted.length === 1, 'the recording to open');
    await receiver.idle();
    expect(seen.streamStopped).toHaveLength(1);
    const event = await stopped(stream);
    expect(event.endReason).toBe('socket-closed');
    expect(await soxInfo(event.wavPath)).toMatchObject({ channels: 2, samples: 4800 });
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({ endReason: 'socket-closed', durationMs: 600 });
    expect(sidecar.endedAt).not.toBeNull();
  });

  it('never overwrites: a second stream with the same name on the same call gets a suffix; names cannot escape the folder', async () => {
    const first = await TestStream.connect(receiver.url);
    first.start(['inbound'], { streamName: '../../etc/passwd' });
    sendTone(first, 'inbound', customer, 0, 200);
    first.stop();
    const a = await stopped(first);
    const second = await TestStream.connect(receiver.url, { callSid: first.callSid });
    second.start(['inbound'], { streamName: '../../etc/passwd' });
    sendTone(second, 'inbound', agent, 0, 200);
    second.stop();
    const b = await stopped(second);
    expect(a.wavPath).toBe(join(dir, first.callSid, 'etc_passwd.wav'));
    expect(b.wavPath).toBe(join(dir, first.callSid, 'etc_passwd-2.wav'));
    expect((await readSidecar(b.sidecarPath)).wav).toBe('etc_passwd-2.wav');
    const firstAudio = (await readWav(a.wavPath)).byChannel[0] ?? new Uint8Array();
    expect(detectTones(decodeMulaw(firstAudio), candidates)).toEqual([customer.frequencyHz]);
    expect(existsSync(join(dir, 'etc'))).toBe(false);
  });

  it('close() finishes every open recording and closes its socket with 1001', async () => {
    const stream = await TestStream.connect(receiver.url);
    stream.start(['inbound']);
    sendTone(stream, 'inbound', customer, 0, 400);
    await waitFor(() => seen.streamStarted.length === 1, 'the recording to open');
    await receiver.close();
    expect((await stream.closed).code).toBe(1001);
    const event = seen.streamStopped[0];
    expect(event?.endReason).toBe('socket-closed');
    expect(event?.sidecar.notes.join(' ')).toContain('shut down');
    expect(await soxInfo(event?.wavPath ?? '')).toMatchObject({ channels: 1, samples: 3200 });
  });
});
