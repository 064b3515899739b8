import { TributaryError } from '../errors.js';
import { Deque } from '../kernel/deque.js';

interface Waiter {
  readonly bytes: number;
  cancelled: boolean;
  resolve(): void;
  reject(reason: unknown): void;
  cleanup(): void;
}

/**
 * A blocking credit semaphore counted in messages and bytes (FIFO). `acquire()` resolves once the
 * request fits under both limits; a request larger than `maxBytes` alone is admitted when nothing
 * else is outstanding, so it can never deadlock. Waiters hold only their own message, never a copy
 * in a shared queue, so the memory a burst can pin is what the callers already hold.
 */
export class Credit {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  #messages = 0;
  #bytes = 0;
  /** Bursts queue thousands of waiters: the kernel's FIFO, not an array. */
  readonly #waiters = new Deque<Waiter>();
  #waiting = 0;

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
  }

  get messages(): number {
    return this.#messages;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Callers currently blocked in {@link Credit.acquire}. */
  get waiting(): number {
    return this.#waiting;
  }

  #fits(bytes: number): boolean {
    if (this.#messages === 0) return true;
    return this.#messages + 1 <= this.#maxMessages && this.#bytes + bytes <= this.#maxBytes;
  }

  /** Takes credit for one message of `bytes`, waiting while the limits are reached. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    if (this.#waiting === 0 && this.#fits(bytes)) {
      this.#messages += 1;
      this.#bytes += bytes;
      return undefined;
    }
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (waiter.cancelled) return;
        waiter.cancelled = true;
        this.#waiting -= 1;
        reject(abortError(signal));
        this.#grant();
      };
      const waiter: Waiter = {
        bytes,
        cancelled: false,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#waiting += 1;
    });
  }

  /** Returns the credit of one message of `bytes`. */
  release(bytes: number): void {
    this.#messages = Math.max(0, this.#messages - 1);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    this.#grant();
  }

  /** Rejects every waiter with `reason`. */
  rejectAll(reason: unknown): void {
    const waiters = this.#waiters.drain();
    this.#waiting = 0;
    for (const waiter of waiters) {
      if (waiter.cancelled) continue;
      waiter.cancelled = true;
      waiter.cleanup();
      waiter.reject(reason);
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
      if (!this.#fits(next.bytes)) return;
      this.#waiters.shift();
      next.cancelled = true;
      this.#waiting -= 1;
      this.#messages += 1;
      this.#bytes += next.bytes;
      next.cleanup();
      next.resolve();
    }
  }
}

function abortError(signal: AbortSignal | undefined): TributaryError {
  return TributaryError.transient(
    'TIMEOUT',
    'publish aborted while waiting for flow-control credit',
    signal?.reason,
  );
}
