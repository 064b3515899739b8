import { deferred, type Deferred } from '../kernel/deferred.js';
import { Deque } from '../kernel/deque.js';

/**
 * A bounded, multi-producer, single-consumer queue: the one buffer every composition stage uses.
 * `send` suspends while the buffer is full (backpressure), so memory stays bounded by
 * `capacity` items plus one pending item per blocked producer.
 *
 * Terminal states: `close()` (ends after the buffered items), `fail(error)` (the buffered items,
 * then the error) and `cancel()` (the consumer went away: buffered and later items are discarded
 * through `onDiscard`). Not exported from the package.
 */
export class Channel<T> {
  readonly #capacity: number;
  readonly #onDiscard: ((item: T) => void) | undefined;
  readonly #buffer = new Deque<T>();
  #state: 'open' | 'closed' | 'failed' | 'cancelled' = 'open';
  #error: unknown;
  #reader: Deferred<undefined> | undefined;
  /** Blocked senders, woken one per freed slot (first come, first served). */
  readonly #senders = new Deque<Deferred<undefined>>();

  constructor(capacity: number, onDiscard?: (item: T) => void) {
    this.#capacity = capacity;
    this.#onDiscard = onDiscard;
  }

  /** True once no further item will be accepted. */
  get done(): boolean {
    return this.#state !== 'open';
  }

  /**
   * Enqueues `item`, waiting while the buffer is full. Resolves `true` when the item was
   * accepted, `false` when the channel ended first (the item then went to `onDiscard`).
   */
  async send(item: T): Promise<boolean> {
    while (this.#state === 'open' && this.#buffer.length >= this.#capacity) {
      const space = deferred<undefined>();
      this.#senders.push(space);
      await space.promise;
    }
    if (this.#state !== 'open') {
      this.#onDiscard?.(item);
      return false;
    }
    this.#buffer.push(item);
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(undefined);
    return true;
  }

  /** Takes the next item, waiting for one; `done` after `close()`; throws after `fail()`. */
  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.#buffer.length > 0) {
        const item = this.#buffer.shift() as T;
        this.#senders.shift()?.resolve(undefined);
        return { done: false, value: item };
      }
      if (this.#state === 'failed') throw this.#error;
      if (this.#state !== 'open') return { done: true, value: undefined };
      this.#reader ??= deferred<undefined>();
      await this.#reader.promise;
    }
  }

  /** No more items: the consumer sees the buffered ones, then the end. */
  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    this.#wakeAll();
  }

  /** Ends with an error: the consumer sees the buffered items, then `error` is thrown. */
  fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#error = error;
    this.#wakeAll();
  }

  /** The consumer went away: buffered items and every later `send` go to `onDiscard`. */
  cancel(): void {
    if (this.#state === 'cancelled') return;
    this.#state = 'cancelled';
    const dropped = this.#buffer.drain();
    if (this.#onDiscard !== undefined) for (const item of dropped) this.#onDiscard(item);
    this.#wakeAll();
  }

  /**
   * The consumer's side, to be iterated once. Leaving a loop early (`return()`) cancels the
   * channel; `onFinish` runs once when the iteration ends in any way (end, error, `return()`).
   */
  iterator(onFinish?: () => void): AsyncIterableIterator<T, undefined, undefined> {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.cancel();
      onFinish?.();
    };
    const iterator: AsyncIterableIterator<T, undefined, undefined> = {
      next: async () => {
        if (finished) return { done: true, value: undefined };
        try {
          const result = await this.next();
          if (result.done === true) finish();
          return result;
        } catch (error) {
          finish();
          throw error;
        }
      },
      return: () => {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #wakeAll(): void {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(undefined);
    for (const sender of this.#senders.drain()) sender.resolve(undefined);
  }
}

/**
 * What the composition stages read: any async iterable (a consumer, an async generator, another
 * stage) or a plain iterable (an array, a generator), which is then read one item per pull.
 */
export type Streamable<T> = AsyncIterable<T> | Iterable<T>;

/** The async iterator of a {@link Streamable}. */
export function iteratorOf<T>(source: Streamable<T>): AsyncIterator<T> {
  if (typeof (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] === 'function') {
    return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  }
  const iterator = (source as Iterable<T>)[Symbol.iterator]();
  return {
    next: () =>
      new Promise((resolve) => {
        resolve(iterator.next());
      }),
    return: () =>
      new Promise((resolve) => {
        resolve(iterator.return?.() ?? { done: true, value: undefined });
      }),
  };
}

/** Calls `iterator.return()` without waiting for it and without leaking a rejection. */
export function releaseIterator(iterator: AsyncIterator<unknown>): void {
  const returned = iterator.return?.();
  if (returned !== undefined) {
    returned.then(
      () => undefined,
      () => undefined,
    );
  }
}
