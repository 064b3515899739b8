/**
 * The in-memory broker: Pub/Sub's semantics (topics, subscriptions, ack deadlines, redelivery,
 * dead-letter policies, ordering) inside one process. It is the embedded default of local runs
 * and the transport of in-process tests.
 */
export { createInMemoryBroker } from './broker.js';
export type { BrokerStats, InMemoryBroker } from './broker.js';
export { DEFAULT_SUBSCRIPTION_OPTIONS } from './options.js';
export type {
  CreateSubscriptionOptions,
  InMemoryBrokerOptions,
  InMemoryConsumerOptions,
  InMemoryProducerOptions,
  OverflowStrategy,
  SubscriptionOptions,
} from './options.js';
export { deadLetterSourceAttributes } from './subscription.js';
export type { SubscriptionStats } from './subscription.js';
export type { TopicStats } from './topic.js';
export { createBrokerTransport } from './transport.js';
