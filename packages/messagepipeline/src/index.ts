export {
  errorCodes,
  TributaryError,
  InvalidArgumentError,
  isTributaryError,
  toTributaryError,
} from './errors.js';
export type { ErrorCode, TributaryErrorOptions } from './errors.js';
export { silentLogger } from './logger.js';
export type { Logger, LogFields } from './logger.js';
export { createMessage, deriveMessage, attributesSize } from './message.js';
export type { Attributes, Message, MessageChanges, MessageInit, Outcome } from './message.js';
export { once } from './lifecycle.js';
export type { ComponentHealth, HealthReporter, Service, StopOptions } from './lifecycle.js';
export type {
  MessageConsumer,
  MessageProducer,
  OutgoingMessage,
  PollingConsumer,
  PublishOptions,
} from './ports.js';
export { emit, skip } from './transformer.js';
export type { Transformer, TransformResult } from './transformer.js';
export type { BatchProcessor, ItemFailure, ProcessableItem, StreamProcessor } from './processor.js';
export type { FlushReason, PipelineEvent, PipelineObserver } from './observer.js';
export { createDeadLetterPublisher, deadLetterAttributes } from './dead-letter.js';
export type { DeadLetterPublisherOptions, DeadLetterSink } from './dead-letter.js';
export { deferred } from './internal/deferred.js';
export type { Deferred } from './internal/deferred.js';
export { createInMemoryBroker } from './broker/broker.js';
export type { BrokerStats, InMemoryBroker } from './broker/broker.js';
export { DEFAULT_SUBSCRIPTION_OPTIONS } from './broker/options.js';
export type {
  CreateSubscriptionOptions,
  InMemoryBrokerOptions,
  InMemoryConsumerOptions,
  InMemoryProducerOptions,
  OverflowStrategy,
  SubscriptionOptions,
} from './broker/options.js';
export { deadLetterSourceAttributes } from './broker/subscription.js';
export type { SubscriptionStats } from './broker/subscription.js';
export type { TopicStats } from './broker/topic.js';
export { merge } from './compose/merge.js';
export type { MergeOptions } from './compose/merge.js';
export type { Streamable } from './compose/channel.js';
export { mapConcurrent } from './compose/workers.js';
export type { MapConcurrentOptions } from './compose/workers.js';
export { broadcast, broadcastMessages, forkMessage } from './compose/broadcast.js';
export type { BroadcastOptions, Sink, SinkResults } from './compose/broadcast.js';
export { jsonlSink } from './compose/jsonl-sink.js';
export type { JsonlSinkOptions, JsonlSinkResult } from './compose/jsonl-sink.js';
export { slidingWindows, tumblingWindows } from './compose/windows.js';
export type { SlidingWindowOptions, WindowOptions, WindowResult } from './compose/windows.js';
export { createSchemaRegistry, validateSchemas } from './compose/schema-registry.js';
export type {
  SchemaMatch,
  SchemaRegistry,
  SchemaRegistryOptions,
  SchemaValidation,
  StandardValidator,
  ValidateSchemasOptions,
  ValidationIssue,
  ValidationResult,
} from './compose/schema-registry.js';
export {
  decodeEnvelope,
  encodeEnvelope,
  ENVELOPE_ATTRIBUTE,
  ENVELOPE_VERSION,
} from './envelope.js';
export type { EnvelopeSource, EnvelopeV1 } from './envelope.js';
// Pure naming rules (no Google client): also here, so runtime and mqttconverter validate names
// without loading @google-cloud/pubsub.
export { projectIdProblem, pubsubIdProblem, pubsubNameProblem } from './pubsub/resource-names.js';
export type { PubSubCollection } from './pubsub/resource-names.js';
export { backoffDelayMs, DEFAULT_RETRY_OPTIONS, resolveRetryOptions, retry } from './retry.js';
export type { RetryCallOptions, RetryOptions, RetryPolicy } from './retry.js';
export type { PipelineServiceOptions } from './services/options.js';
export { createStreamingService, DEFAULT_STREAMING_OPTIONS } from './services/streaming-service.js';
export type { StreamingService, StreamingServiceOptions } from './services/streaming-service.js';
export { createBatchingService, DEFAULT_BATCHING_OPTIONS } from './services/batching-service.js';
export type { BatchingService, BatchingServiceOptions } from './services/batching-service.js';
