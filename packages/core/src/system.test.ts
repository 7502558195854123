import { describe, expect, it } from 'vitest';
import { createSegmentIdGenerator, createSystemClock } from './system.js';

describe('system ports', () => {
  it('the system clock reads the wall clock and really waits', async () => {
    const clock = createSystemClock();
    const before = clock.now();
    expect(Math.abs(before - Date.now())).toBeLessThan(1000);
    await clock.sleep(20);
    // Timers may fire a little early on a loaded machine, never much.
    expect(clock.now() - before).toBeGreaterThanOrEqual(15);
  });

  it('segment ids are unique and SID-shaped', () => {
    const next = createSegmentIdGenerator();
    const ids = new Set(Array.from({ length: 100 }, () => next()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^SG[0-9a-f]{32}$/);
  });
});
