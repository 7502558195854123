import { describe, expect, it } from 'vitest';
import { parseStreamName, streamNameFor } from './naming.js';
import { makeSid } from './testing/index.js';

describe('stream names', () => {
  const reservation = makeSid('WR', 0xabc);

  it('are short, URL-safe and round-trip to reservation and continuation', () => {
    const name = streamNameFor(reservation, 3);
    expect(name).toBe(`fs-${reservation}-3`);
    expect(name.length).toBeLessThanOrEqual(40);
    expect(encodeURIComponent(name)).toBe(name);
    expect(parseStreamName(name)).toEqual({ reservationSid: reservation, continuation: 3 });
  });

  it('differ per continuation, so a restart never collides with the stopped run', () => {
    expect(streamNameFor(reservation, 0)).not.toBe(streamNameFor(reservation, 1));
  });

  it('reject names that are not ours', () => {
    expect(parseStreamName('Stream_WK123')).toBeNull();
    expect(parseStreamName(`fs-${reservation}`)).toBeNull();
    expect(parseStreamName(`fs-${makeSid('WT', 1)}-0`)).toBeNull();
  });
});
