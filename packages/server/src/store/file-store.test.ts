import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFsError } from '@flex-streams/core';
import { describeSegmentStoreContract, makeSid, makeTestSegment } from '@flex-streams/core/testing';
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

const segment = makeTestSegment;

describeSegmentStoreContract('file store', async () =>
  openFileSegmentStore({ dataDir: await tempDir(), durable: false }),
);

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

describe('live calls after a reopen', () => {
  it('come oldest first by their segments, not in file-name order', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir, durable: false });
    const [older, newer] = [`CA${'f'.repeat(32)}`, `CA${'0'.repeat(31)}1`];
    await store.put({ ...segment(1, older), startedAt: Date.now() - 600_000 }, 0);
    await store.put({ ...segment(2, newer), startedAt: Date.now() - 60_000 }, 0);
    const reopened = await openFileSegmentStore({ dataDir, durable: false });
    expect(await reopened.listLiveCalls()).toEqual([older, newer]);
  });
});

describe('retention (prune)', () => {
  it('deletes the calls whose every segment ended before the cut-off, and only those', async () => {
    const dataDir = await tempDir();
    const store = await openFileSegmentStore({ dataDir, durable: false });
    const [oldCall, recentCall, liveCall] = [1, 2, 3].map((n) => makeSid('CA', n));
    const ended = (n: number, call: string | undefined, endedAt: number) => ({
      ...segment(n, call),
      state: 'ended' as const,
      endReason: 'wrapup' as const,
      startedAt: endedAt - 60_000,
      endedAt,
    });
    await store.put(ended(1, oldCall, 1_000_000), 0);
    await store.put(ended(2, oldCall, 1_500_000), 0);
    await store.put(ended(3, recentCall, 9_000_000), 0);
    await store.put(ended(4, liveCall, 1_000_000), 0);
    await store.put(segment(5, liveCall), 0);

    expect(await store.prune(5_000_000)).toEqual([oldCall]);
    expect(await store.listByCall(oldCall ?? '')).toEqual([]);
    expect(await store.getByReservation(makeSid('WR', 1))).toBeNull();
    expect(await store.get('SG2')).toBeNull();
    expect((await readdir(join(dataDir, 'calls'))).sort()).toEqual(
      [`${recentCall ?? ''}.json`, `${liveCall ?? ''}.json`].sort(),
    );
    // A reopened store (a restart) agrees; a pruned reservation could be stored again.
    const reopened = await openFileSegmentStore({ dataDir, durable: false });
    expect(await reopened.listByCall(oldCall ?? '')).toEqual([]);
    expect((await reopened.listByCall(recentCall ?? '')).map((s) => s.id)).toEqual(['SG3']);
    expect(await store.prune(5_000_000)).toEqual([]);
    expect(await store.prune(10_000_000)).toEqual([recentCall]);
  });
});
