import { describe, expect, it } from 'vitest';
import { candidateName, recordingBaseName, sanitiseName } from './naming.js';

describe('recording names', () => {
  it.each([
    ['agent-A', 'agent-A'],
    ['Agent A / segment 2', 'Agent_A_segment_2'],
    ['../../etc/passwd', 'etc_passwd'],
    ['.hidden', 'hidden'],
    ['Zoë', 'Zoe'],
    ['a'.repeat(200), 'a'.repeat(80)],
  ])('sanitises %j to %j', (raw, expected) => {
    expect(sanitiseName(raw)).toBe(expected);
  });

  it('falls back to the streamSid when the name is missing or sanitises to nothing', () => {
    expect(recordingBaseName(null, 'MZ1')).toBe('MZ1');
    expect(recordingBaseName('../..', 'MZ1')).toBe('MZ1');
    expect(recordingBaseName('agent', 'MZ1')).toBe('agent');
  });

  it('suffixes later candidates', () => {
    expect([1, 2, 3].map((n) => candidateName('x', n))).toEqual(['x', 'x-2', 'x-3']);
  });
});
