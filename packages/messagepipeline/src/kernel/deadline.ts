/** How a promise settled, without rejecting. */
export type Settled =
  | { readonly kind: 'ok' }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' };

/**
 * Waits for `promise` at most `ms` milliseconds and says how it went: `ok`, `error` (with the
 * rejection) or `timeout`. Never rejects; the timer is cleared as soon as the promise settles.
 * The one deadline race of the project: stops, drains and flushes all use it.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<Settled> {
  const settled = promise.then(
    () => ({ kind: 'ok' }) as const,
    (error: unknown) => ({ kind: 'error', error }) as const,
  );
  if (ms === Infinity) return settled;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), { kind: 'timeout' } as const);
  });
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (never rejects), so a retry
 * wait cannot outlive a shutdown deadline.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
