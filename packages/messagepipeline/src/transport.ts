import { Lifecycle } from './kernel/lifecycle.js';
import type { HealthReporter, Service } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { MessageConsumer, MessageProducer } from './ports.js';
import type { StatsSource } from './stats.js';

/** What an app asks of a topic it publishes to. */
export interface TransportProducerOptions {
  /** The topic id (not the full resource name). */
  readonly topic: string;
  /** Client-side batching, where the transport batches. */
  readonly batching?:
    | { readonly maxMessages?: number | undefined; readonly maxMilliseconds?: number | undefined }
    | undefined;
  /**
   * Publishes not yet confirmed, at most; past it `publish()` waits. @defaultValue the adapter's
   * (the in-memory broker bounds by its subscriptions' backlogs instead, and ignores it)
   */
  readonly maxOutstandingMessages?: number | undefined;
  /** Publishing with ordering keys (they pass through). @defaultValue false */
  readonly messageOrdering?: boolean | undefined;
  /**
   * Checks that the topic exists: `true` fails start when it does not, `'report'` starts anyway
   * and reports not ready until it does, `false` does not check. @defaultValue false
   */
  readonly checkExistence?: boolean | 'report' | undefined;
  readonly logger?: Logger | undefined;
}

/** What an app asks of a subscription it consumes. */
export interface TransportConsumerOptions {
  /** The subscription id (not the full resource name). */
  readonly subscription: string;
  /** Messages received and not yet settled, at most. */
  readonly maxInFlightMessages?: number | undefined;
  /** Bytes of messages received and not yet settled, at most. */
  readonly maxInFlightBytes?: number | undefined;
  readonly logger?: Logger | undefined;
}

/** A producer made by a {@link Transport}. */
export type TransportProducer = MessageProducer & HealthReporter;

/** A consumer made by a {@link Transport}. */
export type TransportConsumer = MessageConsumer & HealthReporter;

/**
 * The message bus an app runs on: producers for topics and consumers of subscriptions. Pub/Sub
 * in production (`createPubSubTransport` in `/pubsub`), the in-memory broker in a local run
 * (`createBrokerTransport` in `/broker`). Apps take one, so the same composition runs on both.
 *
 * As a {@link Service}, start it first and stop it last: stopping closes what it owns (a client
 * it created), after the producers and consumers it made have stopped.
 */
export interface Transport<
  P extends TransportProducer = TransportProducer,
  C extends TransportConsumer = TransportConsumer,
> extends Service {
  /** Which bus this is, for logs and banners: `pubsub`, `in-memory`. */
  readonly kind: string;
  producer(options: TransportProducerOptions): P;
  consumer(options: TransportConsumerOptions): C;
  /** Every producer made so far (its `name` is its topic id). */
  readonly producers: readonly P[];
  /** Every consumer made so far (its `name` is its subscription id). */
  readonly consumers: readonly C[];
  /** The stats of every producer and consumer made so far, for the runtime's `exposeStats`. */
  statsSources(): readonly StatsSource[];
}

/** How {@link defineTransport} builds the parts of a transport. */
export interface TransportParts<P extends TransportProducer, C extends TransportConsumer> {
  readonly kind: string;
  readonly producer: (options: TransportProducerOptions) => P;
  readonly consumer: (options: TransportConsumerOptions) => C;
  /** The stats of one producer, labelled by its topic, when the adapter keeps any. */
  readonly producerStats?: ((producer: P) => StatsSource) | undefined;
  /** The stats of one consumer, labelled by its subscription, when the adapter keeps any. */
  readonly consumerStats?: ((consumer: C) => StatsSource) | undefined;
  /** Releases what the transport owns (a client it created); runs once, on stop. */
  readonly close?: (() => Promise<void> | void) | undefined;
}

/**
 * Builds a {@link Transport} from an adapter's factories: keeps the list of what it made, for
 * stats, and the start/stop lifecycle, so each adapter writes only its factories.
 */
export function defineTransport<P extends TransportProducer, C extends TransportConsumer>(
  parts: TransportParts<P, C>,
): Transport<P, C> {
  const producers: P[] = [];
  const consumers: C[] = [];
  const lifecycle = new Lifecycle(`${parts.kind} transport`, {
    stop: () => parts.close?.(),
    stopUnstarted: true,
  });
  return {
    kind: parts.kind,
    producers,
    consumers,
    producer(options) {
      const producer = parts.producer(options);
      producers.push(producer);
      return producer;
    },
    consumer(options) {
      const consumer = parts.consumer(options);
      consumers.push(consumer);
      return consumer;
    },
    statsSources() {
      const { producerStats, consumerStats } = parts;
      return [
        ...(producerStats === undefined ? [] : producers.map(producerStats)),
        ...(consumerStats === undefined ? [] : consumers.map(consumerStats)),
      ];
    },
    start: () => lifecycle.start(),
    stop: (options) => lifecycle.stop(options),
    done: lifecycle.done,
  };
}
