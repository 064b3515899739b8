import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { InvalidArgumentError, TributaryError } from './errors.js';
import {
  retryDelayMs,
  DEFAULT_RETRY_OPTIONS,
  resolveRetryOptions,
  retry,
  type RetryPolicy,
} from './retry.js';

describe('resolveRetryOptions', () => {
  it('applies the documented defaults', () => {
    expect(resolveRetryOptions()).toEqual({
      maxAttempts: 3,
      initialBackoffMs: 100,
      maxBackoffMs: 10_000,
      multiplier: 2,
    });
    expect(resolveRetryOptions({ maxAttempts: 1 })).toEqual({
      ...DEFAULT_RETRY_OPTIONS,
      maxAttempts: 1,
    });
  });

  it.each([
    ['retry.maxAttempts', { maxAttempts: 0 }],
    ['retry.maxAttempts', { maxAttempts: 2.5 }],
    ['retry.initialBackoffMs', { initialBackoffMs: -1 }],
    ['retry.maxBackoffMs', { initialBackoffMs: 500, maxBackoffMs: 100 }],
    ['retry.maxBackoffMs', { maxBackoffMs: Infinity }],
    ['retry.multiplier', { multiplier: 0.5 }],
  ])('names the invalid option %s', (name, options) => {
    expect(() => resolveRetryOptions(options)).toThrow(InvalidArgumentError);
    expect(() => resolveRetryOptions(options)).toThrow(`'${name}'`);
  });
});

describe('retryDelayMs', () => {
  const policy: RetryPolicy = {
    maxAttempts: 10,
    initialBackoffMs: 100,
    maxBackoffMs: 1_000,
    multiplier: 2,
  };

  it('draws uniformly below an exponentially growing, capped bound (full jitter)', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt, top))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(retryDelayMs(policy, 3, () => 0)).toBe(0);
    expect(retryDelayMs(policy, 3, () => 0.5)).toBe(200);
  });

  it('stays within bounds with the real random source', () => {
    for (let i = 0; i < 1_000; i++) {
      const delay = retryDelayMs(policy, 1 + (i % 8));
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(1_000);
    }
  });
});

describe('retry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries transient failures and resolves with the first success', async () => {
    const onRetry = vi.fn();
    let calls = 0;
    const result = retry(
      (attempt) => {
        calls++;
        return attempt < 3
          ? Promise.reject(TributaryError.transient('UNAVAILABLE', 'busy'))
          : Promise.resolve('ok');
      },
      { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 10, onRetry },
    );
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(calls).toBe(3);
    expect(onRetry.mock.calls.map(([attempt]) => attempt as number)).toEqual([1, 2]);
  });

  it('does not retry permanent failures', async () => {
    const operation = vi.fn(() =>
      Promise.reject(TributaryError.permanent('INVALID_PAYLOAD', 'no')),
    );
    await expect(retry(operation)).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    expect(operation).toHaveBeenCalledOnce();
  });

  it('classifies unknown errors as transient and gives up after maxAttempts', async () => {
    const operation = vi.fn(() => Promise.reject(new Error('ECONNRESET')));
    const result = retry(operation, { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 });
    const settled = expect(result).rejects.toMatchObject({ code: 'INTERNAL', retriable: true });
    await vi.runAllTimersAsync();
    await settled;
    expect(operation).toHaveBeenCalledTimes(2);
  });

  it('stops waiting when the signal aborts', async () => {
    // Pin the full-jitter draw to the middle (30 s): a draw of 0 would retry before the abort.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    onTestFinished(() => {
      random.mockRestore();
    });
    const controller = new AbortController();
    const operation = vi.fn(() => Promise.reject(TributaryError.transient('UNAVAILABLE', 'busy')));
    const result = retry(operation, {
      maxAttempts: 5,
      initialBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      signal: controller.signal,
    });
    const settled = expect(result).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await settled;
    expect(operation).toHaveBeenCalledOnce();
  });
});
