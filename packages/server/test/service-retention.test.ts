/**
 * Retention (`FLEX_STREAMS_RETENTION_DAYS`): the service, on its file store, deletes at start-up
 * the call files whose every segment ended more than that many days ago, keeps the others, and
 * with 0 keeps everything. Real files in a temporary data directory; Twilio is the core's fake.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSid, makeTestSegment } from '@flex-streams/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServiceConfig, openFileSegmentStore } from '../src/index.js';
import { startOnDataDir, waitFor } from './service-harness.js';

const DAY = 86_400_000;
const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A data directory with an old ended call, a recently ended one and a live one. */
async function dataDirWithCalls() {
  const dataDir = await mkdtemp(join(tmpdir(), 'fs-retention-'));
  directories.push(dataDir);
  const store = await openFileSegmentStore({ dataDir, durable: false });
  const calls = { old: makeSid('CA', 1), recent: makeSid('CA', 2), live: makeSid('CA', 3) };
  const ended = (n: number, call: string, daysAgo: number) => ({
    ...makeTestSegment(n, call),
    state: 'ended' as const,
    endReason: 'wrapup' as const,
    startedAt: Date.now() - daysAgo * DAY - 60_000,
    endedAt: Date.now() - daysAgo * DAY,
  });
  await store.put(ended(1, calls.old, 40), 0);
  await store.put(ended(2, calls.recent, 2), 0);
  await store.put(ended(3, calls.live, 40), 0);
  await store.put({ ...makeTestSegment(4, calls.live), startedAt: Date.now() }, 0);
  return { dataDir, calls };
}

const start = startOnDataDir;

const files = async (dataDir: string) => (await readdir(join(dataDir, 'calls'))).sort();

describe('retention of call files', () => {
  it('deletes at start-up the calls that ended more than FLEX_STREAMS_RETENTION_DAYS ago', async () => {
    const { dataDir, calls } = await dataDirWithCalls();
    const service = await start(dataDir, { FLEX_STREAMS_RETENTION_DAYS: '30' });
    try {
      const left = await waitFor(
        () => files(dataDir),
        (names) => !names.includes(`${calls.old}.json`),
        'the old call file to be deleted',
      );
      expect(left).toEqual([`${calls.recent}.json`, `${calls.live}.json`].sort());
      expect((await fetch(`${service.url}/v1/calls/${calls.old}`)).status).toBe(404);
      expect((await fetch(`${service.url}/v1/calls/${calls.recent}`)).status).toBe(200);
    } finally {
      await service.close();
    }
  });

  it('keeps everything with 0, and refuses a value that is not a number of days', async () => {
    const { dataDir } = await dataDirWithCalls();
    const service = await start(dataDir, { FLEX_STREAMS_RETENTION_DAYS: '0' });
    await service.close();
    expect(await files(dataDir)).toHaveLength(3);
    expect(() =>
      loadServiceConfig({
        TWILIO_ACCOUNT_SID: makeSid('AC', 1),
        TWILIO_AUTH_TOKEN: 't',
        FLEX_STREAMS_STREAM_URL: 'wss://r.example.com/m',
        FLEX_STREAMS_PUBLIC_URL: 'https://c.example.com',
        FLEX_STREAMS_RETENTION_DAYS: '1.5',
      }),
    ).toThrow(/FLEX_STREAMS_RETENTION_DAYS must be a whole number of days/);
  });
});
