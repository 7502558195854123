import { describe, expect, it } from 'vitest';
import { StreamTimeline, type CommittedSegment } from './timeline.js';

/** Expands committed segments into the bytes they stand for. */
function flatten(segments: readonly CommittedSegment[]): number[] {
  return segments.flatMap((s) =>
    s.kind === 'audio' ? [...s.bytes] : new Array<number>(s.bytes).fill(0xff),
  );
}

const frame = (value: number, ms = 20): Uint8Array => new Uint8Array(ms * 8).fill(value);

describe('StreamTimeline', () => {
  it('places frames by timestamp, fills gaps with silence and reports them', () => {
    const t = new StreamTimeline(['inbound'], 0);
    t.place('inbound', 0, frame(1));
    t.place('inbound', 60, frame(2));
    const result = t.commit(true);
    const bytes = flatten(result.segments);
    expect(bytes).toHaveLength(80 * 8);
    expect(bytes.slice(0, 160).every((b) => b === 1)).toBe(true);
    expect(bytes.slice(160, 480).every((b) => b === 0xff)).toBe(true);
    expect(bytes.slice(480).every((b) => b === 2)).toBe(true);
    expect(result.gaps).toEqual([{ track: 'inbound', atMs: 20, durationMs: 40 }]);
  });

  it('takes frames stamped 1–2 ms off the 20 ms grid as contiguous: no click, no gap, no overlap', () => {
    const t = new StreamTimeline(['inbound'], 0);
    // Whole-millisecond stamps of a 20 ms cadence: 19 and 21 ms apart, as Twilio may send them.
    const stamps = [0, 21, 40, 59, 80, 101, 120];
    const outcomes = stamps.map((ms, i) => t.place('inbound', ms, frame(i + 1)));
    expect(outcomes.every((o) => o.kind === 'placed' && !o.overlap)).toBe(true);
    const result = t.commit(true);
    const bytes = flatten(result.segments);
    expect(bytes).toHaveLength(stamps.length * 160);
    expect(bytes.every((b, i) => b === Math.floor(i / 160) + 1)).toBe(true);
    expect(result.gaps).toEqual([]);
  });

  it('never lets the placement drift more than 2 ms from the stamps: a steady skew shows as a gap', () => {
    const t = new StreamTimeline(['inbound'], 0);
    // 21 ms apart every time: placed back to back twice, then 3 ms behind its stamp, so the
    // third frame goes where it is stamped and the 3 ms before it are silence.
    for (const [i, ms] of [0, 21, 42, 63].entries()) t.place('inbound', ms, frame(i + 1));
    const result = t.commit(true);
    expect(result.gaps).toEqual([{ track: 'inbound', atMs: 60, durationMs: 3 }]);
    expect(flatten(result.segments)).toHaveLength(83 * 8);
  });

  it('interleaves two tracks sample by sample and keeps a late-starting track aligned', () => {
    const t = new StreamTimeline(['inbound', 'outbound'], 0);
    t.place('inbound', 0, frame(1));
    t.place('inbound', 20, frame(1));
    t.place('outbound', 20, frame(2));
    const result = t.commit(true);
    const bytes = flatten(result.segments);
    expect(bytes).toHaveLength(40 * 8 * 2);
    // First 20 ms: inbound audio on channel 1, silence on channel 2.
    expect(bytes.slice(0, 320).every((b, i) => b === (i % 2 === 0 ? 1 : 0xff))).toBe(true);
    expect(bytes.slice(320).every((b, i) => b === (i % 2 === 0 ? 1 : 2))).toBe(true);
    expect(result.gaps).toEqual([{ track: 'outbound', atMs: 0, durationMs: 20 }]);
  });

  it('counts duplicates, places out-of-order frames inside the window and drops late ones', () => {
    const t = new StreamTimeline(['inbound'], 40);
    expect(t.place('inbound', 0, frame(1)).kind).toBe('placed');
    expect(t.place('inbound', 40, frame(3))).toEqual({
      kind: 'placed',
      outOfOrder: false,
      overlap: false,
    });
    expect(t.place('inbound', 20, frame(2))).toEqual({
      kind: 'placed',
      outOfOrder: true,
      overlap: false,
    });
    expect(t.place('inbound', 20, frame(2)).kind).toBe('duplicate');
    t.place('inbound', 100, frame(4));
    const first = t.commit(false);
    expect(first.toMs).toBe(80);
    expect(t.place('inbound', 60, frame(9)).kind).toBe('late');
    const rest = t.commit(true);
    const bytes = flatten([...first.segments, ...rest.segments]);
    expect(bytes.slice(0, 480)).toEqual([...frame(1), ...frame(2), ...frame(3)]);
    expect(bytes.slice(480, 800).every((b) => b === 0xff)).toBe(true);
    expect(rest.gaps).toEqual([{ track: 'inbound', atMs: 60, durationMs: 40 }]);
  });

  it('reports one level per track per second of the timeline', () => {
    const t = new StreamTimeline(['inbound', 'outbound'], 0);
    for (let ms = 0; ms < 1500; ms += 20) t.place('inbound', ms, frame(0x80));
    const levels = t.commit(true).levels;
    expect(levels.map((l) => [l.track, l.second])).toEqual([
      ['inbound', 0],
      ['inbound', 1],
      ['outbound', 0],
      ['outbound', 1],
    ]);
    expect(levels[0]?.rmsDbfs).toBeGreaterThan(-1);
    expect(levels[2]?.rmsDbfs).toBe(-100);
  });

  it('commits past the reorder window when asked to flush everything, keeping gaps open', () => {
    const t = new StreamTimeline(['inbound'], 200);
    t.place('inbound', 0, frame(1, 500));
    expect(t.commit(false).toMs).toBe(300);
    const all = t.commit(false, true);
    expect(all).toMatchObject({ fromMs: 300, toMs: 500, gaps: [] });
    expect(t.place('inbound', 480, frame(2)).kind).toBe('late');
    t.place('inbound', 600, frame(3));
    expect(t.commit(true).gaps).toEqual([{ track: 'inbound', atMs: 500, durationMs: 100 }]);
  });

  it('lets a trailing track lag up to maxTrackLagMs behind the other without losing its frames', () => {
    const t = new StreamTimeline(['inbound', 'outbound'], 200, 500);
    // The outbound track arrives 300 ms behind the inbound one, as separate messages may.
    for (let at = 0; at < 1000; at += 20) t.place('inbound', at, frame(1));
    for (let at = 0; at < 700; at += 20) t.place('outbound', at, frame(2));
    // Held back by the outbound track's own window (700 - 200), not the inbound one's (800).
    expect(t.commit(false).toMs).toBe(500);
    for (let at = 700; at < 1000; at += 20) {
      expect(t.place('outbound', at, frame(2))).toMatchObject({
        kind: 'placed',
        outOfOrder: false,
      });
    }
    const bytes = flatten(t.commit(true).segments);
    expect(bytes.filter((_, i) => i % 2 === 1).every((b) => b === 2)).toBe(true);
  });

  it('waits for a silent or absent track at most maxTrackLagMs behind the newest audio', () => {
    const t = new StreamTimeline(['inbound', 'outbound'], 200, 500);
    for (let at = 0; at < 2000; at += 20) t.place('inbound', at, frame(1));
    expect(t.commit(false).toMs).toBe(1500);
    expect(t.place('outbound', 1400, frame(2)).kind).toBe('late');
  });
});
