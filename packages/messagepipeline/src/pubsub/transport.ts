import { PubSub } from '@google-cloud/pubsub';
import type { Logger } from '../logger.js';
import { defineTransport, type Transport } from '../transport.js';
import {
  createPubSubConsumer,
  pubsubConsumerStatsDescription,
  type PubSubConsumer,
} from './consumer.js';
import {
  createPubSubProducer,
  pubsubProducerStatsDescription,
  type PubSubProducer,
} from './producer.js';

/** Options of {@link createPubSubTransport}. */
export interface PubSubTransportOptions {
  /** A client to share; the transport then leaves closing it to its owner. */
  readonly pubsub?: PubSub | undefined;
  /** The project of a client the transport creates (and closes on stop). */
  readonly projectId?: string | undefined;
  /** The default logger of the producers and consumers it makes. */
  readonly logger?: Logger | undefined;
}

/** The Pub/Sub {@link Transport}: its producers and consumers keep their `stats()`. */
export type PubSubTransport = Transport<PubSubProducer, PubSubConsumer>;

/**
 * Pub/Sub as an app's {@link Transport}: one client (honouring `PUBSUB_EMULATOR_HOST`) for every
 * producer and consumer, closed on stop when the transport created it.
 */
export function createPubSubTransport(options: PubSubTransportOptions = {}): PubSubTransport {
  const owned = options.pubsub === undefined;
  const pubsub =
    options.pubsub ??
    new PubSub(options.projectId === undefined ? {} : { projectId: options.projectId });
  return defineTransport({
    kind: 'pubsub',
    producer: ({ topic, logger, ...rest }) =>
      createPubSubProducer({ ...rest, pubsub, topicName: topic, logger: logger ?? options.logger }),
    consumer: ({ subscription, logger, ...rest }) =>
      createPubSubConsumer({
        ...rest,
        pubsub,
        subscriptionName: subscription,
        logger: logger ?? options.logger,
      }),
    producerStats: (producer) => ({
      prefix: 'pubsub_producer',
      stats: () => producer.stats(),
      description: pubsubProducerStatsDescription,
      labels: { topic: producer.name },
    }),
    consumerStats: (consumer) => ({
      prefix: 'pubsub_consumer',
      stats: () => consumer.stats(),
      description: pubsubConsumerStatsDescription,
      labels: { subscription: consumer.name },
    }),
    close: () => (owned ? pubsub.close() : undefined),
  });
}
