import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';

describe('parseConfig', () => {
  it('has defaults', () => {
    expect(parseConfig([], {})).toEqual({
      records: 1_000,
      workers: 4,
      outputDir: './output',
      seed: 42,
    });
  });

  it('reads the environment, and flags win over it', () => {
    const env = { SENSOR_RECORDS: '50', SENSOR_WORKERS: '2', SENSOR_OUTPUT_DIR: '/tmp/x' };
    expect(parseConfig([], env)).toMatchObject({ records: 50, workers: 2, outputDir: '/tmp/x' });
    expect(parseConfig(['--workers', '8', '--output=out'], env)).toMatchObject({
      records: 50,
      workers: 8,
      outputDir: 'out',
    });
  });

  it('names the flag or variable with a bad value', () => {
    expect(() => parseConfig([], { SENSOR_WORKERS: 'many' })).toThrow(
      'SENSOR_WORKERS must be an integer >= 1, got "many"',
    );
    expect(() => parseConfig(['--workers', '0'], {})).toThrow('--workers must be an integer >= 1');
    expect(() => parseConfig(['--records', '1.5'], {})).toThrow(
      '--records must be an integer >= 0',
    );
    expect(() => parseConfig(['--bogus'], {})).toThrow(/bogus/);
  });
});
