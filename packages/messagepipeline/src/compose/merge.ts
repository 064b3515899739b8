import { Channel, iteratorOf, releaseIterator, type Streamable } from './channel.js';
import { requireInteger } from '../kernel/validate.js';

/** Options for {@link merge}. */
export interface MergeOptions<T> {
  /** Items buffered between the sources and the consumer. @defaultValue 16 */
  readonly bufferSize?: number | undefined;
  /**
   * Receives items that were pulled from a source but can never be delivered, because the
   * consumer stopped early or another source failed. Pass `(m) => m.nack()` for messages so they
   * are redelivered. @defaultValue drops them
   */
  readonly onDiscard?: ((item: T) => void) | undefined;
}

/**
 * Merges several sources into one stream, in arrival order (seed 000's merged `MessageStream`).
 *
 * Each source is pulled by its own loop as fast as the consumer drains a bounded buffer of
 * `bufferSize` items, so a slow consumer slows every source. The stream ends when every source
 * has ended. When a source throws, the others are stopped and the consumer sees the items
 * buffered so far, then the error. When the consumer stops early, every source is stopped
 * (`return()` is called on its iterator).
 *
 * Settlement: `merge` never acks or nacks; the consumer owns every item it receives, and
 * undeliverable ones go to `onDiscard`.
 */
export function merge<T>(
  sources: readonly Streamable<T>[],
  options: MergeOptions<T> = {},
): AsyncIterable<T> {
  const bufferSize = requireInteger('bufferSize', options.bufferSize ?? 16);
  const onDiscard = options.onDiscard;
  return {
    [Symbol.asyncIterator]() {
      const channel = new Channel<T>(bufferSize, onDiscard);
      const iterators = sources.map((source) => iteratorOf(source));
      let remaining = iterators.length;
      if (remaining === 0) channel.close();
      const pump = async (iterator: AsyncIterator<T>): Promise<void> => {
        for (;;) {
          const result = await iterator.next();
          if (result.done === true) return;
          if (!(await channel.send(result.value))) return;
        }
      };
      for (const iterator of iterators) {
        pump(iterator).then(
          () => {
            remaining -= 1;
            if (remaining === 0) channel.close();
          },
          (error: unknown) => {
            channel.fail(error);
          },
        );
      }
      return channel.iterator(() => {
        for (const iterator of iterators) releaseIterator(iterator);
      });
    },
  };
}
