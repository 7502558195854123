import { describe, expect, it } from 'vitest';
import type { RecordingFile } from './storage.js';
import { WAV_HEADER_BYTES, readWavHeader } from './wav.js';
import { RecordingWriter, type Overflow } from './writer.js';

/** An in-memory file with real positional-write semantics; writes wait while `blocked`. */
class MemoryFile implements RecordingFile {
  bytes = new Uint8Array(0);
  closed = false;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  block(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  unblock(): void {
    this.open();
  }

  async write(bytes: Uint8Array, position: number): Promise<void> {
    await this.gate;
    const end = Math.max(this.bytes.length, position + bytes.length);
    const next = new Uint8Array(end);
    next.set(this.bytes);
    next.set(bytes, position);
    this.bytes = next;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

describe('RecordingWriter', () => {
  it('keeps the header consistent with the data after every drain and pads odd data on finish', async () => {
    const file = new MemoryFile();
    const writer = new RecordingWriter(file, 1, 1 << 20, {
      onOverflow: () => undefined,
      onWrite: () => undefined,
    });
    await writer.init();
    writer.enqueue([{ kind: 'audio', bytes: new Uint8Array(161).fill(1) }]);
    await writer.drain();
    expect(readWavHeader(file.bytes)?.dataBytes).toBe(161);
    expect(file.bytes.length).toBe(WAV_HEADER_BYTES + 161);
    writer.enqueue([{ kind: 'silence', bytes: 300_000 }]);
    await writer.finish();
    const header = readWavHeader(file.bytes);
    expect(header).toMatchObject({ channels: 1, dataBytes: 300_161, sampleFrames: 300_161 });
    expect(file.bytes.length).toBe(WAV_HEADER_BYTES + 300_162);
    expect(file.closed).toBe(true);
    expect(() => {
      writer.enqueue([]);
    }).toThrow("cannot write to a recording in state 'closed'");
  });

  it('replaces audio that overflows its buffer with silence of the same length and reports it', async () => {
    const file = new MemoryFile();
    const overflows: Overflow[] = [];
    const writer = new RecordingWriter(file, 2, 1000, {
      onOverflow: (o) => overflows.push(o),
      onWrite: () => undefined,
    });
    await writer.init();
    file.block();
    // 640 bytes each = 40 ms of stereo; the first is taken by the (blocked) write at once.
    for (let i = 0; i < 4; i++) {
      writer.enqueue([{ kind: 'audio', bytes: new Uint8Array(640).fill(i + 1) }]);
    }
    file.unblock();
    await writer.finish();
    // 1st in flight, 2nd buffered (640), 3rd and 4th would exceed 1000: silence, one report per
    // enqueue (the session merges adjacent ones in the sidecar).
    expect(overflows).toEqual([
      { atMs: 80, durationMs: 40 },
      { atMs: 120, durationMs: 40 },
    ]);
    const data = file.bytes.subarray(WAV_HEADER_BYTES);
    expect(data.length).toBe(2560);
    expect(data.subarray(0, 640).every((b) => b === 1)).toBe(true);
    expect(data.subarray(640, 1280).every((b) => b === 2)).toBe(true);
    expect(data.subarray(1280).every((b) => b === 0xff)).toBe(true);
  });
});
