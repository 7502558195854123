import { twilioSignature } from '@flex-streams/emulator';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver, type RejectedEvent } from '../src/index.js';
import { TestStream, tempDir } from './helpers.js';

const authToken = 'f'.repeat(32);
const publicUrl = 'wss://recorder.example.com/media';

let dir: string;
let remove: () => Promise<void>;
let receiver: Receiver;
let registry: Registry;
let rejected: RejectedEvent[];

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  registry = new Registry();
  rejected = [];
  receiver = await startReceiver({ recordingsDir: dir, registry, authToken, publicUrl });
  receiver.events.on('rejected', (e) => rejected.push(e));
});

afterEach(async () => {
  await receiver.close();
  await remove();
});

describe('X-Twilio-Signature on the upgrade', () => {
  it('accepts an upgrade signed over the public wss:// URL with no params', async () => {
    const signature = twilioSignature(authToken, publicUrl, {});
    const stream = await TestStream.connect(receiver.url, {
      headers: { 'X-Twilio-Signature': signature },
    });
    stream.close();
    expect((await stream.closed).code).toBe(1000);
    expect(rejected).toEqual([]);
  });

  it('refuses a missing signature with 401 and a bad one with 403, before any audio', async () => {
    await expect(TestStream.connect(receiver.url)).rejects.toThrow('HTTP 401');
    const signedLocal = twilioSignature(authToken, receiver.url, {});
    await expect(
      TestStream.connect(receiver.url, { headers: { 'X-Twilio-Signature': signedLocal } }),
    ).rejects.toThrow('HTTP 403');
    const otherToken = twilioSignature('0'.repeat(32), publicUrl, {});
    await expect(
      TestStream.connect(receiver.url, { headers: { 'X-Twilio-Signature': otherToken } }),
    ).rejects.toThrow('HTTP 403');
    expect(rejected.map((r) => r.reason)).toEqual([
      'missing-signature',
      'bad-signature',
      'bad-signature',
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toContain(
      'flex_streams_receiver_rejected_connections_total{reason="missing-signature"} 1',
    );
    expect(metrics).toContain(
      'flex_streams_receiver_rejected_connections_total{reason="bad-signature"} 2',
    );
    expect(metrics).toContain('flex_streams_receiver_active_sessions 0');
  });

  it('refuses another path with 404', async () => {
    const signature = twilioSignature(authToken, publicUrl, {});
    await expect(
      TestStream.connect(receiver.url.replace('/media', '/other'), {
        headers: { 'X-Twilio-Signature': signature },
      }),
    ).rejects.toThrow('HTTP 404');
    expect(rejected.map((r) => r.reason)).toEqual(['not-found']);
  });
});

describe('metrics over HTTP', () => {
  it('serves the registry on metricsPath when asked to, and answers 426 elsewhere', async () => {
    const other = await startReceiver({ recordingsDir: dir, metricsPath: '/metrics' });
    try {
      const base = other.url.replace('ws://', 'http://').replace('/media', '');
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('flex_streams_receiver_active_sessions 0');
      expect((await fetch(`${base}/media`)).status).toBe(426);
    } finally {
      await other.close();
    }
    // Off by default.
    const base = receiver.url.replace('ws://', 'http://').replace('/media', '');
    expect((await fetch(`${base}/metrics`)).status).toBe(426);
  });
});

describe('options', () => {
  it('reports every problem at once', async () => {
    const error = await startReceiver({
      recordingsDir: '',
      port: 70000,
      path: 'media?x=1',
      publicUrl: 'https://example.com/media',
      flushIntervalMs: 900,
      reorderWindowMs: 300,
      unknownOption: true,
    } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^FS_RCV_INVALID_OPTIONS: /);
    for (const part of ['recordingsDir', 'port', 'path', 'publicUrl', 'unknownOption']) {
      expect(message).toContain(part);
    }
  });

  it('rejects a flush interval and reorder window that could lose more than a second', async () => {
    await expect(
      startReceiver({ recordingsDir: dir, flushIntervalMs: 900, reorderWindowMs: 300 }),
    ).rejects.toThrow('at most 1000');
  });
});
