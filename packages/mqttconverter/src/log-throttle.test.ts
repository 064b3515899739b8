import { describe, expect, it } from 'vitest';
import { createLogThrottle } from './log-throttle.js';

describe('createLogThrottle', () => {
  it('writes one line per interval per key and counts the ones held back', () => {
    let now = 0;
    const throttle = createLogThrottle(1_000, () => now);
    expect(throttle.admit('ECONNREFUSED')).toBe(0);
    now = 100;
    expect(throttle.admit('ECONNREFUSED')).toBeUndefined();
    expect(throttle.admit('TLS')).toBe(0); // another reason is not held back by the first
    now = 900;
    expect(throttle.admit('ECONNREFUSED')).toBeUndefined();
    now = 1_000;
    expect(throttle.admit('ECONNREFUSED')).toBe(2);
    now = 1_500;
    expect(throttle.admit('ECONNREFUSED')).toBeUndefined();
    now = 5_000;
    expect(throttle.admit('ECONNREFUSED')).toBe(1);
    expect(throttle.admit('TLS')).toBe(0);
  });

  it('writes every line with an interval of 0', () => {
    const throttle = createLogThrottle(0, () => 0);
    expect([throttle.admit('a'), throttle.admit('a'), throttle.admit('a')]).toEqual([0, 0, 0]);
  });

  it('remembers a bounded number of keys, forgetting the oldest', () => {
    let now = 0;
    const throttle = createLogThrottle(1_000, () => now);
    for (let i = 0; i < 100; i++) expect(throttle.admit(`reason ${i}`)).toBe(0);
    now = 10;
    expect(throttle.admit('reason 99')).toBeUndefined(); // recent: remembered
    expect(throttle.admit('reason 0')).toBe(0); // forgotten: written again
  });
});
