import { randomUUID } from 'node:crypto';
import { TributaryError } from '../errors.js';
import { requireInteger, requireName } from '../kernel/validate.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { HealthReporter } from '../lifecycle.js';
import type { FlowControlledConsumer, MessageProducer, PollingConsumer } from '../ports.js';
import { InMemoryConsumer } from './consumer.js';
import { DEFAULT_CLIENT_OPTIONS, resolveSubscriptionOptions } from './options.js';
import type {
  CreateSubscriptionOptions,
  InMemoryBrokerOptions,
  InMemoryConsumerOptions,
  InMemoryProducerOptions,
  SubscriptionOptions,
} from './options.js';
import { InMemoryProducer } from './producer.js';
import { Subscription } from './subscription.js';
import type { SubscriptionStats } from './subscription.js';
import { Topic } from './topic.js';
import type { TopicStats } from './topic.js';

/** A statistics snapshot of the whole broker. */
export interface BrokerStats {
  readonly topics: Readonly<Record<string, TopicStats>>;
  readonly subscriptions: Readonly<Record<string, SubscriptionStats>>;
}

/**
 * The embedded message broker: Pub/Sub semantics (topics, subscriptions, competing consumers,
 * ack deadlines, redelivery, dead-letter topics, ordering keys) inside one process, with every
 * backlog bounded. Its producers and consumers implement the same ports as the Pub/Sub ones.
 */
export interface InMemoryBroker {
  /** @throws {@link TributaryError} `ALREADY_EXISTS` */
  createTopic(name: string): void;
  /**
   * Creates a subscription that receives every message published to `options.topic` from now
   * on. @throws {@link TributaryError} `ALREADY_EXISTS`, or `NOT_FOUND` for an unknown topic or
   * dead-letter topic; {@link InvalidArgumentError} for a bad option
   */
  createSubscription(name: string, options: CreateSubscriptionOptions): void;
  hasTopic(name: string): boolean;
  hasSubscription(name: string): boolean;
  /** A producer for `topic`. @throws {@link TributaryError} `NOT_FOUND` */
  producer(topic: string, options?: InMemoryProducerOptions): MessageProducer & HealthReporter;
  /** A competing consumer of `subscription`. @throws {@link TributaryError} `NOT_FOUND` */
  consumer(
    subscription: string,
    options?: InMemoryConsumerOptions,
  ): PollingConsumer & FlowControlledConsumer & HealthReporter;
  /** @throws {@link TributaryError} `NOT_FOUND` */
  subscriptionStats(name: string): SubscriptionStats;
  stats(): BrokerStats;
  /**
   * Stops every consumer and producer (blocked publishes are rejected with `CLOSED`) and every
   * timer. Unacked messages are discarded: the broker lives in memory. Idempotent.
   */
  close(): Promise<void>;
}

class InMemoryBrokerImpl implements InMemoryBroker {
  readonly #defaults: SubscriptionOptions;
  readonly #logger: Logger;
  readonly #topics = new Map<string, Topic>();
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #consumers = new Set<InMemoryConsumer>();
  readonly #producers = new Set<InMemoryProducer>();
  readonly #idPrefix = `${randomUUID().slice(0, 8)}-`;
  #sequence = 0;
  #closed: Promise<void> | undefined;

  constructor(options: InMemoryBrokerOptions) {
    this.#defaults = options.subscriptionDefaults ?? {};
    // Validate the defaults once, up front.
    resolveSubscriptionOptions({}, this.#defaults);
    this.#logger = (options.logger ?? silentLogger).child({ component: 'in-memory-broker' });
  }

  createTopic(name: string): void {
    this.#checkOpen();
    requireName('topic', name);
    if (this.#topics.has(name)) {
      throw TributaryError.permanent('ALREADY_EXISTS', `topic '${name}' already exists`);
    }
    this.#topics.set(name, new Topic(name, this.#nextId));
  }

  createSubscription(name: string, options: CreateSubscriptionOptions): void {
    this.#checkOpen();
    requireName('subscription', name);
    if (this.#subscriptions.has(name)) {
      throw TributaryError.permanent('ALREADY_EXISTS', `subscription '${name}' already exists`);
    }
    const topic = this.#topic(options.topic);
    const resolved = resolveSubscriptionOptions(options, this.#defaults);
    const deadLetterTopic =
      resolved.deadLetterTopic === undefined ? undefined : this.#topic(resolved.deadLetterTopic);
    const subscription = new Subscription(name, topic.name, resolved, {
      onRoom: topic.onRoom,
      deadLetter:
        deadLetterTopic === undefined ? undefined : (message) => deadLetterTopic.publish(message),
      logger: this.#logger,
    });
    topic.addSubscription(subscription);
    this.#subscriptions.set(name, subscription);
  }

  hasTopic(name: string): boolean {
    return this.#topics.has(name);
  }

  hasSubscription(name: string): boolean {
    return this.#subscriptions.has(name);
  }

  producer(topic: string, options: InMemoryProducerOptions = {}): MessageProducer & HealthReporter {
    this.#checkOpen();
    const target = this.#topic(topic);
    const producer = new InMemoryProducer(target, options.name ?? topic);
    this.#producers.add(producer);
    void producer.done.then(() => this.#producers.delete(producer));
    return producer;
  }

  consumer(
    subscription: string,
    options: InMemoryConsumerOptions = {},
  ): PollingConsumer & FlowControlledConsumer & HealthReporter {
    this.#checkOpen();
    const source = this.#subscription(subscription);
    const consumer = new InMemoryConsumer(source, options.name ?? subscription, {
      maxPrefetchMessages: requireInteger(
        'maxPrefetchMessages',
        options.maxPrefetchMessages ?? DEFAULT_CLIENT_OPTIONS.maxPrefetchMessages,
      ),
      maxInFlightMessages:
        options.maxInFlightMessages === undefined
          ? Infinity
          : requireInteger('maxInFlightMessages', options.maxInFlightMessages),
      maxInFlightBytes:
        options.maxInFlightBytes === undefined
          ? Infinity
          : requireInteger('maxInFlightBytes', options.maxInFlightBytes),
    });
    this.#consumers.add(consumer);
    void consumer.done.then(() => this.#consumers.delete(consumer));
    return consumer;
  }

  subscriptionStats(name: string): SubscriptionStats {
    return this.#subscription(name).stats();
  }

  stats(): BrokerStats {
    const topics: Record<string, TopicStats> = {};
    for (const [name, topic] of this.#topics) topics[name] = topic.stats();
    const subscriptions: Record<string, SubscriptionStats> = {};
    for (const [name, subscription] of this.#subscriptions) {
      subscriptions[name] = subscription.stats();
    }
    return { topics, subscriptions };
  }

  close(): Promise<void> {
    return (this.#closed ??= this.#close());
  }

  async #close(): Promise<void> {
    const error = TributaryError.transient('CLOSED', 'the in-memory broker is closed');
    // Subscriptions first, so that prefetched messages handed back by stopping consumers are not
    // dispatched to consumers that are about to stop too.
    for (const subscription of this.#subscriptions.values()) subscription.close();
    const stopping: Promise<void>[] = [];
    for (const consumer of this.#consumers) stopping.push(consumer.stop());
    for (const producer of this.#producers) stopping.push(producer.abort(error));
    for (const topic of this.#topics.values()) topic.close(error);
    await Promise.all(stopping);
  }

  readonly #nextId = (): string => this.#idPrefix + String(++this.#sequence);

  #topic(name: string): Topic {
    const topic = this.#topics.get(name);
    if (topic === undefined) throw TributaryError.permanent('NOT_FOUND', `no topic '${name}'`);
    return topic;
  }

  #subscription(name: string): Subscription {
    const subscription = this.#subscriptions.get(name);
    if (subscription === undefined) {
      throw TributaryError.permanent('NOT_FOUND', `no subscription '${name}'`);
    }
    return subscription;
  }

  #checkOpen(): void {
    if (this.#closed !== undefined) {
      throw TributaryError.permanent('CLOSED', 'the in-memory broker is closed');
    }
  }
}

/**
 * Creates the embedded broker. Defaults per subscription: `ackDeadlineMs` 60_000,
 * `maxBacklogMessages` 2_000, `maxBacklogBytes` 16 MiB, `overflow` 'block', no ordering, no
 * dead-letter topic (`maxDeliveryAttempts` 5 once one is set); per consumer
 * `maxPrefetchMessages` 32. See {@link SubscriptionOptions}.
 *
 * @example
 * ```ts
 * const broker = createInMemoryBroker();
 * broker.createTopic('raw');
 * broker.createSubscription('raw-enrichment', { topic: 'raw' });
 * const producer = broker.producer('raw');
 * await producer.publish({ data: new TextEncoder().encode('{"t":21.5}') });
 * for await (const message of broker.consumer('raw-enrichment')) message.ack();
 * ```
 */
export function createInMemoryBroker(options: InMemoryBrokerOptions = {}): InMemoryBroker {
  return new InMemoryBrokerImpl(options);
}
