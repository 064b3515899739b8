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
export type { MessageConsumer, MessageProducer, OutgoingMessage, PublishOptions } from './ports.js';
export { emit, skip } from './transformer.js';
export type { Transformer, TransformResult } from './transformer.js';
export type { BatchProcessor, ItemFailure, ProcessableItem, StreamProcessor } from './processor.js';
export type { FlushReason, PipelineEvent, PipelineObserver } from './observer.js';
export { createDeadLetterPublisher, deadLetterAttributes } from './dead-letter.js';
export type { DeadLetterPublisherOptions, DeadLetterSink } from './dead-letter.js';
export { deferred } from './internal/deferred.js';
export type { Deferred } from './internal/deferred.js';
