import { describe, expect, it } from 'vitest';
import { uniqueName } from './unique-name.js';

describe('uniqueName', () => {
  it('gives a different, lowercase name each call, valid for Pub/Sub, GCS and BigQuery', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('Telemetry')));
    expect(names.size).toBe(1000);
    for (const name of names) {
      expect(name).toMatch(/^telemetry(-[0-9a-z]+){3}$/);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    expect(uniqueName('ds', '_')).toMatch(/^ds(_[0-9a-z]+){3}$/);
  });
});
