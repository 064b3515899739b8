import { setTimeout as delay } from 'node:timers/promises';
import { LauncherError } from './errors.js';
import { readLogTail, type ManagedProcess } from './managed-process.js';

/** How long to wait for readiness. */
export interface ReadyOptions {
  /** Give up after this long. @defaultValue 30_000 */
  readonly readyTimeoutMs?: number | undefined;
}

/** Default readiness timeout; generous because two JVMs may start at once on two cores. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 50;

/**
 * Polls `probe` until it returns true. Fails with `START_FAILED` as soon as the process exits,
 * and with `NOT_READY` after the timeout; both messages end with the tail of the log.
 */
export async function waitUntilReady(
  name: string,
  child: ManagedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (child.hasExited) throw await child.exitError();
    if (Date.now() > deadline) {
      throw new LauncherError(
        'NOT_READY',
        `${name} was not ready after ${timeoutMs} ms; log ${child.logFile}:\n${await readLogTail(child.logFile)}`,
      );
    }
    await delay(POLL_INTERVAL_MS);
  }
}
