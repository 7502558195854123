import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPeriodic } from './periodic.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('startPeriodic', () => {
  it('runs one interval after each run ends, never overlapping, and stop waits for a run', async () => {
    vi.useFakeTimers();
    let active = 0;
    let most = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const periodic = startPeriodic({
      intervalMs: 1000,
      immediately: true,
      run: () => {
        runs += 1;
        active += 1;
        most = Math.max(most, active);
        return new Promise<void>((resolve) => {
          release = () => {
            active -= 1;
            resolve();
          };
        });
      },
    });
    expect(runs).toBe(1);
    // Still running: however long it takes, no second run starts.
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    let stopped = false;
    const stopping = periodic.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(2);
    expect(most).toBe(1);
  });

  it('goes on after a failed run, and schedules nothing with an interval of 0', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const failing = startPeriodic({
      intervalMs: 100,
      run: () => {
        runs += 1;
        return Promise.reject(new Error('boom'));
      },
    });
    await vi.advanceTimersByTimeAsync(350);
    expect(runs).toBe(3);
    await failing.stop();
    let never = 0;
    const off = startPeriodic({
      intervalMs: 0,
      run: () => {
        never += 1;
        return Promise.resolve();
      },
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(never).toBe(0);
    await off.stop();
  });
});
