import { InvalidArgumentError } from '../errors.js';
import { requireInteger } from '../kernel/validate.js';
import type { Logger } from '../logger.js';

/**
 * What `publish()` does when a message does not fit in one of its topic's subscriptions:
 * `'block'` waits until consumers acknowledge enough to make room (backpressure: a slow consumer
 * slows the publisher); `'reject'` fails at once with a retriable `RATE_LIMITED` error. Nothing
 * is ever buffered beyond the bound and nothing is dropped.
 */
export type OverflowStrategy = 'block' | 'reject';

/** Settings of one subscription. */
export interface SubscriptionOptions {
  /**
   * How long a delivered message may stay neither acked nor nacked before it is redelivered.
   * Unlike the Pub/Sub client library, nothing extends it automatically, so the default is
   * generous. The clock starts when the consumer's iterator yields the message (prefetched
   * messages are leased to their consumer). @defaultValue 60_000
   */
  readonly ackDeadlineMs?: number | undefined;
  /**
   * How often expired deliveries are looked for; one timer per subscription, running only while
   * messages are outstanding. A message is redelivered no sooner than `ackDeadlineMs` after its
   * delivery and about one interval later at most (later when the event loop is busy).
   * @defaultValue `ackDeadlineMs / 10`, clamped to [10, 1_000]
   */
  readonly deadlineSweepIntervalMs?: number | undefined;
  /**
   * Most unacked messages (waiting, prefetched, outstanding or being dead-lettered) the
   * subscription holds; see {@link SubscriptionOptions.overflow}. The default is twice a
   * StreamingService's default in-flight window: room for a full window in flight and another
   * queued. Raise it for consumers that hold more unacked messages (large or keyed batches);
   * longer backlogs cost memory (V8 keeps more heap while messages survive longer).
   * @defaultValue 2_000
   */
  readonly maxBacklogMessages?: number | undefined;
  /**
   * Most bytes (data plus attributes) of unacked messages the subscription holds. A single
   * message larger than this is admitted only into an empty backlog. @defaultValue 16 MiB
   */
  readonly maxBacklogBytes?: number | undefined;
  /** What a publish does when the backlog is full. @defaultValue 'block' */
  readonly overflow?: OverflowStrategy | undefined;
  /**
   * Deliver messages that share an ordering key in publish order, one outstanding at a time per
   * key (Pub/Sub `enableMessageOrdering`). @defaultValue false
   */
  readonly enableMessageOrdering?: boolean | undefined;
  /**
   * Topic that receives a message after `maxDeliveryAttempts` failed deliveries (nacked or
   * expired), with its data, attributes and ordering key plus the `CloudPubSubDeadLetterSource*`
   * attributes. Without it a message is redelivered for ever. @defaultValue undefined
   */
  readonly deadLetterTopic?: string | undefined;
  /**
   * Deliveries before a message is dead-lettered; only with `deadLetterTopic`. Pub/Sub allows
   * 5..100; this broker allows 1..100 so tests can be short. @defaultValue 5
   */
  readonly maxDeliveryAttempts?: number | undefined;
}

/** Options of `broker.createSubscription()`. */
export interface CreateSubscriptionOptions extends SubscriptionOptions {
  /** The topic whose messages (published from now on) the subscription receives. */
  readonly topic: string;
}

/** Options of `broker.consumer()`. */
export interface InMemoryConsumerOptions {
  /**
   * Most messages taken from the backlog ahead of the iterator. They stay leased to this
   * consumer (no ack deadline runs) and go back to the backlog when it stops. @defaultValue 32
   */
  readonly maxPrefetchMessages?: number | undefined;
  /**
   * Messages yielded and not yet acked, nacked or expired, at most: past it the iterator waits
   * for one to end (the Pub/Sub client's flow control). Prefetched messages do not count.
   * @defaultValue unbounded
   */
  readonly maxInFlightMessages?: number | undefined;
  /**
   * Bytes (data plus attributes) of those messages, at most: a message that would take them past
   * this waits, unless none is in flight. @defaultValue unbounded
   */
  readonly maxInFlightBytes?: number | undefined;
  /** For logs and metrics. @defaultValue the subscription name */
  readonly name?: string | undefined;
}

/** Options of `broker.producer()`. */
export interface InMemoryProducerOptions {
  /** For logs and metrics. @defaultValue the topic name */
  readonly name?: string | undefined;
}

/** Options of {@link createInMemoryBroker}. */
export interface InMemoryBrokerOptions {
  /** Defaults for every subscription, each overridable per subscription. */
  readonly subscriptionDefaults?: SubscriptionOptions | undefined;
  /** Receives debug lines (dead letters, expiries). @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** The subscription defaults. */
export const DEFAULT_SUBSCRIPTION_OPTIONS = Object.freeze({
  ackDeadlineMs: 60_000,
  maxBacklogMessages: 2_000,
  maxBacklogBytes: 16 * 1024 * 1024,
  overflow: 'block',
  enableMessageOrdering: false,
  maxDeliveryAttempts: 5,
}) satisfies Required<Omit<SubscriptionOptions, 'deadLetterTopic' | 'deadlineSweepIntervalMs'>>;

/** The consumer and producer defaults. */
export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  maxPrefetchMessages: 32,
}) satisfies Required<
  Omit<
    InMemoryConsumerOptions & InMemoryProducerOptions,
    'name' | 'maxInFlightMessages' | 'maxInFlightBytes'
  >
>;

const OVERFLOW_STRATEGIES: readonly string[] = ['block', 'reject'] satisfies OverflowStrategy[];

/** Subscription settings with every default applied. */
export interface ResolvedSubscriptionOptions {
  readonly ackDeadlineMs: number;
  readonly deadlineSweepIntervalMs: number;
  readonly maxBacklogMessages: number;
  readonly maxBacklogBytes: number;
  readonly overflow: OverflowStrategy;
  readonly enableMessageOrdering: boolean;
  readonly deadLetterTopic: string | undefined;
  readonly maxDeliveryAttempts: number;
}

/**
 * Applies defaults (per-subscription over broker-wide over built-in) and validates.
 * @throws {@link InvalidArgumentError} naming the first bad option
 */
export function resolveSubscriptionOptions(
  options: SubscriptionOptions,
  defaults: SubscriptionOptions = {},
): ResolvedSubscriptionOptions {
  const D = DEFAULT_SUBSCRIPTION_OPTIONS;
  const ackDeadlineMs = requireInteger(
    'ackDeadlineMs',
    options.ackDeadlineMs ?? defaults.ackDeadlineMs ?? D.ackDeadlineMs,
  );
  const overflow = options.overflow ?? defaults.overflow ?? D.overflow;
  if (!OVERFLOW_STRATEGIES.includes(overflow)) {
    throw InvalidArgumentError.for('overflow', `must be 'block' or 'reject'`);
  }
  return {
    ackDeadlineMs,
    deadlineSweepIntervalMs: requireInteger(
      'deadlineSweepIntervalMs',
      options.deadlineSweepIntervalMs ??
        defaults.deadlineSweepIntervalMs ??
        Math.min(1_000, Math.max(10, Math.ceil(ackDeadlineMs / 10))),
    ),
    maxBacklogMessages: requireInteger(
      'maxBacklogMessages',
      options.maxBacklogMessages ?? defaults.maxBacklogMessages ?? D.maxBacklogMessages,
    ),
    maxBacklogBytes: requireInteger(
      'maxBacklogBytes',
      options.maxBacklogBytes ?? defaults.maxBacklogBytes ?? D.maxBacklogBytes,
    ),
    overflow,
    enableMessageOrdering:
      options.enableMessageOrdering ?? defaults.enableMessageOrdering ?? D.enableMessageOrdering,
    deadLetterTopic: options.deadLetterTopic ?? defaults.deadLetterTopic,
    maxDeliveryAttempts: requireInteger(
      'maxDeliveryAttempts',
      options.maxDeliveryAttempts ?? defaults.maxDeliveryAttempts ?? D.maxDeliveryAttempts,
      1,
      100,
    ),
  };
}
