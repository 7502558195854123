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

  const ids = {
    streamSid: 'MZ1',
    callSid: 'CA1',
    customParameters: {},
    fileNameTemplate: undefined,
  };

  it('falls back to the streamSid when the name is missing or sanitises to nothing', () => {
    expect(recordingBaseName({ ...ids, streamName: null })).toBe('MZ1');
    expect(recordingBaseName({ ...ids, streamName: '../..' })).toBe('MZ1');
    expect(recordingBaseName({ ...ids, streamName: 'agent' })).toBe('agent');
  });

  it('fills a file name template from the custom parameters, or falls back when one is missing', () => {
    const customParameters = { segmentIndex: '2', workerSid: 'WK9', continuation: '0' };
    const fileNameTemplate = 'segment-{segmentIndex}-{workerSid}-{continuation}';
    expect(recordingBaseName({ ...ids, streamName: 'x', customParameters, fileNameTemplate })).toBe(
      'segment-2-WK9-0',
    );
    expect(
      recordingBaseName({ ...ids, streamName: 'x', customParameters: {}, fileNameTemplate }),
    ).toBe('x');
    expect(
      recordingBaseName({ ...ids, streamName: null, fileNameTemplate: '{callSid}/{streamSid}' }),
    ).toBe('CA1_MZ1');
    expect(recordingBaseName({ ...ids, streamName: null, fileNameTemplate: '{constructor}' })).toBe(
      'MZ1',
    );
  });

  it('suffixes later candidates', () => {
    expect([1, 2, 3].map((n) => candidateName('x', n))).toEqual(['x', 'x-2', 'x-3']);
  });
});
