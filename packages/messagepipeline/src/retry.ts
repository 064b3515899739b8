import { InvalidArgumentError, toTributaryError, type TributaryError } from './errors.js';
import { sleep } from './internal/sleep.js';

/** How a failing operation is retried in-process: exponential backoff with full jitter. */
export interface RetryOptions {
  /** Attempts in total, the first one included; 1 means no retry. @defaultValue 3 */
  readonly maxAttempts?: number | undefined;
  /** Upper bound of the wait before the second attempt, in milliseconds. @defaultValue 100 */
  readonly initialBackoffMs?: number | undefined;
  /** Upper bound of any single wait, in milliseconds. @defaultValue 10_000 */
  readonly maxBackoffMs?: number | undefined;
  /** Growth of the wait bound from one attempt to the next. @defaultValue 2 */
  readonly multiplier?: number | undefined;
}

/** {@link RetryOptions} with every default applied and validated. */
export type RetryPolicy = { readonly [K in keyof RetryOptions]-?: number };

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY_OPTIONS: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 10_000,
  multiplier: 2,
});

/**
 * Applies the defaults and validates.
 * @param name - the option path used in error messages, such as `retry`.
 * @throws {@link InvalidArgumentError} when a value is out of range.
 */
export function resolveRetryOptions(options: RetryOptions = {}, name = 'retry'): RetryPolicy {
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_OPTIONS.maxAttempts,
    initialBackoffMs: options.initialBackoffMs ?? DEFAULT_RETRY_OPTIONS.initialBackoffMs,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_RETRY_OPTIONS.maxBackoffMs,
    multiplier: options.multiplier ?? DEFAULT_RETRY_OPTIONS.multiplier,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw InvalidArgumentError.for(`${name}.maxAttempts`, 'must be an integer >= 1');
  }
  if (!Number.isFinite(policy.initialBackoffMs) || policy.initialBackoffMs < 0) {
    throw InvalidArgumentError.for(`${name}.initialBackoffMs`, 'must be a finite number >= 0');
  }
  if (!Number.isFinite(policy.maxBackoffMs) || policy.maxBackoffMs < policy.initialBackoffMs) {
    throw InvalidArgumentError.for(
      `${name}.maxBackoffMs`,
      'must be a finite number >= initialBackoffMs',
    );
  }
  if (!Number.isFinite(policy.multiplier) || policy.multiplier < 1) {
    throw InvalidArgumentError.for(`${name}.multiplier`, 'must be a finite number >= 1');
  }
  return Object.freeze(policy);
}

/**
 * The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed: a uniformly
 * random duration in `[0, min(maxBackoffMs, initialBackoffMs * multiplier^(attempt - 1)))`
 * ("full jitter"), so clients that failed together do not retry together.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const bound = Math.min(
    policy.maxBackoffMs,
    policy.initialBackoffMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  return Math.floor(random() * bound);
}

/** Options for {@link retry}. */
export interface RetryCallOptions extends RetryOptions {
  /** Stops retrying (the last error is thrown) and cuts a pending wait short. */
  readonly signal?: AbortSignal | undefined;
  /** Called before each wait, with the attempt that failed and its classified error. */
  readonly onRetry?: ((attempt: number, error: TributaryError) => void) | undefined;
}

/**
 * Runs `operation` until it resolves, retrying only retriable failures (as classified by
 * {@link toTributaryError}) within the budget. Rejects with the classified error of the last
 * attempt.
 * @throws {@link InvalidArgumentError} when the retry options are out of range.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryCallOptions = {},
): Promise<T> {
  const policy = resolveRetryOptions(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (thrown) {
      const error = toTributaryError(thrown);
      if (!error.retriable || attempt >= policy.maxAttempts || isAborted(options.signal)) {
        throw error;
      }
      options.onRetry?.(attempt, error);
      await sleep(backoffDelayMs(policy, attempt), options.signal);
      if (isAborted(options.signal)) throw error;
    }
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
