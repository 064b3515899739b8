/** Options for stopping a {@link Service}. */
export interface StopOptions {
  /**
   * How long to drain (finish in-flight work, flush batches) before giving up and nacking what
   * is left. @defaultValue the component's own default, the kernel's `DEFAULT_STOP_TIMEOUT_MS` (8_000)
   */
  readonly timeoutMs?: number | undefined;
}

/** A component with a lifecycle: `start()` once, `stop()` any number of times (idempotent). */
export interface Service {
  start(): Promise<void>;
  /** Idempotent: every call returns the same promise. */
  stop(options?: StopOptions): Promise<void>;
  /** Settles when the component has fully stopped, whoever stopped it; rejects on a fatal error. */
  readonly done: Promise<void>;
}

/** Readiness of one component, reported on `/readyz`. */
export interface ComponentHealth {
  readonly ready: boolean;
  /** Why it is not ready, or what it is doing. */
  readonly detail?: string | undefined;
}

/** Something that can say whether it is ready (connected and making progress). */
export interface HealthReporter {
  health(): ComponentHealth;
}
