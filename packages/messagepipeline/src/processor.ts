import type { Message } from './message.js';
import type { FlushReason } from './observer.js';

/** A transformed payload together with the message it came from. */
export interface ProcessableItem<T> {
  readonly message: Message;
  readonly payload: T;
}

/**
 * Handles one item. Resolving means the effect is durable (the service then acks); throwing a
 * classified error fails the item (permanent: dead-letter; retriable: retry, then nack).
 */
export type StreamProcessor<T> = (item: ProcessableItem<T>, signal: AbortSignal) => Promise<void>;

/** One item of a batch that failed. */
export interface ItemFailure {
  /** Index of the item in the batch that was passed in. */
  readonly index: number;
  /** The classified error; permanent failures are dead-lettered, retriable ones retried. */
  readonly error: unknown;
}

/** What a {@link BatchProcessor} is told about the batch it handles. */
export interface BatchContext {
  /** The batch's key in keyed mode (the `key` option); `undefined` otherwise. */
  readonly key: string | undefined;
  /** Why the batch was flushed. */
  readonly reason: FlushReason;
}

/**
 * Handles a batch and reports an outcome per item, so one bad row never fails its whole batch:
 * resolve with the failed items (an empty array when all succeeded). Throwing fails every item.
 */
export type BatchProcessor<T> = (
  items: readonly ProcessableItem<T>[],
  signal: AbortSignal,
  context: BatchContext,
) => Promise<readonly ItemFailure[]>;
