import { appendFile, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  WAV_HEADER_BYTES,
  fileSystemStorage,
  readWavHeader,
  startReceiver,
  type AnomalyEvent,
  type RecordingStorage,
  type StreamStoppedEvent,
} from '../src/index.js';
import {
  TestStream,
  constantFrame,
  expectEveryWavReadable,
  readSidecar,
  readWav,
  soxInfo,
  tempDir,
  waitFor,
} from './helpers.js';

let dir: string;
let remove: () => Promise<void>;

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  await expectEveryWavReadable(dir);
  await remove();
});

/** The real file system, except that audio writes to files named `slow*` wait for `release()`. */
function slowDisk(): { storage: RecordingStorage; release: () => void } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const storage: RecordingStorage = {
    ...fileSystemStorage,
    async createExclusive(path) {
      const file = await fileSystemStorage.createExclusive(path);
      if (!path.includes('/slow')) return file;
      return {
        async write(bytes, position) {
          if (position >= WAV_HEADER_BYTES) await gate;
          await file.write(bytes, position);
        },
        close: () => file.close(),
      };
    },
  };
  return {
    storage,
    release: () => {
      release();
    },
  };
}

describe('a slow disk', () => {
  it('never blocks other sessions, and a full buffer is recorded as silence and reported', async () => {
    const { storage, release } = slowDisk();
    const registry = new Registry();
    const receiver = await startReceiver({
      recordingsDir: dir,
      registry,
      storage,
      flushIntervalMs: 100,
      maxBufferedBytes: 64 * 1024,
    });
    const stopped: StreamStoppedEvent[] = [];
    const anomalies: AnomalyEvent[] = [];
    receiver.events.on('streamStopped', (e) => stopped.push(e));
    receiver.events.on('anomaly', (e) => anomalies.push(e));
    try {
      const slow = await TestStream.connect(receiver.url);
      slow.start(['inbound', 'outbound'], { streamName: 'slow' });
      const fast = await TestStream.connect(receiver.url);
      fast.start(['inbound'], { streamName: 'fast' });
      // 10 s of stereo (160 kB) cannot fit a 64 kB buffer behind a blocked disk; 3 s of mono
      // (24 kB) always fits, so only the slow session may overflow.
      for (let at = 0; at < 10_000; at += 20) {
        slow.media('inbound', at, constantFrame(0x44));
        slow.media('outbound', at, constantFrame(0x45));
        if (at < 3000) fast.media('inbound', at, constantFrame(0x46));
      }
      fast.stop();
      slow.stop();
      await waitFor(
        () => stopped.some((e) => e.streamSid === fast.streamSid),
        'the fast recording',
      );
      expect(stopped.map((e) => e.streamSid)).toEqual([fast.streamSid]);
      await waitFor(
        () => anomalies.some((a) => a.kind === 'overflow'),
        'an overflow to be reported',
      );
      release();
      await waitFor(() => stopped.length === 2, 'the slow recording');

      const fastWav = await readWav(stopped[0]?.wavPath ?? '');
      expect(fastWav.byChannel[0]?.every((b) => b === 0x46)).toBe(true);
      expect(fastWav.durationMs).toBe(3000);

      const slowEvent = stopped[1];
      const overflows = slowEvent?.sidecar.anomalies.overflows ?? [];
      expect(overflows.length).toBeGreaterThan(0);
      const wav = await readWav(slowEvent?.wavPath ?? '');
      expect(wav.durationMs).toBe(10_000);
      expect(await soxInfo(slowEvent?.wavPath ?? '')).toMatchObject({
        channels: 2,
        samples: 80_000,
      });
      // Audio where it was buffered, silence exactly where it overflowed: the timeline holds.
      const inside = (ms: number): boolean =>
        overflows.some((o) => ms >= o.atMs && ms < o.atMs + o.durationMs);
      for (let ms = 0; ms < 10_000; ms += 10) {
        const expected = inside(ms) ? [0xff, 0xff] : [0x44, 0x45];
        expect([wav.byChannel[0]?.[ms * 8], wav.byChannel[1]?.[ms * 8]]).toEqual(expected);
      }
      const lostMs = overflows.reduce((sum, o) => sum + o.durationMs, 0);
      expect(lostMs).toBeGreaterThan(0);
      expect(lostMs).toBeLessThan(10_000);
      expect(
        anomalies.filter((a) => a.kind === 'overflow').every((a) => a.streamSid === slow.streamSid),
      ).toBe(true);
      expect(await registry.metrics()).toMatch(
        /flex_streams_receiver_buffer_overflows_total [1-9]/,
      );
    } finally {
      release();
      await receiver.close();
    }
  });
});

describe('a failing disk', () => {
  it('closes the stream that cannot be recorded with 4012 and records the others', async () => {
    const storage: RecordingStorage = {
      ...fileSystemStorage,
      async createExclusive(path) {
        const file = await fileSystemStorage.createExclusive(path);
        if (!path.includes('/full')) return file;
        return {
          write: (bytes, position) =>
            position === 0 ? file.write(bytes, position) : Promise.reject(new Error('ENOSPC')),
          close: () => file.close(),
        };
      },
    };
    const receiver = await startReceiver({ recordingsDir: dir, storage, flushIntervalMs: 50 });
    const stopped: StreamStoppedEvent[] = [];
    receiver.events.on('streamStopped', (e) => stopped.push(e));
    try {
      const full = await TestStream.connect(receiver.url);
      full.start(['inbound'], { streamName: 'full' });
      const fine = await TestStream.connect(receiver.url);
      fine.start(['inbound'], { streamName: 'fine' });
      for (let at = 0; at < 1000; at += 20) {
        full.media('inbound', at, constantFrame(0x70));
        fine.media('inbound', at, constantFrame(0x71));
      }
      expect((await full.closed).code).toBe(4012);
      fine.stop();
      await waitFor(() => stopped.length === 2, 'both recordings to finish');
      const failed = stopped.find((e) => e.streamSid === full.streamSid);
      expect(failed?.endReason).toBe('error');
      expect(failed?.sidecar.error?.code).toBe('FS_RCV_RECORDING_FAILED');
      const ok = stopped.find((e) => e.streamSid === fine.streamSid);
      expect(ok?.endReason).toBe('stop');
      expect((await readWav(ok?.wavPath ?? '')).byChannel[0]?.every((b) => b === 0x71)).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});

describe('crash safety', () => {
  it('keeps the header consistent while recording, and repairs an unfinished recording on the next start', async () => {
    const first = await startReceiver({ recordingsDir: join(dir, 'live'), flushIntervalMs: 100 });
    const wavPaths: string[] = [];
    first.events.on('streamStarted', (e) => wavPaths.push(e.wavPath));
    const stream = await TestStream.connect(first.url);
    stream.start(['inbound', 'outbound'], { streamName: 'crash' });
    for (let at = 0; at < 1000; at += 20) {
      stream.media('inbound', at, constantFrame(0x55));
      stream.media('outbound', at, constantFrame(0x56));
    }
    // First flushed up to the reorder window (200 ms) before the newest audio; once a flush
    // interval passes without media, the rest too: all 1000 ms, stereo, header consistent.
    await waitFor(async () => {
      const path = wavPaths[0];
      if (path === undefined) return false;
      const file = await readFile(path);
      const header = readWavHeader(file);
      return header?.dataBytes === 1000 * 16 && file.length === WAV_HEADER_BYTES + 1000 * 16;
    }, 'the first flushes');
    const sidecarOnDisk = await readSidecar(join(dir, 'live', stream.callSid, 'crash.json'));
    expect(sidecarOnDisk.endedAt).toBeNull();
    // The on-disk state at this moment is what a SIGKILL would leave; add half a sample frame
    // written after the last header update, as a kill between the two writes would.
    const crashed = join(dir, 'crashed');
    await cp(join(dir, 'live'), crashed, { recursive: true });
    const wavPath = join(crashed, stream.callSid, 'crash.wav');
    await appendFile(wavPath, Uint8Array.of(0x55, 0x56, 0x55));
    expect(await soxInfo(wavPath)).toMatchObject({ channels: 2, samples: 8000 });
    stream.stop();
    await first.close();

    const second = await startReceiver({ recordingsDir: crashed });
    try {
      expect(second.repaired).toEqual([
        { wavPath, headerRepaired: true, sidecarClosed: true, durationMs: 1000.125 },
      ]);
      expect(await soxInfo(wavPath)).toMatchObject({
        channels: 2,
        sampleRate: 8000,
        samples: 8001,
      });
      const wav = await readWav(wavPath);
      expect(wav.byChannel[0]?.every((b) => b === 0x55)).toBe(true);
      expect(wav.byChannel[1]?.every((b) => b === 0x56)).toBe(true);
      const sidecar = await readSidecar(join(crashed, stream.callSid, 'crash.json'));
      expect(sidecar).toMatchObject({
        endReason: 'error',
        error: { code: 'FS_RCV_UNCLEAN_SHUTDOWN' },
        durationMs: 1000.125,
      });
      expect(sidecar.endedAt).not.toBeNull();
      expect(sidecar.notes.join(' ')).toContain('Repaired on start');
    } finally {
      await second.close();
    }
    const third = await startReceiver({ recordingsDir: crashed });
    expect(third.repaired).toEqual([]);
    await third.close();
    expect(await expectEveryWavReadable(crashed)).toBe(1);
    expect(await expectEveryWavReadable(join(dir, 'live'))).toBe(1);
  });
});

describe('the start-up repair', () => {
  it('leaves files it did not write alone and removes half-written sidecars', async () => {
    const folder = join(dir, 'CA' + '0'.repeat(32));
    await mkdir(folder, { recursive: true });
    const foreign = Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEnot ours at all, not even close');
    await writeFile(join(folder, 'foreign.wav'), foreign);
    await writeFile(join(folder, 'x.json.tmp'), '{"half":');
    const receiver = await startReceiver({ recordingsDir: dir });
    await receiver.close();
    expect(receiver.repaired).toEqual([]);
    expect(await readFile(join(folder, 'foreign.wav'))).toEqual(foreign);
    expect(await readdir(folder)).toEqual(['foreign.wav']);
    await rm(folder, { recursive: true });
  });
});
