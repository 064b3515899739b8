import { InvalidArgumentError } from '../errors.js';

/**
 * How the random part of a backoff delay is drawn from the exponential bound:
 * - `full`: uniform in `[0, bound)`, for in-process retries (clients that failed together spread
 *   out the most);
 * - `equal`: uniform in `[bound / 2, bound]`, for reconnects (never a near-zero wait, so a
 *   failing server is not hammered).
 */
export type Jitter = 'full' | 'equal';

/** Exponential backoff: the bound grows from `initialDelayMs` by `multiplier` up to `maxDelayMs`. */
export interface BackoffOptions {
  /** Bound of the first delay, in milliseconds. */
  readonly initialDelayMs?: number | undefined;
  /** Bound of any delay, in milliseconds. */
  readonly maxDelayMs?: number | undefined;
  /** Growth of the bound per attempt. @defaultValue 2 */
  readonly multiplier?: number | undefined;
}

/** {@link BackoffOptions} with every default applied and validated, plus the jitter. */
export interface BackoffPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: Jitter;
}

/**
 * Applies `defaults` and validates: `initialDelayMs >= 0`, `maxDelayMs >= initialDelayMs`,
 * `multiplier >= 1`.
 * @param name - the option path in error messages, such as `reconnect`.
 * @throws {@link InvalidArgumentError} naming the option.
 */
export function resolveBackoff(
  options: BackoffOptions | undefined,
  defaults: Omit<BackoffPolicy, 'multiplier'> & { readonly multiplier?: number },
  name: string,
): BackoffPolicy {
  const policy: BackoffPolicy = {
    initialDelayMs: options?.initialDelayMs ?? defaults.initialDelayMs,
    maxDelayMs: options?.maxDelayMs ?? defaults.maxDelayMs,
    multiplier: options?.multiplier ?? defaults.multiplier ?? 2,
    jitter: defaults.jitter,
  };
  if (!Number.isFinite(policy.initialDelayMs) || policy.initialDelayMs < 0) {
    throw InvalidArgumentError.for(`${name}.initialDelayMs`, 'must be a finite number >= 0');
  }
  if (!Number.isFinite(policy.maxDelayMs) || policy.maxDelayMs < policy.initialDelayMs) {
    throw InvalidArgumentError.for(
      `${name}.maxDelayMs`,
      'must be a finite number >= initialDelayMs',
    );
  }
  if (!Number.isFinite(policy.multiplier) || policy.multiplier < 1) {
    throw InvalidArgumentError.for(`${name}.multiplier`, 'must be a finite number >= 1');
  }
  return Object.freeze(policy);
}

/**
 * The delay before retry number `attempt` (1-based) with
 * `bound = min(maxDelayMs, initialDelayMs * multiplier^(attempt - 1))`, drawn by the policy's
 * {@link Jitter}. Pure apart from `random`.
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const bound = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  if (policy.jitter === 'full') return Math.floor(random() * bound);
  return Math.max(1, Math.round(bound / 2 + random() * (bound / 2)));
}
