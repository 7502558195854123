import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../events.js';
import type {
  MediaStreamSpec,
  MediaStreamStats,
  MediaStreamsClient,
  StreamTrack,
} from '../media/ports.js';
import type { WebhookRequest, WebhookSender } from '../webhooks/sender.js';
import { CallModel } from './model.js';
import type { AudioCatalog, CallRecord, JoinOptions } from './records.js';

const tone = (frequencyHz: number) => ({ frequencyHz, gain: 0.1 });
const audio: AudioCatalog = {
  partyVoice: (n) => tone(1000 + n * 100),
  distinctVoices: 16,
  sounds: { holdMusic: tone(1), waitMusic: tone(2), beep: tone(3), say: tone(4), play: tone(5) },
  beepMs: 400,
  sayMsPerChar: 10,
  playMs: 100,
};

/** A media engine that keeps the contract's bookkeeping without sockets. */
class RecordingMedia implements MediaStreamsClient {
  readonly opened: MediaStreamSpec[] = [];
  readonly stopped: string[] = [];
  open(spec: MediaStreamSpec): void {
    this.opened.push(spec);
  }
  stop(streamSid: string): Promise<void> {
    this.stopped.push(streamSid);
    return Promise.resolve();
  }
  readonly gaps: [string, StreamTrack, number][] = [];
  injectGap(streamSid: string, track: StreamTrack, durationMs: number): void {
    this.gaps.push([streamSid, track, durationMs]);
  }
  stats(streamSid: string): MediaStreamStats | undefined {
    const zero: Record<StreamTrack, number> = { inbound: 0, outbound: 0 };
    return {
      streamSid,
      state: 'streaming',
      framesByTrack: zero,
      skippedByTrack: zero,
      startedAtMs: 0,
      endedAtMs: null,
    };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function setup() {
  let now = 1000;
  const sent: WebhookRequest[] = [];
  const webhooks: WebhookSender = {
    send: (request) => {
      sent.push(request);
      return Promise.resolve({ status: 200, body: '' });
    },
  };
  const media = new RecordingMedia();
  const model = new CallModel({
    accountSid: `AC${'0'.repeat(32)}`,
    clock: { now: () => now },
    logger: pino({ level: 'silent' }),
    events: new EventLog(),
    audio,
    webhooks,
    createMediaClient: () => media,
  });
  const advance = (ms: number): void => {
    now += ms;
  };
  return { model, media, sent, advance, now: () => now };
}

const join = (name: string, extra: Partial<JoinOptions> = {}): JoinOptions => ({
  name,
  beep: 'false',
  startConferenceOnEnter: true,
  endConferenceOnExit: false,
  muted: false,
  waitUrl: null,
  statusCallback: null,
  statusCallbackMethod: 'POST',
  statusCallbackEvent: [],
  participantLabel: null,
  coach: null,
  label: null,
  ...extra,
});

function answered(model: CallModel, options: JoinOptions): CallRecord {
  return model.createCallAnswered({ from: '+1', to: '+2', options });
}

const heard = (model: CallModel, call: CallRecord, at: number): number[] =>
  model
    .outbound(call.sid, at)
    .map((s) => s.frequencyHz)
    .sort((a, b) => a - b);

describe('CallModel audio (CallAudioSource)', () => {
  it('plays wait music while the conference waits, then the mix minus self', () => {
    const { model, now } = setup();
    const waiting = answered(model, join('r', { startConferenceOnEnter: false }));
    expect(heard(model, waiting, now())).toEqual([2]);
    const silent = answered(model, join('r2', { startConferenceOnEnter: false, waitUrl: '' }));
    expect(heard(model, silent, now())).toEqual([]);
    const starter = answered(model, join('r'));
    expect(heard(model, waiting, now())).toEqual([starter.voice.frequencyHz]);
    expect(heard(model, starter, now())).toEqual([waiting.voice.frequencyHz]);
    expect(model.inbound(waiting.sid)).toEqual([
      { source: `call:${waiting.sid}`, ...waiting.voice },
    ]);
  });

  it('lets a coach be heard only by the call it coaches', () => {
    const { model, now } = setup();
    const customer = answered(model, join('c'));
    const agent = answered(model, join('c'));
    const supervisor = answered(model, join('c', { coaching: true, callSidToCoach: agent.sid }));
    expect(heard(model, agent, now())).toEqual(
      [customer.voice.frequencyHz, supervisor.voice.frequencyHz].sort((a, b) => a - b),
    );
    expect(heard(model, customer, now())).toEqual([agent.voice.frequencyHz]);
  });

  it('beeps on enter and on exit for BEEP_MS, as each participant’s beep setting says', () => {
    const { model, now, advance } = setup();
    const a = answered(model, join('b', { beep: 'onExit' }));
    const b = answered(model, join('b', { beep: 'onEnter' }));
    expect(heard(model, a, now())).toContain(3);
    expect(heard(model, a, now() + 399)).toContain(3);
    expect(heard(model, a, now() + 400)).not.toContain(3);
    advance(1000);
    const c = answered(model, join('b', { beep: 'onExit' }));
    expect(heard(model, a, now())).not.toContain(3);
    model.endCall(c);
    expect(heard(model, a, now())).toContain(3);
    advance(1000);
    model.endCall(b);
    expect(heard(model, a, now())).not.toContain(3);
  });

  it('hears nothing once the call has ended', () => {
    const { model, now } = setup();
    const a = answered(model, join('e'));
    answered(model, join('e'));
    model.endCall(a);
    expect(model.outbound(a.sid, now())).toEqual([]);
    expect(model.inbound(a.sid)).toEqual([]);
  });
});

describe('CallModel streams', () => {
  it('hands the engine a spec, frees tracks on error and stops the rest when the call ends', () => {
    const { model, media, sent } = setup();
    const call = answered(model, join('s'));
    const input = { url: 'wss://x/y', name: 'A', parameters: { k: 'v' }, via: 'rest' as const };
    const a = model.createStream(call, {
      ...input,
      track: 'both_tracks',
      statusCallback: { url: 'https://cb/s', method: 'POST' },
    });
    const b = model.createStream(call, {
      ...input,
      name: 'B',
      track: 'both_tracks',
      statusCallback: null,
    });
    expect(media.opened.map((s) => s.tracks)).toEqual([
      ['inbound', 'outbound'],
      ['inbound', 'outbound'],
    ]);
    expect(() =>
      model.createStream(call, {
        ...input,
        name: 'C',
        track: 'inbound_track',
        statusCallback: null,
      }),
    ).toThrow(/maximum of 4/);
    model.onError(a.sid, 31902, 'refused');
    expect(sent.at(-1)?.params).toMatchObject({
      StreamEvent: 'stream-error',
      StreamError: '31902: refused',
    });
    model.createStream(call, { ...input, name: 'C', track: 'inbound_track', statusCallback: null });
    model.endCall(call);
    expect(media.stopped).toContain(b.sid);
    expect(
      [...model.streams.values()].every((s) => s.state === 'stopped' || s.state === 'failed'),
    ).toBe(true);
  });
});
