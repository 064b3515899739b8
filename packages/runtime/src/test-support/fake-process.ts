import type { ProcessHooks } from '../run-service.js';

/** {@link ProcessHooks} a test drives: send signals and failures, read the exit codes. */
export interface FakeProcess extends ProcessHooks {
  signal(name?: string): void;
  fail(error: unknown, origin?: string): void;
  readonly exits: readonly number[];
  /** Listeners still subscribed (0 after the run exited). */
  readonly listenerCount: number;
}

export function createFakeProcess(): FakeProcess {
  const signalListeners = new Set<(signal: string) => void>();
  const fatalListeners = new Set<(error: unknown, origin: string) => void>();
  const exits: number[] = [];
  return {
    onSignal(listener) {
      signalListeners.add(listener);
      return () => signalListeners.delete(listener);
    },
    onFatalError(listener) {
      fatalListeners.add(listener);
      return () => fatalListeners.delete(listener);
    },
    exit(code) {
      exits.push(code);
    },
    signal(name = 'SIGTERM') {
      for (const listener of [...signalListeners]) listener(name);
    },
    fail(error, origin = 'unhandledRejection') {
      for (const listener of [...fatalListeners]) listener(error, origin);
    },
    exits,
    get listenerCount() {
      return signalListeners.size + fatalListeners.size;
    },
  };
}
