import { requireInteger, requireNumber } from '@tributary/messagepipeline/kernel';

/** Options for a layer's circuit breaker. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit. @defaultValue 5 */
  readonly failureThreshold?: number | undefined;
  /** How long an open circuit bypasses the layer before one probe may try it. @defaultValue 5_000 */
  readonly cooldownMs?: number | undefined;
}

/** The defaults of {@link BreakerOptions}. */
export const DEFAULT_BREAKER_OPTIONS = Object.freeze({
  failureThreshold: 5,
  cooldownMs: 5_000,
}) satisfies Required<BreakerOptions>;

/** `closed`: in use; `open`: bypassed; `half-open`: one probe is trying it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker: after `failureThreshold` consecutive failures the layer is bypassed for
 * `cooldownMs`; then one call probes it: success closes the circuit, failure opens it again.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  /** Times the circuit opened. */
  opens = 0;

  constructor(options: BreakerOptions = {}, now: () => number = Date.now) {
    this.#threshold = requireInteger(
      'breaker.failureThreshold',
      options.failureThreshold ?? DEFAULT_BREAKER_OPTIONS.failureThreshold,
      1,
    );
    this.#cooldownMs = requireNumber(
      'breaker.cooldownMs',
      options.cooldownMs ?? DEFAULT_BREAKER_OPTIONS.cooldownMs,
      0,
    );
    this.#now = now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** True when a call may go to the layer now (in `open` state, once per cool-down: the probe). */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'half-open') return false;
    if (this.#now() - this.#openedAt < this.#cooldownMs) return false;
    this.#state = 'half-open';
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#state = 'closed';
  }

  failure(): void {
    this.#failures++;
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      if (this.#state !== 'open') this.opens++;
      this.#state = 'open';
      this.#openedAt = this.#now();
    }
  }
}
