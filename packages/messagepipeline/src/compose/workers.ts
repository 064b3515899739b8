import { Channel, iteratorOf, releaseIterator, type Streamable } from './channel.js';
import { requireInteger } from '../kernel/validate.js';

/** Options for {@link mapConcurrent}. */
export interface MapConcurrentOptions<R> {
  /** How many calls of the function run at once (seed 001's N workers). @defaultValue 1 */
  readonly concurrency?: number | undefined;
  /**
   * Emit results in input order. Unordered (the default) emits each result as soon as it is
   * ready, so one slow item does not hold back the others. @defaultValue false
   */
  readonly ordered?: boolean | undefined;
  /** Results buffered for the consumer (unordered mode). @defaultValue `concurrency` */
  readonly bufferSize?: number | undefined;
  /**
   * Receives results that were computed but can never be delivered, because the consumer
   * stopped early or another call failed. @defaultValue drops them
   */
  readonly onDiscard?: ((result: R) => void) | undefined;
}

/**
 * Runs `fn` over every item with up to `concurrency` calls in flight: a worker pool stage. Every
 * item pulled from `source` is passed to `fn`, and every result is either delivered or handed to
 * `onDiscard`.
 *
 * Bounded: at most `concurrency` items are being processed and at most `bufferSize` results wait
 * for the consumer; when they are not taken, the workers stop pulling from `source`.
 *
 * A call that throws fails the stage: the other workers stop, `signal` is aborted, the consumer
 * sees the results buffered so far and then the error. To route per-item failures instead (seed
 * 001's error channel), return them as values, e.g. a `{ ok: false, error }` union. When the
 * consumer stops early, `signal` is aborted and `source` is stopped.
 *
 * Settlement: `mapConcurrent` never acks or nacks; `fn` (or the consumer of its results) owns
 * each item.
 */
export function mapConcurrent<T, R>(
  source: Streamable<T>,
  fn: (item: T, signal: AbortSignal) => R | Promise<R>,
  options: MapConcurrentOptions<R> = {},
): AsyncIterable<R> {
  const concurrency = requireInteger('concurrency', options.concurrency ?? 1);
  const bufferSize = requireInteger('bufferSize', options.bufferSize ?? concurrency);
  const onDiscard = options.onDiscard;
  if (options.ordered === true) return ordered(source, fn, concurrency, onDiscard);
  return {
    [Symbol.asyncIterator]() {
      const controller = new AbortController();
      const channel = new Channel<R>(bufferSize, onDiscard);
      const iterator = iteratorOf(source);
      // AsyncIterator does not promise that overlapping next() calls work: serialise them.
      let pulling: Promise<IteratorResult<T>> = Promise.resolve({
        done: false,
        value: undefined as T,
      });
      const pull = (): Promise<IteratorResult<T>> =>
        (pulling = pulling.then((previous) =>
          previous.done === true ? previous : iterator.next(),
        ));
      const worker = async (): Promise<void> => {
        while (!channel.done) {
          const next = await pull();
          if (next.done === true) return;
          // Even when the consumer has gone meanwhile: `fn` owns the item (its signal is
          // aborted), and its result goes to `onDiscard` through the channel.
          const result = await fn(next.value, controller.signal);
          if (!(await channel.send(result))) return;
        }
      };
      Promise.all(Array.from({ length: concurrency }, worker)).then(
        () => {
          channel.close();
        },
        (error: unknown) => {
          controller.abort(error);
          channel.fail(error);
        },
      );
      return channel.iterator(() => {
        controller.abort();
        releaseIterator(iterator);
      });
    },
  };
}

function ordered<T, R>(
  source: Streamable<T>,
  fn: (item: T, signal: AbortSignal) => R | Promise<R>,
  concurrency: number,
  onDiscard: ((result: R) => void) | undefined,
): AsyncIterable<R> {
  return {
    async *[Symbol.asyncIterator]() {
      const controller = new AbortController();
      const pending: Promise<R>[] = [];
      const start = (item: T): void => {
        const running = Promise.resolve().then(() => fn(item, controller.signal));
        // Awaited in order below; marked handled so a later failure is not reported early.
        running.catch(() => undefined);
        pending.push(running);
      };
      try {
        for await (const item of source) {
          start(item);
          if (pending.length >= concurrency) yield await (pending.shift() as Promise<R>);
        }
        while (pending.length > 0) yield await (pending.shift() as Promise<R>);
      } finally {
        controller.abort();
        for (const running of pending.splice(0)) {
          if (onDiscard !== undefined) running.then(onDiscard, () => undefined);
        }
      }
    },
  };
}
