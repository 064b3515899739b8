/**
 * Keeps a repeated log line visible without flooding: per key (a failure reason, say) at most one
 * line per interval, and the lines held back meanwhile are counted and reported with the next one.
 */
export interface LogThrottle {
  /**
   * Whether to write a line for `key` now: `undefined` to hold it back, otherwise how many lines
   * of this key were held back since the last one written.
   */
  admit(key: string): number | undefined;
}

interface KeyState {
  lastWrittenAt: number;
  suppressed: number;
}

/** Keys remembered at most; the oldest is forgotten first (reasons may embed addresses). */
const MAX_KEYS = 64;

/**
 * Creates a {@link LogThrottle}. `intervalMs` 0 writes every line.
 * @param now - the clock, in milliseconds. @defaultValue `performance.now`
 */
export function createLogThrottle(
  intervalMs: number,
  now: () => number = () => performance.now(),
): LogThrottle {
  const keys = new Map<string, KeyState>();
  return {
    admit(key) {
      const at = now();
      const state = keys.get(key);
      if (state !== undefined && at - state.lastWrittenAt < intervalMs) {
        state.suppressed++;
        return undefined;
      }
      keys.delete(key);
      if (keys.size >= MAX_KEYS) {
        const oldest = keys.keys().next();
        if (oldest.done !== true) keys.delete(oldest.value);
      }
      keys.set(key, { lastWrittenAt: at, suppressed: 0 });
      return state?.suppressed ?? 0;
    },
  };
}
