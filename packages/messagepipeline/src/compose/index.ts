/**
 * In-process composition (seeds 000 and 001): merged sources, worker stages, broadcast fan-out,
 * a JSONL file sink, tumbling and sliding windows, and a schema registry stage.
 */
export { merge } from './merge.js';
export type { MergeOptions } from './merge.js';
export type { Streamable } from './channel.js';
export { mapConcurrent } from './workers.js';
export type { MapConcurrentOptions } from './workers.js';
export { broadcast, broadcastMessages, forkMessage } from './broadcast.js';
export type { BroadcastOptions, Sink, SinkResults } from './broadcast.js';
export { jsonlSink } from './jsonl-sink.js';
export type { JsonlSinkOptions, JsonlSinkResult } from './jsonl-sink.js';
export { slidingWindows, tumblingWindows } from './windows.js';
export type { SlidingWindowOptions, WindowOptions, WindowResult } from './windows.js';
export { createSchemaRegistry, validateSchemas } from './schema-registry.js';
export type {
  SchemaMatch,
  SchemaRegistry,
  SchemaRegistryOptions,
  SchemaValidation,
  StandardValidator,
  ValidateSchemasOptions,
  ValidationIssue,
  ValidationResult,
} from './schema-registry.js';
