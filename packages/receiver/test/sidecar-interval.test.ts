import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  WAV_HEADER_BYTES,
  fileSystemStorage,
  readWavHeader,
  startReceiver,
  type Receiver,
  type RecordingStorage,
  type Sidecar,
  type StreamStoppedEvent,
} from '../src/index.js';
import {
  TestStream,
  constantFrame,
  expectEveryWavReadable,
  readSidecar,
  tempDir,
  waitFor,
} from './helpers.js';
import { resolveReceiverOptions } from '../src/options.js';

let dir: string;
let remove: () => Promise<void>;

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  await expectEveryWavReadable(dir);
  await remove();
});

/** One `writeTextAtomic` call seen by {@link countingStorage}. */
interface SidecarWrite {
  readonly at: number;
  readonly sidecar: Sidecar;
}

/** The real file system, recording every sidecar write (the receiver's `storage` port). */
function countingStorage(): { storage: RecordingStorage; writes: SidecarWrite[] } {
  const writes: SidecarWrite[] = [];
  const storage: RecordingStorage = {
    mkdir: (path) => fileSystemStorage.mkdir(path),
    createExclusive: (path) => fileSystemStorage.createExclusive(path),
    async writeTextAtomic(path, text) {
      writes.push({ at: Date.now(), sidecar: JSON.parse(text) as Sidecar });
      await fileSystemStorage.writeTextAtomic(path, text);
    },
  };
  return { storage, writes };
}

function stopped(receiver: Receiver): Promise<StreamStoppedEvent> {
  return new Promise((resolve) => {
    const off = receiver.events.on('streamStopped', (event) => {
      off();
      resolve(event);
    });
  });
}

/**
 * Sends both tracks paced in real time (so the counters change on every flush) until `until`
 * holds, then `extraMs` more; returns the milliseconds of audio sent per track.
 */
async function streamPaced(
  stream: TestStream,
  until: () => boolean,
  extraMs = 0,
  deadlineMs = 15_000,
): Promise<number> {
  const started = Date.now();
  let sentMs = 0;
  let doneAt: number | null = null;
  for (;;) {
    const due = Date.now() - started;
    for (; sentMs + 20 <= due; sentMs += 20) {
      stream.media('inbound', sentMs, constantFrame(0x21));
      stream.media('outbound', sentMs, constantFrame(0x22));
    }
    if (doneAt === null && until()) doneAt = sentMs;
    if (doneAt !== null && sentMs >= doneAt + extraMs) return sentMs;
    if (due > deadlineMs) throw new Error('timed out streaming');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('sidecarIntervalMs', () => {
  it('is validated and defaults to 5000', async () => {
    expect(resolveReceiverOptions({ recordingsDir: dir }).sidecarIntervalMs).toBe(5000);
    for (const bad of [-1, 1.5, '5000', 600_001]) {
      await expect(
        startReceiver({ recordingsDir: dir, sidecarIntervalMs: bad as number }),
      ).rejects.toThrow(/FS_RCV_INVALID_OPTIONS|sidecarIntervalMs/);
    }
  });

  it('rewrites an open sidecar at most every sidecarIntervalMs, and writes it complete at the end', async () => {
    const { storage, writes } = countingStorage();
    const receiver = await startReceiver({
      recordingsDir: dir,
      storage,
      flushIntervalMs: 50,
      sidecarIntervalMs: 1000,
    });
    try {
      const stream = await TestStream.connect(receiver.url);
      const done = stopped(receiver);
      stream.start(['inbound', 'outbound'], { streamName: 'sparse' });
      // Two periodic rewrites after the one at open: 40+ flushes of changing counters.
      const sentMs = await streamPaced(stream, () => writes.length >= 3);
      stream.stop();
      const event = await done;

      const first = writes[0]?.sidecar;
      expect(first).toMatchObject({ endedAt: null, endReason: null, durationMs: 0 });
      // Open + 2 periodic + final, give or take the one flush racing the stop: every flush
      // (50 ms) would have made 40 or more.
      expect(writes.length).toBeGreaterThanOrEqual(4);
      expect(writes.length).toBeLessThanOrEqual(5);
      const periodic = writes.slice(1, -1);
      for (const write of periodic) expect(write.sidecar.endedAt).toBeNull();
      // 20 flushes of at least 50 ms each (slack for a write queued behind the previous one).
      for (let i = 1; i < writes.length - 1; i++) {
        expect((writes[i]?.at ?? 0) - (writes[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(900);
      }
      expect(periodic.at(-1)?.sidecar.framesByTrack.inbound).toBeGreaterThan(0);

      const last = writes.at(-1)?.sidecar;
      const frames = sentMs / 20;
      expect(last).toMatchObject({
        endReason: 'stop',
        durationMs: sentMs,
        framesByTrack: { inbound: frames, outbound: frames },
        bytesByTrack: { inbound: frames * 160, outbound: frames * 160 },
      });
      expect(last?.endedAt).not.toBeNull();
      expect(await readSidecar(event.sidecarPath)).toEqual(last);
    } finally {
      await receiver.close();
    }
  });

  it('with 0, rewrites the sidecar on every flush that changed it (the old behaviour)', async () => {
    const { storage, writes } = countingStorage();
    const receiver = await startReceiver({
      recordingsDir: dir,
      storage,
      flushIntervalMs: 50,
      sidecarIntervalMs: 0,
    });
    try {
      const stream = await TestStream.connect(receiver.url);
      const done = stopped(receiver);
      stream.start(['inbound', 'outbound'], { streamName: 'dense' });
      const opened = Date.now();
      await streamPaced(stream, () => writes.length >= 1 && Date.now() - opened >= 1000);
      stream.stop();
      await done;
      expect(writes.length).toBeGreaterThanOrEqual(8);
    } finally {
      await receiver.close();
    }
  });

  it('finishes the sidecar exactly on shutdown, however old the last periodic rewrite', async () => {
    const { storage, writes } = countingStorage();
    const receiver = await startReceiver({
      recordingsDir: dir,
      storage,
      flushIntervalMs: 50,
      sidecarIntervalMs: 600_000,
    });
    const stream = await TestStream.connect(receiver.url);
    const done = stopped(receiver);
    stream.start(['inbound'], { streamName: 'shutdown' });
    for (let at = 0; at < 600; at += 20) stream.media('inbound', at, constantFrame(0x33));
    await waitFor(() => writes.length >= 1, 'the sidecar at open');
    await waitFor(async () => {
      const header = readWavHeader(await readFile(join(dir, stream.callSid, 'shutdown.wav')));
      return header?.dataBytes === 600 * 8;
    }, 'the audio on disk');
    expect(writes).toHaveLength(1);
    await receiver.close();
    const event = await done;
    expect(writes).toHaveLength(2);
    const sidecar = await readSidecar(event.sidecarPath);
    expect(sidecar).toMatchObject({
      endReason: 'socket-closed',
      durationMs: 600,
      framesByTrack: { inbound: 30 },
    });
    expect(sidecar.notes.join(' ')).toContain('shut down');
  });
});

describe('crash safety with a stale sidecar', () => {
  it('repairs the sidecar truthfully when the last periodic rewrite is older than the audio', async () => {
    const { storage, writes } = countingStorage();
    const first = await startReceiver({
      recordingsDir: join(dir, 'live'),
      storage,
      flushIntervalMs: 100,
      sidecarIntervalMs: 3000,
    });
    const stream = await TestStream.connect(first.url);
    stream.start(['inbound', 'outbound'], { streamName: 'stale' });
    for (let at = 0; at < 600; at += 20) {
      stream.media('inbound', at, constantFrame(0x55));
      stream.media('outbound', at, constantFrame(0x56));
    }
    // The first periodic rewrite (30 flushes in) sees all 600 ms committed.
    await waitFor(() => writes.length >= 2, 'the first periodic sidecar rewrite');
    expect(writes[1]?.sidecar).toMatchObject({
      durationMs: 600,
      framesByTrack: { inbound: 30, outbound: 30 },
    });
    for (let at = 600; at < 1000; at += 20) {
      stream.media('inbound', at, constantFrame(0x55));
      stream.media('outbound', at, constantFrame(0x56));
    }
    const wavPath = join(dir, 'live', stream.callSid, 'stale.wav');
    await waitFor(async () => {
      const file = await readFile(wavPath);
      return readWavHeader(file)?.dataBytes === 1000 * 16;
    }, 'all 1000 ms on disk');
    // What a SIGKILL now leaves: the WAV holds 1000 ms, the sidecar describes 600 ms.
    const crashed = join(dir, 'crashed');
    await cp(join(dir, 'live'), crashed, { recursive: true });
    const sidecarPath = join(crashed, stream.callSid, 'stale.json');
    const before = await readSidecar(sidecarPath);
    expect(writes).toHaveLength(2);
    expect(before).toMatchObject({ endedAt: null, durationMs: 600 });
    stream.stop();
    await first.close();

    const second = await startReceiver({ recordingsDir: crashed });
    try {
      expect(second.repaired).toEqual([
        {
          wavPath: join(crashed, stream.callSid, 'stale.wav'),
          headerRepaired: false,
          sidecarClosed: true,
          durationMs: 1000,
        },
      ]);
      const repaired = await readSidecar(sidecarPath);
      expect(repaired).toMatchObject({
        endReason: 'error',
        error: { code: 'FS_RCV_UNCLEAN_SHUTDOWN' },
        durationMs: 1000,
        framesByTrack: { inbound: 30, outbound: 30 },
      });
      expect(repaired.endedAt).not.toBeNull();
      const note = repaired.notes.join(' ');
      expect(note).toContain('The WAV holds 1000 ms of audio');
      expect(note).toContain('when the WAV held 600 ms');
      expect((await readFile(join(crashed, stream.callSid, 'stale.wav'))).length).toBe(
        WAV_HEADER_BYTES + 1000 * 16,
      );
    } finally {
      await second.close();
    }
  });
});
