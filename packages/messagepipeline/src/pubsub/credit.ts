import { TributaryError } from '../errors.js';
import { Deque } from '../kernel/deque.js';

/** What {@link Credit} admits: the caller's own record of one message, queued as it is. */
export interface CreditRequest {
  readonly bytes: number;
}

/** What {@link Credit} calls back: a queued request got its credit, or gave up waiting. */
export interface CreditCallbacks<T extends CreditRequest> {
  /** `request` now holds its credit; runs from a microtask after the `release()` that freed it. */
  granted(request: T): void;
  /** `request` stopped waiting (its signal aborted, or `rejectAll()`); it holds no credit. */
  failed(request: T, reason: unknown): void;
}

interface Waiter<T> {
  readonly request: T;
  cancelled: boolean;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/**
 * A blocking credit semaphore counted in messages and bytes (FIFO). A request is admitted once it
 * fits under both limits; a request larger than `maxBytes` alone is admitted when nothing else is
 * outstanding, so it can never deadlock. Waiters are the callers' own request objects (no promise
 * or closure per waiter unless a signal is given), so the memory a burst can pin is what the
 * callers already hold.
 */
export class Credit<T extends CreditRequest> {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #callbacks: CreditCallbacks<T>;
  #messages = 0;
  #bytes = 0;
  /** Bursts queue thousands of waiters: the kernel's FIFO, not an array. */
  readonly #waiters = new Deque<Waiter<T>>();
  #waiting = 0;
  #grantScheduled = false;
  readonly #grantLater = (): void => {
    this.#grantScheduled = false;
    this.#grant();
  };

  constructor(maxMessages: number, maxBytes: number, callbacks: CreditCallbacks<T>) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
    this.#callbacks = callbacks;
  }

  get messages(): number {
    return this.#messages;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Requests currently waiting for credit. */
  get waiting(): number {
    return this.#waiting;
  }

  #fits(bytes: number): boolean {
    if (this.#messages === 0) return true;
    return this.#messages + 1 <= this.#maxMessages && this.#bytes + bytes <= this.#maxBytes;
  }

  /**
   * Takes credit for `request` and returns true when it fits now and nobody waits. Otherwise
   * queues it and returns false: `granted(request)` runs once it holds credit, or
   * `failed(request, reason)` if `signal` aborts first (then synchronously when already aborted).
   */
  acquire(request: T, signal?: AbortSignal): boolean {
    if (this.#waiting === 0 && this.#fits(request.bytes)) {
      this.#messages += 1;
      this.#bytes += request.bytes;
      return true;
    }
    if (signal?.aborted === true) {
      this.#callbacks.failed(request, abortError(signal));
      return false;
    }
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = (): void => {
        if (waiter.cancelled) return;
        waiter.cancelled = true;
        this.#waiting -= 1;
        this.#callbacks.failed(request, abortError(signal));
        this.#grant();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const waiter: Waiter<T> = { request, cancelled: false, signal, onAbort };
    this.#waiters.push(waiter);
    this.#waiting += 1;
    return false;
  }

  /**
   * Returns the credit of one message of `bytes`. Waiters it admits are granted from one
   * microtask per burst of releases, never from inside the caller (often a client callback loop).
   */
  release(bytes: number): void {
    this.#messages = Math.max(0, this.#messages - 1);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    if (this.#waiting > 0 && !this.#grantScheduled) {
      this.#grantScheduled = true;
      queueMicrotask(this.#grantLater);
    }
  }

  /** Fails every waiter with `reason`. */
  rejectAll(reason: unknown): void {
    const waiters = this.#waiters.drain();
    this.#waiting = 0;
    for (const waiter of waiters) {
      if (waiter.cancelled) continue;
      waiter.cancelled = true;
      cleanup(waiter);
      this.#callbacks.failed(waiter.request, reason);
    }
  }

  #grant(): void {
    for (;;) {
      const next = this.#waiters.peek();
      if (next === undefined) return;
      if (next.cancelled) {
        this.#waiters.shift();
        continue;
      }
      if (!this.#fits(next.request.bytes)) return;
      this.#waiters.shift();
      next.cancelled = true;
      this.#waiting -= 1;
      this.#messages += 1;
      this.#bytes += next.request.bytes;
      cleanup(next);
      this.#callbacks.granted(next.request);
    }
  }
}

function cleanup<T>(waiter: Waiter<T>): void {
  if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
}

function abortError(signal: AbortSignal | undefined): TributaryError {
  return TributaryError.transient(
    'TIMEOUT',
    'publish aborted while waiting for flow-control credit',
    signal?.reason,
  );
}
