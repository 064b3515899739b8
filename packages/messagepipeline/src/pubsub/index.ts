export {
  createPubSubConsumer,
  DEFAULT_PUBSUB_CONSUMER_OPTIONS,
  pubsubConsumerStatsDescription,
} from './consumer.js';
export type { PubSubConsumer, PubSubConsumerOptions, PubSubConsumerStats } from './consumer.js';
export {
  createPubSubProducer,
  DEFAULT_PUBSUB_PRODUCER_OPTIONS,
  pubsubProducerStatsDescription,
} from './producer.js';
export type {
  PubSubBatchingOptions,
  PubSubProducer,
  PubSubProducerOptions,
  PubSubProducerStats,
} from './producer.js';
export { classifyPubSubError, grpcStatus, grpcStatusOf } from './classify-error.js';
export type { GrpcStatusName } from './classify-error.js';
export { projectIdProblem, pubsubIdProblem, pubsubNameProblem } from './resource-names.js';
export type { PubSubCollection } from './resource-names.js';
export { createPubSubTransport } from './transport.js';
export type { PubSubTransport, PubSubTransportOptions } from './transport.js';
