import { toTributaryError, type TributaryError } from './errors.js';
import { backoffDelayMs } from './kernel/backoff.js';
import { sleep } from './kernel/deadline.js';
import { requireInteger, requireNumber } from './kernel/validate.js';

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
  const d = DEFAULT_RETRY_OPTIONS;
  const initialBackoffMs = requireNumber(
    `${name}.initialBackoffMs`,
    options.initialBackoffMs ?? d.initialBackoffMs,
    0,
  );
  const policy: RetryPolicy = {
    maxAttempts: requireInteger(`${name}.maxAttempts`, options.maxAttempts ?? d.maxAttempts, 1),
    initialBackoffMs,
    maxBackoffMs: requireNumber(
      `${name}.maxBackoffMs`,
      options.maxBackoffMs ?? d.maxBackoffMs,
      initialBackoffMs,
    ),
    multiplier: requireNumber(`${name}.multiplier`, options.multiplier ?? d.multiplier, 1),
  };
  return Object.freeze(policy);
}

/**
 * The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed: the kernel's
 * exponential backoff with full jitter, uniform in
 * `[0, min(maxBackoffMs, initialBackoffMs * multiplier^(attempt - 1)))`, so clients that failed
 * together do not retry together.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  return backoffDelayMs(
    {
      initialDelayMs: policy.initialBackoffMs,
      maxDelayMs: policy.maxBackoffMs,
      multiplier: policy.multiplier,
      jitter: 'full',
    },
    attempt,
    random,
  );
}

/** Options for {@link retry}. */
export interface RetryCallOptions extends RetryOptions, RetryAfterOptions {}

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
  try {
    return await operation(1);
  } catch (thrown) {
    return retryAfter(toTributaryError(thrown), operation, policy, options);
  }
}

/** Options for {@link retryAfter}. */
export interface RetryAfterOptions {
  /** Stops retrying (the last error is thrown) and cuts a pending wait short. */
  readonly signal?: AbortSignal | undefined;
  /** Called before each wait, with the attempt that failed and its classified error. */
  readonly onRetry?: ((attempt: number, error: TributaryError) => void) | undefined;
  /** Checked after each wait: true gives up (the last error is thrown), e.g. once settled. */
  readonly abandon?: (() => boolean) | undefined;
}

/**
 * The retry loop of {@link retry} for a caller whose first attempt already failed with `error`
 * (services run the first attempt on their fast path, without a promise chain): waits, runs
 * `operation(2)`, and so on within `policy`. Rejects with the classified error of the last
 * attempt.
 */
export async function retryAfter<T>(
  error: TributaryError,
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryAfterOptions = {},
): Promise<T> {
  const { signal } = options;
  let last = error;
  for (let attempt = 1; ; attempt++) {
    if (!last.retriable || attempt >= policy.maxAttempts || isAborted(signal)) throw last;
    options.onRetry?.(attempt, last);
    await sleep(retryDelayMs(policy, attempt), signal);
    if (isAborted(signal) || options.abandon?.() === true) throw last;
    try {
      return await operation(attempt + 1);
    } catch (thrown) {
      last = toTributaryError(thrown);
    }
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
