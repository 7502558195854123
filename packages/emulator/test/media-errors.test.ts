import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { partyVoice } from '../src/audio/index.js';
import { createMediaStreamsClient } from '../src/media/client.js';
import type { MediaStreamSpec, MediaStreamsClient } from '../src/media/ports.js';
import {
  connectionOf,
  FakeCallAudio,
  mediaOf,
  memoryLogger,
  realClock,
  RecordingListener,
  startServer,
  waitFor,
} from './media-harness.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

let nextSid = 1;
function spec(url: string, overrides: Partial<MediaStreamSpec> = {}): MediaStreamSpec {
  return {
    streamSid: `MZ${String(nextSid++).padStart(32, '0')}`,
    accountSid: 'AC0123456789abcdef0123456789abcdef',
    callSid: 'CA1',
    url,
    name: null,
    tracks: ['inbound'],
    customParameters: {},
    ...overrides,
  };
}

function setup(
  options: { connectTimeoutMs?: number; logger?: pino.Logger; audio?: FakeCallAudio } = {},
): { listener: RecordingListener; client: MediaStreamsClient; audio: FakeCallAudio } {
  const audio = options.audio ?? new FakeCallAudio();
  audio.set('CA1', 'inbound', [{ source: 'call:CA1', ...partyVoice(0) }]);
  const listener = new RecordingListener();
  const client = createMediaStreamsClient({
    audio,
    clock: realClock,
    listener,
    authToken: 'secret',
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  cleanups.push(() => client.close());
  return { listener, client, audio };
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return address.port;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}

describe('Media Streams client: connection failures', () => {
  it('reports a refused connection as 31902 without throwing, and other streams carry on', async () => {
    const { listener, client } = setup();
    const healthy = await startServer();
    cleanups.push(() => healthy.close());
    const good = spec(`${healthy.origin}/ok`);
    const refused = spec(`ws://127.0.0.1:${await closedPort()}/media`);
    client.open(good);
    expect(() => {
      client.open(refused);
    }).not.toThrow();
    await waitFor(() => listener.errorsOf(refused.streamSid).length > 0, 'the error');
    expect(listener.errorsOf(refused.streamSid)).toEqual([31902]);
    expect(listener.events.filter((e) => e.streamSid === refused.streamSid)).toHaveLength(1);
    expect(client.stats(refused.streamSid)).toMatchObject({
      state: 'failed',
      startedAtMs: null,
      framesByTrack: { inbound: 0, outbound: 0 },
    });
    const connection = await connectionOf(healthy);
    await waitFor(() => mediaOf(connection).length >= 10, 'the healthy stream to go on');
    expect(listener.errorsOf(good.streamSid)).toEqual([]);
  });

  it('reports a server that never completes the upgrade as 31901', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    const port = await listen(silent);
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) =>
        silent.close(() => {
          resolve();
        }),
      );
    });
    const { listener, client } = setup({ connectTimeoutMs: 200 });
    const stream = spec(`ws://127.0.0.1:${port}/slow`);
    client.open(stream);
    await waitFor(() => listener.errorsOf(stream.streamSid).length > 0, 'the timeout');
    expect(listener.errorsOf(stream.streamSid)).toEqual([31901]);
  });

  it('reports an upgrade answered without 101 as 31920', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: () => false });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    );
    const { port } = server.address() as { port: number };
    const { listener, client } = setup();
    const stream = spec(`ws://127.0.0.1:${port}/forbidden`);
    client.open(stream);
    await waitFor(() => listener.errorsOf(stream.streamSid).length > 0, 'the handshake error');
    expect(listener.errorsOf(stream.streamSid)).toEqual([31920]);
    expect(listener.events.find((e) => e.type === 'error')).toMatchObject({
      message: expect.stringContaining('401') as unknown,
    });
  });

  it.each([
    ['ws://example.com/media', 31922],
    ['https://example.com/media', 31922],
    ['http://127.0.0.1:1/media', 31922],
    ['not a url', 31923],
  ])('refuses %s with %i before connecting', async (url, code) => {
    const { listener, client } = setup();
    const stream = spec(url);
    expect(() => {
      client.open(stream);
    }).not.toThrow();
    await waitFor(() => listener.events.length > 0, 'the error');
    expect(listener.events).toEqual([
      { type: 'error', streamSid: stream.streamSid, code, message: expect.any(String) as unknown },
    ]);
  });

  it('refuses a track list Twilio does not allow with 31941', async () => {
    const { listener, client } = setup();
    const stream = spec('ws://127.0.0.1:1/x', { tracks: ['outbound', 'inbound'] });
    client.open(stream);
    await waitFor(() => listener.events.length > 0, 'the error');
    expect(listener.errorsOf(stream.streamSid)).toEqual([31941]);
  });
});

describe('Media Streams client: failures mid-stream', () => {
  it('reports a server closing the socket as 31921', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const { listener, client } = setup();
    const stream = spec(`${server.origin}/x`);
    client.open(stream);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 3, 'frames');
    connection.socket.close(1011, 'going away');
    await waitFor(() => listener.errorsOf(stream.streamSid).length > 0, 'the error');
    expect(listener.errorsOf(stream.streamSid)).toEqual([31921]);
    expect(listener.events.at(-1)).toMatchObject({
      message: expect.stringContaining('1011') as unknown,
    });
    expect(client.stats(stream.streamSid)?.state).toBe('failed');
    // A failed stream is over: stop() is a no-op that resolves.
    await client.stop(stream.streamSid);
    expect(listener.events.filter((e) => e.type === 'error')).toHaveLength(1);
  });

  it('reports a dropped connection as 31903', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const { listener, client } = setup();
    const stream = spec(`${server.origin}/x`);
    client.open(stream);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 3, 'frames');
    connection.socket.terminate();
    await waitFor(() => listener.errorsOf(stream.streamSid).length > 0, 'the error');
    expect(listener.errorsOf(stream.streamSid)).toEqual([31903]);
  });

  it('reports a protocol violation by the server as 31924', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const { listener, client } = setup();
    const stream = spec(`${server.origin}/x`);
    client.open(stream);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 2, 'frames');
    // Larger than the 64 KiB the client accepts from a server that should send nothing.
    connection.socket.send('x'.repeat(100_000));
    await waitFor(() => listener.errorsOf(stream.streamSid).length > 0, 'the error');
    expect(listener.errorsOf(stream.streamSid)).toEqual([31924]);
  });

  it('logs 31950 once when the server sends binary frames, and keeps streaming', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const { logger, records } = memoryLogger();
    const { listener, client } = setup({ logger });
    const stream = spec(`${server.origin}/x`);
    client.open(stream);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 2, 'frames');
    for (let i = 0; i < 3; i++) connection.socket.send(Buffer.from([1, 2, 3]));
    connection.socket.send('{"event":"mark"}');
    const seen = mediaOf(connection).length;
    await waitFor(() => mediaOf(connection).length >= seen + 10, 'more frames');
    const warnings = records.filter((r) => r.code === 31950);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ streamSid: stream.streamSid, level: 40 });
    expect(listener.errorsOf(stream.streamSid)).toEqual([]);
  });
});

describe('Media Streams client: robustness', () => {
  it('survives a listener and an audio source that throw', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const audio = new FakeCallAudio();
    audio.inbound = () => {
      throw new Error('model bug');
    };
    const client = createMediaStreamsClient({
      audio,
      clock: realClock,
      listener: {
        onStarted: () => {
          throw new Error('listener bug');
        },
        onError: () => {
          throw new Error('listener bug');
        },
      },
      authToken: 'secret',
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => client.close());
    const stream = spec(`${server.origin}/x`);
    client.open(stream);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 3, 'frames');
    const bytes = Buffer.from(mediaOf(connection)[0]?.media.payload ?? '', 'base64');
    expect([...new Set(bytes)]).toEqual([0xff]);
    connection.socket.terminate();
    await waitFor(() => client.stats(stream.streamSid)?.state === 'failed', 'the failure');
  });

  it('stops a stream that is still connecting without sending anything', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    const port = await listen(silent);
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) =>
        silent.close(() => {
          resolve();
        }),
      );
    });
    const { listener, client } = setup();
    const stream = spec(`ws://127.0.0.1:${port}/slow`);
    client.open(stream);
    await waitFor(() => sockets.length === 1, 'the TCP connection');
    await client.stop(stream.streamSid);
    expect(client.stats(stream.streamSid)?.state).toBe('stopped');
    expect(listener.events).toEqual([]);
  });

  it('close() stops every stream with a stop message, and refuses new ones', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const { listener, client } = setup();
    const streams = [spec(`${server.origin}/a`), spec(`${server.origin}/b`)];
    for (const stream of streams) client.open(stream);
    await waitFor(
      () => server.connections.filter((c) => mediaOf(c).length > 0).length === 2,
      'two',
    );
    await client.close();
    for (const connection of server.connections) {
      expect(connection.messages.at(-1)?.event).toBe('stop');
      await waitFor(() => connection.closeCode === 1000, 'a normal close');
    }
    const late = spec(`${server.origin}/c`);
    client.open(late);
    await waitFor(() => listener.errorsOf(late.streamSid).length > 0, 'the refusal');
    expect(server.connections).toHaveLength(2);
  });

  it('paces dozens of streams at once', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const { listener, client } = setup();
    const streams = Array.from({ length: 30 }, (_, i) =>
      spec(`${server.origin}/s${i}`, { tracks: ['inbound', 'outbound'] }),
    );
    for (const stream of streams) client.open(stream);
    await waitFor(
      () =>
        server.connections.length === 30 &&
        server.connections.every((c) => mediaOf(c, 'outbound').length >= 25),
      'half a second of audio on every stream',
      20_000,
    );
    for (const connection of server.connections) {
      const timestamps = mediaOf(connection, 'inbound').map((m) => Number(m.media.timestamp));
      expect(timestamps).toEqual(timestamps.map((_, i) => i * 20));
    }
    expect(listener.events.filter((e) => e.type === 'error')).toEqual([]);
  });
});
