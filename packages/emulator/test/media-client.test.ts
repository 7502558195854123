import { pino } from 'pino';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALL_TONES_HZ,
  decodeMulawBase64,
  detectTones,
  partyVoice,
  SOUNDS,
  toneRuns,
} from '../src/audio/index.js';
import { createMediaStreamsClient } from '../src/media/client.js';
import type { MediaStreamSpec, MediaStreamsClient, StreamTrack } from '../src/media/ports.js';
import {
  connectionOf,
  FakeCallAudio,
  mediaOf,
  realClock,
  RecordingListener,
  startServer,
  waitFor,
  type ServerConnection,
  type TestServer,
} from './media-harness.js';

const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const CUSTOMER = { source: 'call:CA1', ...partyVoice(0) };
const AGENT_A = { source: 'call:CA2', ...partyVoice(1) };
const AGENT_B = { source: 'call:CA3', ...partyVoice(2) };
const HOLD = { source: 'hold-music', ...SOUNDS.holdMusic };

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

function spec(url: string, overrides: Partial<MediaStreamSpec> = {}): MediaStreamSpec {
  return {
    streamSid: 'MZ00000000000000000000000000000001',
    accountSid: ACCOUNT_SID,
    callSid: 'CA1',
    url,
    name: null,
    tracks: ['inbound', 'outbound'],
    customParameters: { segment: 'agent-a', empty: '' },
    ...overrides,
  };
}

async function setup(): Promise<{
  server: TestServer;
  audio: FakeCallAudio;
  listener: RecordingListener;
  client: MediaStreamsClient;
}> {
  const server = await startServer();
  const audio = new FakeCallAudio();
  const listener = new RecordingListener();
  const client = createMediaStreamsClient({
    audio,
    clock: realClock,
    listener,
    authToken: AUTH_TOKEN,
    logger: pino({ level: 'silent' }),
  });
  cleanups.push(
    () => client.close(),
    () => server.close(),
  );
  return { server, audio, listener, client };
}

/** The tones of each media message of a track, in order. */
function tonesPerFrame(connection: ServerConnection, track: StreamTrack): number[][] {
  return mediaOf(connection, track).map((m) =>
    detectTones(decodeMulawBase64(m.media.payload ?? ''), ALL_TONES_HZ),
  );
}

describe('Media Streams client: a both_tracks stream', () => {
  it('sends connected, start, paced media on both tracks and stop, with the exact shapes', async () => {
    const { server, audio, listener, client } = await setup();
    audio.set('CA1', 'inbound', [CUSTOMER]);
    audio.set('CA1', 'outbound', [AGENT_A]);
    const streamSpec = spec(`${server.origin}/streams/agent-a`);
    client.open(streamSpec);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection, 'outbound').length >= 10, '10 outbound frames');
    audio.set('CA1', 'outbound', [AGENT_A, AGENT_B]);
    const changedAtFrame = mediaOf(connection, 'outbound').length;
    await waitFor(
      () => mediaOf(connection, 'outbound').length >= changedAtFrame + 10,
      '10 more outbound frames',
    );
    audio.set('CA1', 'outbound', [HOLD]);
    const heldAtFrame = mediaOf(connection, 'outbound').length;
    await waitFor(
      () => mediaOf(connection, 'outbound').length >= heldAtFrame + 10,
      '10 outbound frames on hold',
    );
    await client.stop(streamSpec.streamSid);
    await waitFor(() => connection.closeCode !== null, 'the socket to close');

    const { messages } = connection;
    expect(messages[0]).toStrictEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(messages[1]).toStrictEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: streamSpec.streamSid,
      start: {
        accountSid: ACCOUNT_SID,
        streamSid: streamSpec.streamSid,
        callSid: 'CA1',
        tracks: ['inbound', 'outbound'],
        customParameters: { segment: 'agent-a', empty: '' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    const media = messages.slice(2, -1);
    expect(media.length).toBeGreaterThanOrEqual(40);
    for (const [i, message] of media.entries()) {
      expect(Object.keys(message)).toEqual(['event', 'sequenceNumber', 'streamSid', 'media']);
      expect(message.event).toBe('media');
      expect(message.sequenceNumber).toBe(String(i + 2));
      expect(message.streamSid).toBe(streamSpec.streamSid);
      const body = message.media as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['track', 'chunk', 'timestamp', 'payload']);
      for (const value of Object.values(body)) expect(typeof value).toBe('string');
      expect(Buffer.from(body.payload as string, 'base64')).toHaveLength(160);
      // Both tracks of one frame go together, inbound first.
      expect(body.track).toBe(i % 2 === 0 ? 'inbound' : 'outbound');
    }
    for (const track of ['inbound', 'outbound'] as const) {
      const frames = mediaOf(connection, track);
      expect(frames.map((m) => m.media.chunk)).toEqual(frames.map((_, i) => String(i + 1)));
      expect(frames.map((m) => m.media.timestamp)).toEqual(frames.map((_, i) => String(i * 20)));
    }
    expect(messages.at(-1)).toStrictEqual({
      event: 'stop',
      sequenceNumber: String(media.length + 2),
      streamSid: streamSpec.streamSid,
      stop: { accountSid: ACCOUNT_SID, callSid: 'CA1' },
    });
    expect(connection.closeCode).toBe(1000);

    // Audio by content: the customer on inbound; on outbound agent A, then A and B, then hold music.
    const inbound = tonesPerFrame(connection, 'inbound');
    expect(new Set(inbound.map((tones) => tones.join(',')))).toEqual(
      new Set([String(CUSTOMER.frequencyHz)]),
    );
    const runs = toneRuns(
      tonesPerFrame(connection, 'outbound').map((tones, i) => ({ startMs: i * 20, tones })),
    );
    expect(runs.map((run) => run.tones)).toEqual([
      [AGENT_A.frequencyHz],
      [AGENT_A.frequencyHz, AGENT_B.frequencyHz].sort((a, b) => a - b),
      [HOLD.frequencyHz],
    ]);
    expect((runs[1]?.startMs ?? 0) / 20).toBeGreaterThanOrEqual(changedAtFrame);
    expect((runs[2]?.startMs ?? 0) / 20).toBeGreaterThanOrEqual(heldAtFrame);

    const stats = client.stats(streamSpec.streamSid);
    expect(stats).toMatchObject({
      state: 'stopped',
      framesByTrack: { inbound: inbound.length, outbound: mediaOf(connection, 'outbound').length },
      skippedByTrack: { inbound: 0, outbound: 0 },
    });
    expect(listener.events).toEqual([{ type: 'started', streamSid: streamSpec.streamSid }]);
  });

  it('asks the audio source once per track per frame, at the frame start time', async () => {
    const { server, audio, client } = await setup();
    const streamSpec = spec(`${server.origin}/s`);
    client.open(streamSpec);
    await waitFor(() => audio.asked.length >= 20, '20 questions');
    await client.stop(streamSpec.streamSid);
    const started = client.stats(streamSpec.streamSid)?.startedAtMs ?? Number.NaN;
    for (const track of ['inbound', 'outbound'] as const) {
      const times = audio.asked
        .filter((q) => q.track === track)
        .map((q) => Math.round(q.atMs - started));
      expect(times).toEqual(times.map((_, i) => i * 20));
    }
    expect(audio.asked.every((q) => q.callSid === 'CA1')).toBe(true);
  });

  it('sends digital silence when the call makes no sound', async () => {
    const { server, client } = await setup();
    client.open(spec(`${server.origin}/s`, { tracks: ['outbound'] }));
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 3, 'frames');
    const frames = mediaOf(connection);
    expect(frames.every((m) => m.media.track === 'outbound')).toBe(true);
    const bytes = Buffer.from(frames[0]?.media.payload ?? '', 'base64');
    expect([...new Set(bytes)]).toEqual([0xff]);
  });
});

describe('Media Streams client: the upgrade request', () => {
  it('carries an X-Twilio-Signature that the official SDK validates', async () => {
    const { server, client } = await setup();
    const url = `${server.origin}/media/agent-b`;
    client.open(spec(url));
    const connection = await connectionOf(server);
    const signature = connection.headers['x-twilio-signature'];
    expect(typeof signature).toBe('string');
    expect(twilio.validateRequest(AUTH_TOKEN, String(signature), url, {})).toBe(true);
    expect(twilio.validateRequest('f'.repeat(32), String(signature), url, {})).toBe(false);
    expect(connection.path).toBe('/media/agent-b');
  });
});

describe('Media Streams client: pacing', () => {
  it('sends one frame per 20 ms of clock time, never audio from the future', async () => {
    const { server, client } = await setup();
    const streamSpec = spec(`${server.origin}/s`, { tracks: ['inbound'] });
    client.open(streamSpec);
    const connection = await connectionOf(server);
    const check = (): boolean => {
      const started = client.stats(streamSpec.streamSid)?.startedAtMs;
      const last = mediaOf(connection).at(-1);
      if (started == null || last === undefined) return false;
      // The frame stamped t holds audio of [t, t + 20): it can only exist once that has elapsed.
      expect(Number(last.media.timestamp) + 20).toBeLessThanOrEqual(realClock.now() - started);
      return Number(last.media.timestamp) >= 1000;
    };
    await waitFor(check, 'one second of audio');
    await client.stop(streamSpec.streamSid);
    const stats = client.stats(streamSpec.streamSid);
    const elapsed = (stats?.endedAtMs ?? 0) - (stats?.startedAtMs ?? 0);
    // stop() delivers every frame elapsed so far: the count is the elapsed time in frames.
    expect(stats?.framesByTrack.inbound).toBeGreaterThanOrEqual(Math.floor(elapsed / 20) - 1);
    expect(stats?.framesByTrack.inbound).toBeLessThanOrEqual(Math.floor(elapsed / 20));
    expect(mediaOf(connection)).toHaveLength(stats?.framesByTrack.inbound ?? -1);
  });

  it('catches up by timestamp after the event loop was blocked, without drifting', async () => {
    const { server, client } = await setup();
    const streamSpec = spec(`${server.origin}/s`, { tracks: ['inbound'] });
    client.open(streamSpec);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 2, 'frames');
    const blockUntil = realClock.now() + 300;
    while (realClock.now() < blockUntil) {
      // Busy-wait: a timer of the engine fires 300 ms late.
    }
    const started = client.stats(streamSpec.streamSid)?.startedAtMs ?? 0;
    // Caught up: the frames received cover the elapsed time, give or take two frames in flight.
    await waitFor(
      () =>
        mediaOf(connection).length >= 25 &&
        mediaOf(connection).length >= Math.floor((realClock.now() - started) / 20) - 2,
      'the stream to catch up',
    );
    const frames = mediaOf(connection);
    expect(frames.map((m) => m.media.timestamp)).toEqual(frames.map((_, i) => String(i * 20)));
  });
});

describe('Media Streams client: gaps', () => {
  it('leaves an injected gap unsent, so timestamps jump by its length', async () => {
    const { server, client } = await setup();
    const streamSpec = spec(`${server.origin}/s`);
    client.open(streamSpec);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection, 'inbound').length >= 5, '5 frames');
    client.injectGap(streamSpec.streamSid, 'inbound', 200);
    const before = mediaOf(connection, 'outbound').length;
    await waitFor(() => mediaOf(connection, 'outbound').length >= before + 20, '20 more frames');
    await client.stop(streamSpec.streamSid);

    const timestamps = mediaOf(connection, 'inbound').map((m) => Number(m.media.timestamp));
    const steps = timestamps.slice(1).map((t, i) => t - (timestamps[i] ?? 0));
    expect(steps.filter((step) => step !== 20)).toEqual([220]);
    const chunks = mediaOf(connection, 'inbound').map((m) => m.media.chunk);
    expect(chunks).toEqual(chunks.map((_, i) => String(i + 1)));
    const outbound = mediaOf(connection, 'outbound').map((m) => Number(m.media.timestamp));
    expect(outbound).toEqual(outbound.map((_, i) => i * 20));
    expect(client.stats(streamSpec.streamSid)?.skippedByTrack).toEqual({
      inbound: 10,
      outbound: 0,
    });
  });
});

describe('Media Streams client: silence skipping', () => {
  it('with skipSilentFrames, leaves silent frames unsent and timestamps show the gap', async () => {
    const server = await startServer();
    const audio = new FakeCallAudio();
    const client = createMediaStreamsClient({
      audio,
      clock: realClock,
      listener: new RecordingListener(),
      authToken: AUTH_TOKEN,
      logger: pino({ level: 'silent' }),
      skipSilentFrames: true,
    });
    cleanups.push(
      () => client.close(),
      () => server.close(),
    );
    audio.set('CA1', 'inbound', [CUSTOMER]);
    const streamSpec = spec(`${server.origin}/s`, { tracks: ['inbound'] });
    client.open(streamSpec);
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 5, '5 frames');
    audio.set('CA1', 'inbound', []);
    await waitFor(
      () => (client.stats(streamSpec.streamSid)?.skippedByTrack.inbound ?? 0) >= 5,
      '5 silent frames',
    );
    audio.set('CA1', 'inbound', [CUSTOMER]);
    const sent = mediaOf(connection).length;
    await waitFor(() => mediaOf(connection).length >= sent + 5, '5 more frames');
    await client.stop(streamSpec.streamSid);

    const frames = mediaOf(connection);
    const timestamps = frames.map((m) => Number(m.media.timestamp));
    const jumps = timestamps.slice(1).map((t, i) => t - (timestamps[i] ?? 0));
    const skipped = client.stats(streamSpec.streamSid)?.skippedByTrack.inbound ?? 0;
    expect(jumps.filter((jump) => jump !== 20)).toEqual([20 + skipped * 20]);
    for (const frame of frames) {
      expect(detectTones(decodeMulawBase64(frame.media.payload ?? ''), ALL_TONES_HZ)).toEqual([
        CUSTOMER.frequencyHz,
      ]);
    }
  });
});

describe('Media Streams client: frame size', () => {
  it('honours frameMs: payload bytes and timestamp steps follow it', async () => {
    const server = await startServer();
    const audio = new FakeCallAudio();
    audio.set('CA1', 'inbound', [CUSTOMER]);
    const client = createMediaStreamsClient({
      audio,
      clock: realClock,
      listener: new RecordingListener(),
      authToken: AUTH_TOKEN,
      logger: pino({ level: 'silent' }),
      frameMs: 40,
    });
    cleanups.push(
      () => client.close(),
      () => server.close(),
    );
    client.open(spec(`${server.origin}/s`, { tracks: ['inbound'] }));
    const connection = await connectionOf(server);
    await waitFor(() => mediaOf(connection).length >= 5, '5 frames');
    const frames = mediaOf(connection).slice(0, 5);
    expect(frames.map((m) => m.media.timestamp)).toEqual(['0', '40', '80', '120', '160']);
    for (const frame of frames) {
      const pcm = decodeMulawBase64(frame.media.payload ?? '');
      expect(pcm).toHaveLength(320);
      expect(detectTones(pcm, ALL_TONES_HZ)).toEqual([CUSTOMER.frequencyHz]);
    }
  });

  it('refuses a frame size or timeout that cannot work, at creation', () => {
    const base = {
      audio: new FakeCallAudio(),
      clock: realClock,
      listener: new RecordingListener(),
      authToken: AUTH_TOKEN,
      logger: pino({ level: 'silent' }),
    };
    expect(() => createMediaStreamsClient({ ...base, frameMs: 0 })).toThrow(RangeError);
    expect(() => createMediaStreamsClient({ ...base, frameMs: 0.1 })).toThrow(RangeError);
    expect(() => createMediaStreamsClient({ ...base, connectTimeoutMs: -1 })).toThrow(RangeError);
  });
});
