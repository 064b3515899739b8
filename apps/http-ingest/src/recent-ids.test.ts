import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.js';

describe('RecentIds', () => {
  it('keeps the most recent ids up to its capacity', () => {
    const recent = new RecentIds(2);
    const publishes = ['1', '2', '3'].map((messageId) => Promise.resolve(messageId));
    recent.remember('a', publishes[0] as Promise<string>);
    recent.remember('b', publishes[1] as Promise<string>);
    recent.remember('c', publishes[2] as Promise<string>);
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('b')).toBe(publishes[1]);
    expect(recent.get('c')).toBe(publishes[2]);
    expect(recent.size).toBe(2);
  });

  it('forgets a failed publish, and its retry is not evicted by the old entry', async () => {
    const recent = new RecentIds(2);
    const failed = Promise.reject(new Error('unavailable'));
    recent.remember('a', failed);
    await failed.catch(() => undefined);
    await Promise.resolve();
    expect(recent.get('a')).toBeUndefined();
    const retry = Promise.resolve('9');
    recent.remember('a', retry);
    recent.remember('b', Promise.resolve('10')); // evicts the failed entry's slot, not the retry
    expect(recent.get('a')).toBe(retry);
  });

  it('remembers nothing with capacity 0', () => {
    const recent = new RecentIds(0);
    recent.remember('a', Promise.resolve('1'));
    expect(recent.get('a')).toBeUndefined();
  });
});
