import { describe, expect, it } from 'vitest';
import { createKeyedSerializer } from './serialize.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createKeyedSerializer', () => {
  it('never interleaves tasks of one key, even when one fails', async () => {
    const serializer = createKeyedSerializer();
    const trace: string[] = [];
    const task =
      (label: string, fail = false) =>
      async () => {
        trace.push(`${label}:begin`);
        await tick();
        await tick();
        trace.push(`${label}:end`);
        if (fail) throw new Error(label);
        return label;
      };
    const results = await Promise.allSettled([
      serializer.run('CA1', task('a', true)),
      serializer.run('CA1', task('b')),
    ]);
    expect(trace).toEqual(['a:begin', 'a:end', 'b:begin', 'b:end']);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    await tick();
    expect(serializer.pendingKeys).toBe(0);
  });

  it('runs tasks of different keys concurrently', async () => {
    const serializer = createKeyedSerializer();
    const trace: string[] = [];
    const task = (label: string) => async () => {
      trace.push(`${label}:begin`);
      await tick();
      trace.push(`${label}:end`);
    };
    await Promise.all([serializer.run('CA1', task('a')), serializer.run('CA2', task('b'))]);
    expect(trace.slice(0, 2)).toEqual(['a:begin', 'b:begin']);
  });
});
