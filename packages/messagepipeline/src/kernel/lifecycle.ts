import { InvalidArgumentError, TributaryError } from '../errors.js';
import type { ComponentHealth, StopOptions } from '../lifecycle.js';

/** The drain deadline of `stop()` when the caller gives none (Cloud Run gives 10 s after SIGTERM). */
export const DEFAULT_STOP_TIMEOUT_MS = 8_000;

/** Where a component is in its life. */
export type LifecycleState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What a component does when it starts and stops; both optional. */
export interface LifecycleHooks {
  /** The work of `start()`; a rejection fails the component (`done` rejects with it). */
  readonly start?: (() => Promise<void> | void) | undefined;
  /**
   * The work of `stop()`, within `timeoutMs`. Runs at most once, and only when `start()` ran:
   * a component stopped before it started has nothing to drain. A rejection makes `stop()` and
   * `done` reject with it.
   */
  readonly stop?: ((timeoutMs: number) => Promise<void> | void) | undefined;
  /**
   * Run the stop hook even when `start()` was never called, for components that work without
   * being started (the in-memory consumer can be iterated at once). @defaultValue false
   */
  readonly stopUnstarted?: boolean | undefined;
}

const noop = (): void => undefined;

/**
 * The one start-once / stop-once state machine every consumer, producer and service uses:
 * `start()` runs the start hook once, `stop()` runs the stop hook once with a validated deadline
 * (every call returns the same promise), `done` settles when the component has stopped, whoever
 * stopped it, and rejects with the error that ended it. `fail()` ends the component with an error.
 */
export class Lifecycle {
  /** Settles when the component has stopped; rejects with the fatal error, if any. */
  readonly done: Promise<void>;
  readonly #name: string;
  readonly #hooks: LifecycleHooks;
  readonly #stopTimeoutMs: number;
  #state: LifecycleState = 'new';
  #fatal: { readonly error: unknown } | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;

  /**
   * @param name - names the component in errors (`consumer for 'raw'`).
   * @param stopTimeoutMs - the deadline of `stop()` when the caller gives none.
   */
  constructor(name: string, hooks: LifecycleHooks, stopTimeoutMs = DEFAULT_STOP_TIMEOUT_MS) {
    this.#name = name;
    this.#hooks = hooks;
    this.#stopTimeoutMs = stopTimeoutMs;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // `done` may reject; a caller that never awaits it must not crash the process.
    this.done.catch(noop);
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /** True between a successful start and the first `stop()` or `fail()`. */
  get running(): boolean {
    return this.#state === 'running' && this.#stopping === undefined;
  }

  /** True once `stop()` or `fail()` was called, even while `start()` is still under way. */
  get stopRequested(): boolean {
    return this.#stopping !== undefined;
  }

  /** The error that ended the component, if one did. */
  get failure(): unknown {
    return this.#fatal?.error;
  }

  /** Runs the start hook once; later calls return the same promise. */
  start(): Promise<void> {
    return (this.#starting ??= this.#start());
  }

  /**
   * Runs the stop hook once within `timeoutMs` (default: the component's); every call returns the
   * first call's promise. Rejects with INVALID_ARGUMENT for a negative or non-finite deadline.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    const timeoutMs = options.timeoutMs ?? this.#stopTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(InvalidArgumentError.for('timeoutMs', 'must be a finite number >= 0'));
    }
    this.#stopping = this.#stop(timeoutMs);
    return this.#stopping;
  }

  /** Ends the component with `error`: it stops (draining as usual) and `done` rejects with it. */
  fail(error: unknown): Promise<void> {
    this.#fatal ??= { error };
    const stopping = this.stop();
    stopping.catch(noop);
    return stopping;
  }

  /**
   * Readiness for every state but `running`, which `whenRunning` reports: not started,
   * starting, stopping, stopped, or failed with the reason. (Not named `health`: a Lifecycle
   * used as a service would then pass for a `HealthReporter` whose `health()` needs an
   * argument it never gets.)
   */
  healthWhenRunning(whenRunning: () => ComponentHealth): ComponentHealth {
    const fatal = this.#fatal;
    if (fatal !== undefined) return { ready: false, detail: `failed: ${describe(fatal.error)}` };
    if (this.#state === 'running' && this.#stopping === undefined) return whenRunning();
    if (this.#state === 'new') return { ready: false, detail: 'not started' };
    if (this.#state === 'running') return { ready: false, detail: 'stopping' };
    return { ready: false, detail: this.#state };
  }

  async #start(): Promise<void> {
    if (this.#state !== 'new') {
      throw new TributaryError('CLOSED', `${this.#name} was stopped before it started`);
    }
    this.#state = 'starting';
    try {
      await this.#hooks.start?.();
    } catch (error) {
      this.#fatal ??= { error };
      this.#state = 'stopped';
      this.#rejectDone(error);
      throw error;
    }
    this.#state = 'running';
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#state === 'new' && this.#hooks.stopUnstarted !== true) {
      this.#state = 'stopped';
      this.#settleDone();
      return;
    }
    let remainingMs = timeoutMs;
    if (this.#state === 'starting') {
      const beganAt = performance.now();
      await this.#starting?.catch(noop);
      remainingMs = Math.max(0, timeoutMs - (performance.now() - beganAt));
    }
    if (this.#state === 'stopped') return; // the start failed; `done` has rejected already
    this.#state = 'stopping';
    try {
      await this.#hooks.stop?.(remainingMs);
    } catch (error) {
      this.#fatal ??= { error };
      this.#state = 'stopped';
      this.#rejectDone(error);
      throw error;
    }
    this.#state = 'stopped';
    this.#settleDone();
  }

  #settleDone(): void {
    if (this.#fatal === undefined) this.#resolveDone();
    else this.#rejectDone(this.#fatal.error);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
