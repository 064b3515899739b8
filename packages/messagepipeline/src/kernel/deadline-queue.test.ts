import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from './deadline-queue.js';
import { deferred } from './deferred.js';

const noop = (): void => undefined;

describe('DeadlineQueue', () => {
  it('expires waits in the order they were added, not before their time, and skips cancelled ones', async () => {
    const queue = new DeadlineQueue(30);
    const started = performance.now();
    const expired: string[] = [];
    const last = deferred<number>();
    queue.add(() => expired.push('a'));
    const cancelled = queue.add(() => expired.push('b'));
    queue.add(() => {
      expired.push('c');
      last.resolve(performance.now());
    });
    cancelled.cancel();
    const at = await last.promise;
    expect(expired).toEqual(['a', 'c']);
    expect(at - started).toBeGreaterThanOrEqual(29);
    expect(queue.length).toBe(0);
  });

  it('drops cancelled waits from its head when another is added, so settled waits do not pile up', () => {
    const queue = new DeadlineQueue(60_000);
    for (let i = 0; i < 1_000; i++) queue.add(noop).cancel();
    const pending = queue.add(noop);
    expect(queue.length).toBe(1);
    pending.cancel();
  });

  it('arms its timer again for waits added after it went idle', async () => {
    const queue = new DeadlineQueue(5);
    const first = deferred<undefined>();
    queue.add(() => {
      first.resolve(undefined);
    });
    await first.promise;
    const second = deferred<undefined>();
    queue.add(() => {
      second.resolve(undefined);
    });
    await second.promise;
    expect(queue.length).toBe(0);
  });
});
