import { describe, expect, it } from 'vitest';
import { UsageError } from './command.js';
import { parseFlags, parsePort, stderrLogger } from './options.js';

describe('CLI option helpers', () => {
  it('parses ports and refuses anything but an integer 0–65535', () => {
    expect(parsePort('--port', undefined, 4010)).toBe(4010);
    expect(parsePort('--port', '0', 4010)).toBe(0);
    expect(parsePort('--port', '65535', 4010)).toBe(65535);
    for (const bad of ['', '-1', '65536', '12.5', 'abc', '1e3', ' 80']) {
      expect(() => parsePort('--port', bad, 1)).toThrow(UsageError);
    }
    expect(() => parsePort('--port', 'abc', 1)).toThrow(
      "--port must be an integer from 0 to 65535, not 'abc'",
    );
  });

  it('turns unknown flags and stray positionals into usage errors', () => {
    const options = { port: { type: 'string' } } as const;
    expect(parseFlags(['--port', '5'], options)).toEqual({ port: '5' });
    expect(() => parseFlags(['--nope'], options)).toThrow(UsageError);
    expect(() => parseFlags(['stray'], options)).toThrow(UsageError);
  });

  it('refuses an unknown log level', () => {
    expect(stderrLogger('warn').level).toBe('warn');
    expect(() => stderrLogger('loud')).toThrow(UsageError);
  });
});
