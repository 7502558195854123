import { describe, expect, it } from 'vitest';
import { createControllerConfig } from './config.js';
import { isFsError } from './errors.js';

describe('createControllerConfig', () => {
  it('defaults to rest, customer leg, both_tracks, a budget of 4, and freezes the result', () => {
    const config = createControllerConfig({ streamUrl: 'wss://rx.example.com/streams' });
    expect(config).toMatchObject({
      strategy: 'rest',
      leg: 'customer',
      track: 'both_tracks',
      maxTracksPerCall: 4,
      statusCallbackUrl: null,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('rejects twiml with the worker leg, saying why and what to use instead', () => {
    expect(() =>
      createControllerConfig({
        streamUrl: 'wss://rx.example.com/s',
        strategy: 'twiml',
        leg: 'worker',
      }),
    ).toThrow(
      /strategy 'twiml' cannot be used with leg 'worker'.*Use leg 'customer', or strategy 'rest'/s,
    );
    expect(
      createControllerConfig({
        streamUrl: 'wss://rx.example.com/s',
        strategy: 'rest',
        leg: 'worker',
      }).leg,
    ).toBe('worker');
  });

  it('reports every problem in one FS_ERR_INVALID_CONFIG error', () => {
    try {
      createControllerConfig({
        streamUrl: 'https://rx.example.com/s?x=1',
        track: 'stereo',
        maxTracksPerCall: 5,
      });
      expect.unreachable();
    } catch (error) {
      expect(isFsError(error, 'FS_ERR_INVALID_CONFIG')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('streamUrl must use wss');
      expect(message).toContain('must not contain a query string');
      expect(message).toContain('track must be one of');
      expect(message).toContain('maxTracksPerCall must be an integer from 1 to 4');
    }
  });

  it('accepts plain ws only on a loopback host (the local emulator)', () => {
    expect(createControllerConfig({ streamUrl: 'ws://127.0.0.1:4100/streams' }).streamUrl).toBe(
      'ws://127.0.0.1:4100/streams',
    );
    expect(() => createControllerConfig({ streamUrl: 'ws://rx.example.com/streams' })).toThrow(
      /plain ws only on a loopback host/,
    );
  });
});
