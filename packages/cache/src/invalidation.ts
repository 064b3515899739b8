import { InvalidArgumentError, TributaryError } from '@tributary/messagepipeline';
import type { Cluster, Redis } from 'ioredis';

/** Carries invalidated keys between instances. */
export interface InvalidationBus {
  /** Tells every subscribed instance (this one included) that `key` changed. */
  publish(key: string): Promise<void>;
  /** Calls `onKey` for every key published from now on; resolves with an unsubscribe function. */
  subscribe(onKey: (key: string) => void): Promise<() => Promise<void>>;
}

/** Options for {@link createRedisInvalidationBus}. */
export interface RedisInvalidationBusOptions {
  /** Publishes invalidations; any client (a Cluster too). */
  readonly publisher: Redis | Cluster;
  /**
   * A connection of its own for SUBSCRIBE (a subscribed connection serves nothing else), such as
   * `publisher.duplicate()`; the bus does not close it.
   */
  readonly subscriber: Redis | Cluster;
  /** The Pub/Sub channel, such as `tributary:invalidate:devices`. */
  readonly channel: string;
}

/**
 * An invalidation bus on Redis Pub/Sub (fire-and-forget delivery: an instance disconnected at
 * the moment misses it, and keeps the value until its LRU TTL; keep that TTL short).
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createRedisInvalidationBus(options: RedisInvalidationBusOptions): InvalidationBus {
  const { publisher, subscriber, channel } = options;
  if (typeof channel !== 'string' || channel === '') {
    throw InvalidArgumentError.for('channel', 'must be a non-empty string');
  }
  return {
    async publish(key) {
      try {
        await publisher.publish(channel, key);
      } catch (error) {
        throw TributaryError.transient(
          'UNAVAILABLE',
          `publishing the invalidation of '${key}' failed: ${error instanceof Error ? error.message : String(error)}`,
          error,
        );
      }
    },
    async subscribe(onKey) {
      const listener = (from: string, key: string): void => {
        if (from === channel) onKey(key);
      };
      subscriber.on('message', listener);
      await subscriber.subscribe(channel);
      return async () => {
        subscriber.off('message', listener);
        await subscriber.unsubscribe(channel).catch(() => undefined);
      };
    },
  };
}
