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
export type { ComponentHealth, HealthReporter, Service, StopOptions } from './lifecycle.js';
export type { StatDescription, StatsDescription, StatsSource } from './stats.js';
export { inFlightWindowOf, reportsHeldWork } from './ports.js';
export type {
  FlowControlledConsumer,
  HeldWorkReporter,
  InFlightWindow,
  MessageConsumer,
  MessageProducer,
  OutgoingMessage,
  PollingConsumer,
  PublishOptions,
} from './ports.js';
export { emit, skip } from './transformer.js';
export type { Transformer, TransformResult } from './transformer.js';
export type {
  BatchContext,
  BatchProcessor,
  ItemFailure,
  ProcessableItem,
  StreamProcessor,
} from './processor.js';
export type { FlushReason, PipelineEvent, PipelineObserver } from './observer.js';
export { buildDeadLetter, createDeadLetterPublisher, deadLetterAttributes } from './dead-letter.js';
export type {
  DeadLetterPublisherOptions,
  DeadLetterSink,
  DeadLetterWrapper,
} from './dead-letter.js';
export { messageLimitProblem, PUBSUB_LIMITS } from './limits.js';
export type { MessageLimits } from './limits.js';
export {
  decodeEnvelope,
  encodeEnvelope,
  ENVELOPE_ATTRIBUTE,
  ENVELOPE_VERSION,
} from './envelope.js';
export type { EnvelopeSource, EnvelopeV1 } from './envelope.js';
export { DEFAULT_RETRY_OPTIONS, resolveRetryOptions, retry } from './retry.js';
export type { RetryCallOptions, RetryOptions, RetryPolicy } from './retry.js';
export type { PipelineServiceOptions } from './services/options.js';
export { createStreamingService, DEFAULT_STREAMING_OPTIONS } from './services/streaming-service.js';
export type { StreamingService, StreamingServiceOptions } from './services/streaming-service.js';
export {
  batchingServiceStatsDescription,
  createBatchingService,
  DEFAULT_BATCHING_OPTIONS,
} from './services/batching-service.js';
export type {
  BatchingService,
  BatchingServiceOptions,
  BatchingServiceStats,
  PressureFlush,
} from './services/batching-service.js';
export { defineTransport } from './transport.js';
export type {
  Transport,
  TransportConsumer,
  TransportConsumerOptions,
  TransportParts,
  TransportProducer,
  TransportProducerOptions,
} from './transport.js';
