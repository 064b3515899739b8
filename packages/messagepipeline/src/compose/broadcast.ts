import { createMessage, type Message } from '../message.js';
import { deferred } from '../kernel/deferred.js';
import { Channel, iteratorOf, releaseIterator, type Streamable } from './channel.js';
import { requireInteger } from '../kernel/validate.js';

/**
 * A terminal stage: consumes a stream and resolves (with a result, such as counts) when the
 * stream has ended and every effect is done. Rejecting fails the pipeline it is part of.
 */
export type Sink<T, R = void> = (items: AsyncIterable<T>) => Promise<R>;

/** Options for {@link broadcast}. */
export interface BroadcastOptions<T> {
  /** Items buffered per sink. @defaultValue 16 */
  readonly bufferSize?: number | undefined;
  /**
   * Makes the per-sink copies of an item (one per sink, in sink order). {@link broadcastMessages}
   * uses {@link forkMessage}. @defaultValue every sink gets the same item
   */
  readonly fork?: ((item: T, sinks: number) => readonly T[]) | undefined;
  /**
   * Receives the copies that a sink will never see, because it finished early or the broadcast
   * failed. @defaultValue drops them
   */
  readonly onDiscard?: ((item: T) => void) | undefined;
}

/** The results of the sinks of a {@link broadcast}, in sink order. */
export type SinkResults<S extends readonly Sink<never, unknown>[]> = {
  -readonly [K in keyof S]: S[K] extends Sink<never, infer R> ? R : never;
};

/**
 * Fan-out: every sink sees every item (seed 001's loader, error handler and metrics collector).
 *
 * Each sink reads from its own buffer of `bufferSize` items; an item is handed to all sinks before
 * the next one is pulled from `source`, so the slowest sink governs the pace. Resolves with the
 * sinks' results once `source` has ended and every sink has resolved.
 *
 * Failures: when `source` throws, every sink sees the error after its buffered items, and the
 * broadcast rejects with it. When a sink rejects, `source` is stopped, the other sinks see the
 * same error, and the broadcast rejects with the first error. A sink that resolves before the
 * stream ends simply stops receiving (its copies go to `onDiscard`).
 *
 * Settlement: `broadcast` never acks or nacks. For messages use {@link broadcastMessages}.
 */
export async function broadcast<T, const S extends readonly Sink<T, unknown>[]>(
  source: Streamable<T>,
  sinks: S,
  options: BroadcastOptions<T> = {},
): Promise<SinkResults<S>> {
  const bufferSize = requireInteger('bufferSize', options.bufferSize ?? 16);
  const fork = options.fork;
  const channels = sinks.map(() => new Channel<T>(bufferSize, options.onDiscard));
  let failure: { readonly error: unknown } | undefined;
  // Resolved when the broadcast fails. A fresh one per pull: racing one long-lived promise would
  // leave a reaction on it for every item.
  let stopped = deferred<undefined>();
  const failAll = (error: unknown): void => {
    failure ??= { error };
    stopped.resolve(undefined);
    for (const channel of channels) channel.fail(failure.error);
  };
  const runs = sinks.map(async (sink, index) => {
    const channel = channels[index] as Channel<T>;
    try {
      return await sink(channel.iterator());
    } catch (error) {
      failAll(error);
      throw error;
    } finally {
      channel.cancel();
    }
  });
  // Every sink's rejection is observed here; the first one is reported below.
  const settled = Promise.allSettled(runs);

  const iterator = iteratorOf(source);
  try {
    for (;;) {
      // Race the source with a sink failure, so a quiet source cannot keep a failed fan-out open.
      const pending = iterator.next();
      stopped = deferred<undefined>();
      if (failure !== undefined) stopped.resolve(undefined);
      const next = await Promise.race([pending, stopped.promise]);
      if (next === undefined) {
        // Lost the race: an item that still arrives is one no sink will see.
        pending.then(
          (late) => {
            if (late.done !== true) options.onDiscard?.(late.value);
          },
          () => undefined,
        );
        break;
      }
      if (next.done === true) break;
      const item = next.value;
      const copies = fork === undefined ? undefined : fork(item, channels.length);
      const sends = channels.map((channel, index) =>
        channel.send(copies === undefined ? item : (copies[index] as T)),
      );
      await Promise.all(sends);
      if (failure !== undefined || channels.every((channel) => channel.done)) break;
    }
    for (const channel of channels) channel.close();
  } catch (error) {
    failAll(error);
  } finally {
    releaseIterator(iterator);
  }

  const outcomes = await settled;
  if (failure !== undefined) throw failure.error;
  return outcomes.map((outcome) =>
    outcome.status === 'fulfilled' ? outcome.value : undefined,
  ) as SinkResults<S>;
}

/**
 * Splits `message` into `count` copies with their own settlement: the original is acked when
 * every copy has been acked, and nacked as soon as one copy is nacked.
 */
export function forkMessage(message: Message, count: number): Message[] {
  let waiting = count;
  const copies: Message[] = [];
  for (let index = 0; index < count; index += 1) {
    copies.push(
      createMessage({
        id: message.id,
        data: message.data,
        attributes: message.attributes,
        publishTime: message.publishTime,
        orderingKey: message.orderingKey,
        deliveryAttempt: message.deliveryAttempt,
        enrichment: message.enrichment,
        onAck: () => {
          waiting -= 1;
          if (waiting === 0) message.ack();
        },
        onNack: () => {
          message.nack();
        },
      }),
    );
  }
  return copies;
}

/**
 * {@link broadcast} for messages: each sink gets its own copy ({@link forkMessage}) and acks or
 * nacks it when its effect is done. The original is acked once every sink acked, nacked as soon
 * as one sink nacks; a copy a sink never sees (it finished early, or the broadcast failed) is
 * nacked.
 */
export function broadcastMessages<const S extends readonly Sink<Message, unknown>[]>(
  source: Streamable<Message>,
  sinks: S,
  options: Pick<BroadcastOptions<Message>, 'bufferSize'> = {},
): Promise<SinkResults<S>> {
  return broadcast(source, sinks, {
    bufferSize: options.bufferSize,
    fork: forkMessage,
    onDiscard: (copy) => {
      copy.nack();
    },
  });
}
