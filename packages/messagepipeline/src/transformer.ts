import type { Message } from './message.js';

/** The result of a transformer: a typed payload to process, or a reason to ack and drop. */
export type TransformResult<T> =
  { readonly kind: 'emit'; readonly value: T } | { readonly kind: 'skip'; readonly reason: string };

/**
 * Turns a raw message into a typed payload. Three outcomes: return `emit(value)` to process it,
 * `skip(reason)` to ack and drop it (counted), or throw a classified `TributaryError` to fail it
 * (permanent: dead-letter; retriable: retry, then nack).
 */
export type Transformer<T> = (
  message: Message,
  signal: AbortSignal,
) => TransformResult<T> | Promise<TransformResult<T>>;

/** Wraps a payload to be processed. */
export function emit<T>(value: T): TransformResult<T> {
  return { kind: 'emit', value };
}

/** Acks and drops the message, for the given reason. */
export function skip(reason: string): TransformResult<never> {
  return { kind: 'skip', reason };
}
