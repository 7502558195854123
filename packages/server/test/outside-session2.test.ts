/**
 * Outside review of the operator endpoints (packages/server README "Endpoints" and
 * "Configuration"): `GET /v1/calls` behind `FLEX_STREAMS_ADMIN_TOKEN`, its `limit`, and the routes
 * that stay open (`/healthz`, `/dashboard`). Public interfaces only: `loadServiceConfig` +
 * `startService` on a real file store in a temporary directory, and HTTP requests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSid, makeTestSegment } from '@flex-streams/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileSegmentStore } from '../src/index.js';
import { startOnDataDir, type ErrorAnswer } from './service-harness.js';

const MINUTE = 60_000;
const ADMIN_TOKEN = 'outside-operator-token-0123456789';
const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A data directory holding two live calls and one ended call. */
async function dataDirWithCalls() {
  const dataDir = await mkdtemp(join(tmpdir(), 'fs-outside2-'));
  directories.push(dataDir);
  const store = await openFileSegmentStore({ dataDir, durable: false });
  const calls = {
    first: makeSid('CA', 0xa1),
    second: makeSid('CA', 0xa2),
    ended: makeSid('CA', 3),
  };
  await store.put({ ...makeTestSegment(1, calls.first), startedAt: Date.now() - 10 * MINUTE }, 0);
  await store.put({ ...makeTestSegment(2, calls.second), startedAt: Date.now() - MINUTE }, 0);
  await store.put(
    {
      ...makeTestSegment(3, calls.ended),
      state: 'ended' as const,
      endReason: 'wrapup' as const,
      startedAt: Date.now() - 5 * MINUTE,
      endedAt: Date.now() - MINUTE,
    },
    0,
  );
  return { dataDir, calls };
}

const start = startOnDataDir;

interface CallsAnswer {
  live: number;
  calls: { callSid: string; segments: { customerCallSid: string; state: string }[] }[];
}

describe('GET /v1/calls (outside review, session 2)', () => {
  it('needs the admin token when set, while /healthz and the dashboard page stay open', async () => {
    const { dataDir } = await dataDirWithCalls();
    const service = await start(dataDir, { FLEX_STREAMS_ADMIN_TOKEN: ADMIN_TOKEN });
    try {
      const calls = `${service.url}/v1/calls`;
      for (const authorization of [
        undefined,
        'Bearer wrong-operator-token-0123456789',
        `Basic ${ADMIN_TOKEN}`,
        ADMIN_TOKEN,
      ]) {
        const answer = await fetch(calls, {
          headers: authorization === undefined ? {} : { Authorization: authorization },
        });
        expect(answer.status, `with ${authorization ?? 'no Authorization'}`).toBe(401);
        expect(((await answer.json()) as ErrorAnswer).error.code).toBe('FS_ERR_ADMIN_TOKEN');
      }
      // The auth scheme is case-insensitive (RFC 9110 §11.1).
      for (const scheme of ['Bearer', 'bearer']) {
        const answer = await fetch(calls, {
          headers: { Authorization: `${scheme} ${ADMIN_TOKEN}` },
        });
        expect(answer.status, scheme).toBe(200);
      }
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      const page = await fetch(`${service.url}/dashboard`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    } finally {
      await service.close();
    }
  });

  it('lists only the live calls with their segments, counts them all, and honours limit 1–500', async () => {
    const { dataDir, calls } = await dataDirWithCalls();
    const service = await start(dataDir, {});
    try {
      const get = (query: string) => fetch(`${service.url}/v1/calls${query}`);
      const all = (await (await get('')).json()) as CallsAnswer;
      expect(all.live).toBe(2);
      expect(all.calls.map((c) => c.callSid).sort()).toEqual([calls.first, calls.second].sort());
      for (const call of all.calls) {
        expect(call.segments.length).toBeGreaterThan(0);
        for (const segment of call.segments) expect(segment.customerCallSid).toBe(call.callSid);
      }
      const one = (await (await get('?limit=1')).json()) as CallsAnswer;
      expect(one.live).toBe(2);
      expect(one.calls).toHaveLength(1);
      for (const limit of ['0', '501', 'abc', '1.5', '', '1&limit=2']) {
        const answer = await get(`?limit=${limit}`);
        expect(answer.status, `limit=${limit}`).toBe(400);
        expect(((await answer.json()) as ErrorAnswer).error.code).toBe('FS_ERR_INVALID_INPUT');
      }
      expect((await get('?limit=500')).status).toBe(200);
    } finally {
      await service.close();
    }
  });
});
