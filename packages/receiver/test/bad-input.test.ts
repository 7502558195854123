import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RECEIVER_ERRORS,
  startReceiver,
  type Receiver,
  type StreamStoppedEvent,
} from '../src/index.js';
import {
  TestStream,
  constantFrame,
  expectEveryWavReadable,
  readSidecar,
  readWav,
  sid,
  soxInfo,
  tempDir,
  waitFor,
} from './helpers.js';

let dir: string;
let remove: () => Promise<void>;
let receiver: Receiver;
let registry: Registry;
const stoppedEvents: StreamStoppedEvent[] = [];
/** A well-behaved stream that keeps sending while every bad one is tried. */
let good: TestStream;
let goodClock = 0;

function goodFrame(): void {
  good.media('inbound', goodClock, constantFrame(0x11));
  good.media('outbound', goodClock, constantFrame(0x22));
  goodClock += 20;
}

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
  registry = new Registry();
  receiver = await startReceiver({
    recordingsDir: dir,
    registry,
    maxMessageBytes: 4096,
    startTimeoutMs: 500,
  });
  receiver.events.on('streamStopped', (e) => stoppedEvents.push(e));
  good = await TestStream.connect(receiver.url);
  good.start(['inbound', 'outbound'], { streamName: 'good' });
  goodFrame();
});

afterAll(async () => {
  await receiver.close();
  // Streams closed for bad input after start leave recordings too: all must be readable.
  expect(await expectEveryWavReadable(dir)).toBeGreaterThanOrEqual(8);
  await remove();
});

const startMessage = (s: TestStream, overrides: Record<string, unknown> = {}): unknown => ({
  event: 'start',
  sequenceNumber: '1',
  streamSid: s.streamSid,
  start: {
    accountSid: s.accountSid,
    streamSid: s.streamSid,
    callSid: s.callSid,
    tracks: ['inbound'],
    customParameters: {},
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    ...overrides,
  },
});

type Case = readonly [
  name: string,
  code: keyof typeof RECEIVER_ERRORS | 1009,
  send: (s: TestStream) => void,
];

const cases: readonly Case[] = [
  [
    'a binary frame',
    'FS_RCV_BINARY_FRAME',
    (s) => {
      s.sendRaw(Buffer.from([1, 2, 3]), true);
    },
  ],
  [
    'text that is not JSON',
    'FS_RCV_INVALID_JSON',
    (s) => {
      s.sendRaw('{"event":');
    },
  ],
  [
    'a JSON array',
    'FS_RCV_INVALID_MESSAGE',
    (s) => {
      s.sendRaw('[1,2]');
    },
  ],
  [
    'an unknown event',
    'FS_RCV_UNKNOWN_EVENT',
    (s) => {
      s.send({ event: 'hello' });
    },
  ],
  [
    'a message without event',
    'FS_RCV_UNKNOWN_EVENT',
    (s) => {
      s.send({ streamSid: s.streamSid });
    },
  ],
  [
    'media before start',
    'FS_RCV_MEDIA_BEFORE_START',
    (s) => {
      s.media('inbound', 0, constantFrame(1));
    },
  ],
  [
    'stop before start',
    'FS_RCV_MEDIA_BEFORE_START',
    (s) => {
      s.stop();
    },
  ],
  [
    'a second start',
    'FS_RCV_DUPLICATE_START',
    (s) => {
      s.start(['inbound']);
      s.send(startMessage(s));
    },
  ],
  [
    'a start with a malformed callSid',
    'FS_RCV_INVALID_MESSAGE',
    (s) => {
      s.send(startMessage(s, { callSid: '../../x' }));
    },
  ],
  [
    'a start whose two streamSids differ',
    'FS_RCV_STREAM_SID_MISMATCH',
    (s) => {
      s.send(startMessage(s, { streamSid: sid('MZ') }));
    },
  ],
  [
    'a start with unknown tracks',
    'FS_RCV_INVALID_MESSAGE',
    (s) => {
      s.send(startMessage(s, { tracks: ['both'] }));
    },
  ],
  [
    'a start in another format',
    'FS_RCV_UNSUPPORTED_FORMAT',
    (s) => {
      s.send(
        startMessage(s, { mediaFormat: { encoding: 'audio/l16', sampleRate: 16000, channels: 1 } }),
      );
    },
  ],
  [
    'media with a numeric timestamp',
    'FS_RCV_INVALID_MESSAGE',
    (s) => {
      s.start(['inbound']);
      s.send({
        event: 'media',
        sequenceNumber: '2',
        streamSid: s.streamSid,
        media: { track: 'inbound', chunk: '1', timestamp: 5, payload: 'AAAA' },
      });
    },
  ],
  [
    'media whose payload is not base64',
    'FS_RCV_INVALID_MESSAGE',
    (s) => {
      s.start(['inbound']);
      s.send({
        event: 'media',
        sequenceNumber: '2',
        streamSid: s.streamSid,
        media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '!!!!' },
      });
    },
  ],
  [
    'media for another streamSid',
    'FS_RCV_STREAM_SID_MISMATCH',
    (s) => {
      s.start(['inbound']);
      s.send({
        event: 'media',
        sequenceNumber: '2',
        streamSid: sid('MZ'),
        media: { track: 'inbound', chunk: '1', timestamp: '0', payload: 'AAAA' },
      });
    },
  ],
  [
    'media on a track start did not announce',
    'FS_RCV_TRACK_NOT_ANNOUNCED',
    (s) => {
      s.start(['inbound']);
      s.media('outbound', 0, constantFrame(1));
    },
  ],
  [
    'a timestamp an hour and more ahead',
    'FS_RCV_TIMESTAMP_OUT_OF_RANGE',
    (s) => {
      s.start(['inbound']);
      s.media('inbound', 0, constantFrame(1));
      s.media('inbound', 3_700_000, constantFrame(1));
    },
  ],
  [
    'a message after stop',
    'FS_RCV_MESSAGE_AFTER_STOP',
    (s) => {
      s.start(['inbound']);
      s.stop();
      s.media('inbound', 0, constantFrame(1));
    },
  ],
  [
    'a frame over maxMessageBytes after start',
    'FS_RCV_MESSAGE_TOO_LARGE',
    (s) => {
      s.start(['inbound']);
      s.sendRaw(`{"event":"media","x":"${'a'.repeat(5000)}"}`);
    },
  ],
  [
    'a socket that never sends start',
    'FS_RCV_START_TIMEOUT',
    (s) => {
      s.connected();
    },
  ],
  [
    'a frame over the library ceiling (4 × maxMessageBytes)',
    1009,
    (s) => {
      s.sendRaw('x'.repeat(20_000));
    },
  ],
];

describe('bad input closes only its own socket with a defined code', () => {
  it.each(cases)('%s', async (_name, code, send) => {
    const bad = await TestStream.connect(receiver.url);
    send(bad);
    goodFrame();
    const closed = await bad.closed;
    const expected = typeof code === 'number' ? code : RECEIVER_ERRORS[code].closeCode;
    expect(closed.code).toBe(expected);
    if (typeof code !== 'number') expect(closed.reason).toBe(code);
    goodFrame();
    expect(good.ws.readyState).toBe(good.ws.OPEN);
  });

  it('records an error with its code in the sidecar of a stream that had started', async () => {
    const bad = await TestStream.connect(receiver.url);
    bad.start(['inbound'], { streamName: 'broken' });
    bad.media('inbound', 0, constantFrame(0x33));
    bad.sendRaw('not json');
    expect((await bad.closed).code).toBe(4002);
    await waitFor(
      () => stoppedEvents.some((e) => e.streamSid === bad.streamSid),
      'the broken recording to finish',
    );
    const event = stoppedEvents.find((e) => e.streamSid === bad.streamSid);
    expect(event?.endReason).toBe('error');
    const sidecar = await readSidecar(event?.sidecarPath ?? '');
    expect(sidecar.error?.code).toBe('FS_RCV_INVALID_JSON');
    expect(await soxInfo(event?.wavPath ?? '')).toMatchObject({
      channels: 1,
      sampleRate: 8000,
      samples: 160,
    });
  });

  it('the good stream, running alongside all of it, is recorded completely and exactly', async () => {
    const frames = goodClock / 20;
    good.stop();
    await waitFor(
      () => stoppedEvents.some((e) => e.streamSid === good.streamSid),
      'the good recording to finish',
    );
    const event = stoppedEvents.find((e) => e.streamSid === good.streamSid);
    expect(event?.endReason).toBe('stop');
    const wav = await readWav(event?.wavPath ?? '');
    expect(wav.durationMs).toBe(goodClock);
    expect(wav.byChannel[0]?.every((b) => b === 0x11)).toBe(true);
    expect(wav.byChannel[1]?.every((b) => b === 0x22)).toBe(true);
    expect(event?.sidecar.framesByTrack).toEqual({ inbound: frames, outbound: frames });
    expect(event?.sidecar.gaps).toEqual([]);
    expect(await soxInfo(event?.wavPath ?? '')).toMatchObject({
      channels: 2,
      samples: goodClock * 8,
    });
    const metrics = await registry.metrics();
    expect(metrics).toContain(
      'flex_streams_receiver_protocol_errors_total{code="FS_RCV_BINARY_FRAME"} 1',
    );
    expect(metrics).toContain(
      'flex_streams_receiver_protocol_errors_total{code="FS_RCV_MEDIA_BEFORE_START"} 2',
    );
    // The process is still serving: a new stream is accepted.
    const after = await TestStream.connect(receiver.url);
    after.close();
    await after.closed;
  });
});
