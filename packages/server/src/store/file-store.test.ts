import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMemorySegmentStore,
  isFsError,
  type Segment,
  type SegmentStore,
} from '@flex-streams/core';
import { makeSid } from '@flex-streams/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { isServiceError } from '../service/errors.js';
import { CALL_FILE_FORMAT, openFileSegmentStore } from './file-store.js';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fs-store-'));
  directories.push(dir);
  return dir;
}

function segment(n: number, call = makeSid('CA', 1)): Segment {
  return {
    id: `SG${n}`,
    version: 0,
    index: n,
    previousSegmentId: null,
    customerCallSid: call,
    taskSid: makeSid('WT', 1),
    reservationSid: makeSid('WR', n),
    workerSid: makeSid('WK', n),
    conferenceSid: null,
    workerCallSid: null,
    transferMode: 'none',
    state: 'active',
    startedAt: 0,
    endedAt: null,
    endReason: null,
    pauses: [],
    streams: [],
    errors: [],
  };
}

/**
 * The core's `SegmentStore` contract (the cases of the core's memory-store tests), run against
 * the core's memory store and this file store, so both keep exactly the same semantics.
 */
const implementations: [string, () => Promise<SegmentStore>][] = [
  ['core memory store', () => Promise.resolve(createMemorySegmentStore())],
  ['file store', async () => openFileSegmentStore({ dataDir: await tempDir(), durable: false })],
];

describe.each(implementations)('SegmentStore contract: %s', (_name, openStore) => {
  it('stores copies, versions each write and finds segments by reservation and call', async () => {
    const store = await openStore();
    const original = segment(1);
    const saved = await store.put(original, 0);
    expect(saved.version).toBe(1);
    original.state = 'ended';
    saved.state = 'ended';
    expect((await store.get('SG1'))?.state).toBe('active');
    await store.put(segment(0), 0);
    await store.put(segment(5, makeSid('CA', 2)), 0);
    expect((await store.listByCall(makeSid('CA', 1))).map((s) => s.id)).toEqual(['SG0', 'SG1']);
    expect((await store.getByReservation(makeSid('WR', 5)))?.id).toBe('SG5');
    expect(await store.getByReservation(makeSid('WR', 9))).toBeNull();
    expect(await store.get('SG9')).toBeNull();
    expect(await store.listByCall(makeSid('CA', 9))).toEqual([]);
  });

  it('rejects a write from a stale version and a second segment for one reservation', async () => {
    const store = await openStore();
    const first = await store.put(segment(1), 0);
    await store.put({ ...first, state: 'paused' }, 1);
    await expect(store.put({ ...first, state: 'ended' }, 1)).rejects.toSatisfy((e) =>
      isFsError(e, 'FS_ERR_STORE_CONFLICT'),
    );
    await expect(store.put({ ...segment(1), id: 'SG-other' }, 0)).rejects.toThrow(
      /already has segment SG1/,
    );
    await expect(store.put(segment(2), 3)).rejects.toSatisfy((e) =>
      isFsError(e, 'FS_ERR_STORE_CONFLICT'),
    );
    expect((await store.get('SG1'))?.state).toBe('paused');
    expect((await store.get('SG1'))?.version).toBe(2);
  });

  it('lets exactly one of two concurrent writes from the same version win', async () => {
    const store = await openStore();
    const first = await store.put(segment(1), 0);
    const results = await Promise.allSettled([
      store.put({ ...first, state: 'paused' }, 1),
      store.put({ ...first, state: 'ended' }, 1),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await store.get('SG1'))?.version).toBe(2);
  });
});

describe('openFileSegmentStore persistence', () => {
  it('keeps every segment across a reopen (a controller restart) with its version', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir });
    const saved = await store.put(segment(1), 0);
    await store.put({ ...saved, state: 'ended', endReason: 'wrapup' }, 1);
    await store.put(segment(2), 0);

    const reopened = await openFileSegmentStore({ dataDir });
    expect(await reopened.get('SG1')).toMatchObject({ state: 'ended', version: 2 });
    expect((await reopened.getByReservation(makeSid('WR', 2)))?.id).toBe('SG2');
    expect((await reopened.listByCall(makeSid('CA', 1))).map((s) => s.id)).toEqual(['SG1', 'SG2']);
    await expect(reopened.put({ ...segment(1), id: 'SGx' }, 0)).rejects.toThrow(
      /already has segment SG1/,
    );
    const files = await readdir(join(dataDir, 'calls'));
    expect(files).toEqual([`${makeSid('CA', 1)}.json`]);
    const document = JSON.parse(await readFile(store.fileFor(makeSid('CA', 1)), 'utf8')) as {
      format: string;
    };
    expect(document.format).toBe(CALL_FILE_FORMAT);
  });

  it('refuses a corrupt call file with an error naming it, and leaves the file alone', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir });
    await store.put(segment(1), 0);
    const file = store.fileFor(makeSid('CA', 1));
    await writeFile(file, '{"format": "flex-streams.call-segments/1", "segm');
    const error: unknown = await openFileSegmentStore({ dataDir }).catch((e: unknown) => e);
    expect(isServiceError(error, 'FS_ERR_STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(file);
    expect(await readFile(file, 'utf8')).toBe('{"format": "flex-streams.call-segments/1", "segm');
  });

  it('refuses a file whose segments belong to another call', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir });
    await store.put(segment(1), 0);
    const file = store.fileFor(makeSid('CA', 1));
    const text = (await readFile(file, 'utf8')).replaceAll(makeSid('CA', 1), makeSid('CA', 7));
    await writeFile(join(dataDir, 'calls', `${makeSid('CA', 1)}.json`), text);
    await expect(openFileSegmentStore({ dataDir })).rejects.toThrow(/customerCallSid/);
  });

  it('removes the temporary file of an interrupted write and keeps the last complete version', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir });
    await store.put(segment(1), 0);
    const leftover = `${store.fileFor(makeSid('CA', 1))}.0000.tmp`;
    await writeFile(leftover, '{"half":');
    const reopened = await openFileSegmentStore({ dataDir });
    expect((await reopened.get('SG1'))?.version).toBe(1);
    expect(await readdir(join(dataDir, 'calls'))).toEqual([`${makeSid('CA', 1)}.json`]);
  });

  it('changes nothing when a write fails, and refuses a call SID that is not one', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir });
    await store.put(segment(1), 0);
    // The calls directory disappears under the store: the rename cannot happen.
    await rm(join(dataDir, 'calls'), { recursive: true });
    await expect(store.put(segment(2), 0)).rejects.toSatisfy((e) =>
      isServiceError(e, 'FS_ERR_STORE_WRITE'),
    );
    expect(await store.getByReservation(makeSid('WR', 2))).toBeNull();
    await expect(
      store.put({ ...segment(3), customerCallSid: '../../etc/passwd' }, 0),
    ).rejects.toSatisfy((e) => isFsError(e, 'FS_ERR_INVALID_INPUT'));
  });
});
