import { describe, expect, it } from 'vitest';
import { median } from './stats.js';

describe('median', () => {
  it('takes the middle of an odd count, whatever the order, and leaves its input alone', () => {
    const rounds = [5, 1, 4, 2, 3];
    expect(median(rounds)).toBe(3);
    expect(rounds).toEqual([5, 1, 4, 2, 3]);
  });

  it('takes the upper middle of an even count, and NaN of none', () => {
    expect(median([10, 40, 20, 30])).toBe(30);
    expect(median([])).toBeNaN();
  });
});
