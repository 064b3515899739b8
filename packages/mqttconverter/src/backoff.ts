/** Exponential backoff with full jitter. */
export interface BackoffOptions {
  /** Upper bound of the first delay, in milliseconds. @defaultValue 500 */
  readonly initialDelayMs?: number | undefined;
  /** Upper bound of any delay, in milliseconds. @defaultValue 30_000 */
  readonly maxDelayMs?: number | undefined;
  /** Growth of the bound per attempt. @defaultValue 2 */
  readonly multiplier?: number | undefined;
}

/** {@link BackoffOptions} with defaults applied. */
export type BackoffPolicy = { readonly [K in keyof BackoffOptions]-?: number };

/**
 * The delay before retry number `attempt` (1-based): uniform in
 * `[bound / 2, bound]` with `bound = min(maxDelayMs, initialDelayMs * multiplier^(attempt - 1))`
 * ("equal jitter": never a zero wait, so a failing broker is never hammered, and clients that
 * failed together spread out). Pure apart from `random`.
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
  return Math.max(1, Math.round(bound / 2 + random() * (bound / 2)));
}
