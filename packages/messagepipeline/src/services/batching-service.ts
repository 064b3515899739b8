import { InvalidArgumentError, toTributaryError, TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import { isPromise } from '../internal/is-promise.js';
import { sleep } from '../kernel/deadline.js';
import type { HealthReporter, Service } from '../lifecycle.js';
import type { Message } from '../message.js';
import type { FlushReason } from '../observer.js';
import type { BatchProcessor, ItemFailure, ProcessableItem } from '../processor.js';
import { retryAfter, retryDelayMs } from '../retry.js';
import type { TransformResult } from '../transformer.js';
import { requireInteger, requireNumber } from '../kernel/validate.js';
import {
  resolvePipelineOptions,
  type PipelineServiceOptions,
  type ResolvedPipelineOptions,
} from './options.js';
import { PipelineService } from './pipeline-service.js';

/** Options for {@link createBatchingService}. */
export interface BatchingServiceOptions<T> extends PipelineServiceOptions<T> {
  /** Handles a batch and reports per-item failures; resolving means the rest is durable. */
  readonly processor: BatchProcessor<T>;
  /** A batch is flushed as soon as it holds this many items. @defaultValue 500 */
  readonly maxItems?: number | undefined;
  /**
   * Upper bound of a batch's bytes (sum of `message.size`). A batch is flushed as soon as it
   * reaches exactly this; an item that would take it past this flushes the batch first and starts
   * the next one. An item larger than this on its own is flushed alone.
   * @defaultValue 5_242_880 (5 MiB)
   */
  readonly maxBytes?: number | undefined;
  /**
   * A batch is flushed this long after its oldest item arrived, however many items follow.
   * `Infinity` turns age flushes off (for a sink that drives the cadence with `flushTrigger`).
   * @defaultValue 5_000
   */
  readonly maxWaitMs?: number | undefined;
  /**
   * Flushes running at once. While this many run and the open batch must flush, intake stops
   * pulling (backpressure): at most `maxConcurrentFlushes + 1` batches are held.
   * @defaultValue 2
   */
  readonly maxConcurrentFlushes?: number | undefined;
  /**
   * Sink-driven cadence: every value this yields flushes the open batch (reason `sink`), so the
   * storage layer can decide when to write (for example `setInterval(1000)` from
   * `node:timers/promises`, or `events.on(sink, 'ready')`). Size and age limits still apply.
   * It is iterated from `start()` and closed (`return()`) on stop; if it throws, the service
   * stops and `done` rejects.
   */
  readonly flushTrigger?: AsyncIterable<unknown> | undefined;
}

/** The defaults of {@link BatchingServiceOptions}. */
export const DEFAULT_BATCHING_OPTIONS = Object.freeze({
  maxItems: 500,
  maxBytes: 5 * 1024 * 1024,
  maxWaitMs: 5_000,
  maxConcurrentFlushes: 2,
});

/**
 * Pulls messages from a consumer, transforms each one (one at a time, on the intake path),
 * accumulates the payloads into batches and hands each batch to a processor. Flushes on
 * `maxItems`, `maxBytes`, `maxWaitMs` from the oldest item, a `flushTrigger` tick, and on stop.
 * Each item is settled by its own outcome: ok: ack; permanent: dead-letter then ack; transient:
 * the failed items alone are retried with backoff, then nacked. One bad row never fails its batch.
 */
export type BatchingService = Service & HealthReporter;

/**
 * Creates a {@link BatchingService}. Call `start()` to begin pulling.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createBatchingService<T>(options: BatchingServiceOptions<T>): BatchingService {
  return new BatchingServiceImpl(options);
}

interface ResolvedBatchingOptions<T> {
  readonly base: ResolvedPipelineOptions<T>;
  readonly processor: BatchProcessor<T>;
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly maxWaitMs: number;
  readonly maxConcurrentFlushes: number;
  readonly flushTrigger: AsyncIterable<unknown> | undefined;
}

/** Validates every option in one place. */
function resolveBatchingOptions<T>(options: BatchingServiceOptions<T>): ResolvedBatchingOptions<T> {
  const base = resolvePipelineOptions(options, 'batching-service');
  if (typeof options.processor !== 'function') {
    throw InvalidArgumentError.for('processor', 'must be a function');
  }
  const trigger = options.flushTrigger;
  if (trigger !== undefined && typeof trigger[Symbol.asyncIterator] !== 'function') {
    throw InvalidArgumentError.for('flushTrigger', 'must be an AsyncIterable');
  }
  const defaults = DEFAULT_BATCHING_OPTIONS;
  return {
    base,
    processor: options.processor,
    maxItems: requireInteger('maxItems', options.maxItems ?? defaults.maxItems, 1),
    maxBytes: requireInteger('maxBytes', options.maxBytes ?? defaults.maxBytes, 1),
    maxWaitMs: requireNumber('maxWaitMs', options.maxWaitMs ?? defaults.maxWaitMs, 1, {
      allowInfinity: true,
    }),
    maxConcurrentFlushes: requireInteger(
      'maxConcurrentFlushes',
      options.maxConcurrentFlushes ?? defaults.maxConcurrentFlushes,
      1,
    ),
    flushTrigger: trigger,
  };
}

/** A batch being filled or flushed; `receivedAt[i]` belongs to `items[i]`. */
interface Batch<T> {
  readonly items: ProcessableItem<T>[];
  readonly receivedAt: number[];
  bytes: number;
}

function newBatch<T>(): Batch<T> {
  return { items: [], receivedAt: [], bytes: 0 };
}

class BatchingServiceImpl<T> extends PipelineService<T> implements BatchingService {
  readonly #process: BatchProcessor<T>;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  readonly #maxFlushes: number;
  readonly #trigger: AsyncIterable<unknown> | undefined;
  #triggerIterator: AsyncIterator<unknown> | undefined;
  #open: Batch<T> = newBatch();
  #ageTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #flushing = new Set<Batch<T>>();
  /** Why the open batch must flush as soon as a flush slot frees (intake waits meanwhile). */
  #pending: FlushReason | undefined;
  #slotFreed: Deferred<void> | undefined;
  /** The message the intake path is transforming, not yet in a batch. */
  #current: Message | undefined;
  #currentReceivedAt = 0;

  constructor(options: BatchingServiceOptions<T>) {
    const resolved = resolveBatchingOptions(options);
    super(resolved.base);
    this.#process = resolved.processor;
    this.#maxItems = resolved.maxItems;
    this.#maxBytes = resolved.maxBytes;
    this.#maxWaitMs = resolved.maxWaitMs;
    this.#maxFlushes = resolved.maxConcurrentFlushes;
    this.#trigger = resolved.flushTrigger;
  }

  protected override onStarted(): void {
    if (this.#trigger !== undefined) void this.#followTrigger(this.#trigger);
  }

  protected accept(message: Message, receivedAt: number): Promise<void> | undefined {
    this.#current = message;
    this.#currentReceivedAt = receivedAt;
    let transformed: TransformResult<T> | Promise<TransformResult<T>>;
    try {
      transformed = this.options.transformer(message, this.signal);
    } catch (error) {
      return this.#recover(message, receivedAt, error);
    }
    if (isPromise(transformed)) return this.#acceptLater(message, receivedAt, transformed);
    return this.#add(message, receivedAt, transformed);
  }

  protected onIntakeEnded(): void {
    this.#current = undefined;
    const iterator = this.#triggerIterator;
    this.#triggerIterator = undefined;
    if (iterator?.return !== undefined) {
      iterator.return().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'closing the flush trigger failed');
      });
    }
    this.#requestFlush('stop');
  }

  protected onStopping(): void {
    // Intake ends by itself: flushes in progress free the slots it may wait for.
  }

  protected forceSettle(): number {
    let nacked = 0;
    const nack = (message: Message | undefined, receivedAt: number): void => {
      if (message !== undefined && message.outcome === undefined) {
        this.settler.nack(message, receivedAt, undefined);
        nacked++;
      }
    };
    nack(this.#current, this.#currentReceivedAt);
    for (const batch of [this.#open, ...this.#flushing]) {
      batch.items.forEach((item, i) => {
        nack(item.message, batch.receivedAt[i] ?? 0);
      });
    }
    clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
    this.#open = newBatch();
    this.#pending = undefined;
    this.#wakeIntake();
    return nacked;
  }

  async #acceptLater(
    message: Message,
    receivedAt: number,
    transformed: Promise<TransformResult<T>>,
  ): Promise<void> {
    let result: TransformResult<T>;
    try {
      result = await transformed;
    } catch (error) {
      return this.#recover(message, receivedAt, error);
    }
    return this.#add(message, receivedAt, result);
  }

  /** Retries a failed transform within the budget, then adds the item or settles the message. */
  async #recover(message: Message, receivedAt: number, thrown: unknown): Promise<void> {
    const settler = this.settler;
    const signal = this.signal;
    let result: TransformResult<T>;
    try {
      result = await retryAfter(
        toTributaryError(thrown),
        async () => {
          const pending = this.options.transformer(message, signal);
          return isPromise(pending) ? await pending : pending;
        },
        this.options.retry,
        {
          signal,
          onRetry: (attempt, error) => {
            settler.retried(message, attempt, error);
          },
        },
      );
    } catch (failure) {
      this.#current = undefined;
      if (message.outcome === undefined) {
        try {
          await settler.fail(message, toTributaryError(failure), receivedAt, signal.aborted);
        } catch (failed) {
          this.logger.error({ messageId: message.id, err: failed }, 'settling failed');
        }
      }
      this.release(message);
      return;
    }
    return this.#add(message, receivedAt, result);
  }

  /** Adds a transformed message to the open batch; returns a promise when intake must wait. */
  #add(
    message: Message,
    receivedAt: number,
    result: TransformResult<T>,
  ): Promise<void> | undefined {
    this.#current = undefined;
    if (result.kind === 'skip') {
      this.settler.skip(message, result.reason, receivedAt);
      this.release(message);
      return undefined;
    }
    const size = message.size;
    const open = this.#open;
    if (open.items.length > 0 && open.bytes + size > this.#maxBytes) this.#requestFlush('bytes');
    if (this.#pending !== undefined) {
      return this.#addWhenFlushed(message, receivedAt, { message, payload: result.value });
    }
    this.#push(receivedAt, { message, payload: result.value });
    return this.#flushPending() ? this.#waitForSlot() : undefined;
  }

  async #addWhenFlushed(
    message: Message,
    receivedAt: number,
    item: ProcessableItem<T>,
  ): Promise<void> {
    this.#current = message;
    this.#currentReceivedAt = receivedAt;
    while (this.#flushPending() && !this.aborted) await this.#waitForSlot();
    this.#current = undefined;
    if (this.aborted) {
      this.release(message); // nacked by the deadline
      return;
    }
    this.#push(receivedAt, item);
    if (this.#flushPending()) await this.#waitForSlot();
  }

  #push(receivedAt: number, item: ProcessableItem<T>): void {
    const open = this.#open;
    open.items.push(item);
    open.receivedAt.push(receivedAt);
    open.bytes += item.message.size;
    if (open.items.length === 1 && this.#maxWaitMs !== Infinity) {
      this.#ageTimer = setTimeout(this.#onAge, this.#maxWaitMs);
    }
    if (open.items.length >= this.#maxItems) this.#requestFlush('items');
    else if (open.bytes >= this.#maxBytes) this.#requestFlush('bytes');
  }

  readonly #onAge = (): void => {
    this.#ageTimer = undefined;
    this.#requestFlush('age');
  };

  /** The open batch must flush but every slot is busy: intake waits. */
  #flushPending(): boolean {
    return this.#pending !== undefined;
  }

  #waitForSlot(): Promise<void> {
    return (this.#slotFreed ??= deferred()).promise;
  }

  #wakeIntake(): void {
    const waiter = this.#slotFreed;
    if (waiter !== undefined) {
      this.#slotFreed = undefined;
      waiter.resolve();
    }
  }

  /** Flushes the open batch now, or as soon as a slot frees when all are busy. */
  #requestFlush(reason: FlushReason): void {
    if (this.#open.items.length === 0) return;
    if (this.#flushing.size < this.#maxFlushes) this.#startFlush(reason);
    else this.#pending ??= reason;
  }

  #startFlush(reason: FlushReason): void {
    const batch = this.#open;
    this.#open = newBatch();
    clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
    this.#flushing.add(batch);
    void this.#flush(batch, reason);
  }

  #flushDone(batch: Batch<T>): void {
    this.#flushing.delete(batch);
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      if (this.#open.items.length > 0) this.#startFlush(pending);
    }
    this.#wakeIntake();
  }

  /**
   * Hands a batch to the processor and settles every item by its outcome; retries only the items
   * that failed transiently. Never rejects.
   */
  async #flush(batch: Batch<T>, reason: FlushReason): Promise<void> {
    const startedAt = performance.now();
    const settler = this.settler;
    const signal = this.signal;
    const policy = this.options.retry;
    const publishing: Promise<void>[] = [];
    try {
      let items: readonly ProcessableItem<T>[] = batch.items;
      let times: readonly number[] = batch.receivedAt;
      for (let attempt = 1; ; attempt++) {
        const failures = await this.#call(items, signal);
        const retry: { item: ProcessableItem<T>; receivedAt: number; error: TributaryError }[] = [];
        items.forEach((item, k) => {
          const message = item.message;
          const receivedAt = times[k] ?? 0;
          const error = failures.get(k);
          if (error === undefined) {
            settler.ack(message, receivedAt);
            this.release(message);
          } else if (
            error.retriable &&
            attempt < policy.maxAttempts &&
            !signal.aborted &&
            message.outcome === undefined
          ) {
            retry.push({ item, receivedAt, error });
          } else {
            this.#settleFailed(message, error, receivedAt, publishing);
          }
        });
        if (retry.length === 0) break;
        for (const { item, error } of retry) settler.retried(item.message, attempt, error);
        await sleep(retryDelayMs(policy, attempt), signal);
        if (this.aborted) {
          for (const { item, receivedAt, error } of retry) {
            this.#settleFailed(item.message, error, receivedAt, publishing);
          }
          break;
        }
        items = retry.map((entry) => entry.item);
        times = retry.map((entry) => entry.receivedAt);
      }
      await Promise.all(publishing);
    } catch (error) {
      // Only reachable through a bug in settling; nack so nothing is lost.
      this.logger.error({ err: error }, 'flush failed unexpectedly');
      for (const item of batch.items) item.message.nack();
    }
    settler.batchFlushed(batch.items.length, batch.bytes, reason, performance.now() - startedAt);
    this.#flushDone(batch);
  }

  /** One processor call; returns the failures by position in `items`. */
  async #call(
    items: readonly ProcessableItem<T>[],
    signal: AbortSignal,
  ): Promise<Map<number, TributaryError>> {
    const failed = new Map<number, TributaryError>();
    let failures: readonly ItemFailure[];
    try {
      failures = await this.#process(items, signal);
    } catch (thrown) {
      const error = toTributaryError(thrown);
      for (let k = 0; k < items.length; k++) failed.set(k, error);
      return failed;
    }
    const reported: unknown = failures;
    if (!Array.isArray(reported)) return this.#invalid(items.length, 'not an array');
    for (const failure of failures) {
      const index = failure.index;
      if (!Number.isInteger(index) || index < 0 || index >= items.length || failed.has(index)) {
        return this.#invalid(items.length, `bad or repeated index ${String(index)}`);
      }
      failed.set(index, toTributaryError(failure.error));
    }
    return failed;
  }

  /** A processor that reports nonsense fails every item (transient: retried, then nacked). */
  #invalid(count: number, problem: string): Map<number, TributaryError> {
    this.logger.error({ problem }, 'batch processor returned invalid failures');
    const error = TributaryError.transient(
      'INTERNAL',
      `batch processor returned invalid failures: ${problem}`,
    );
    const failed = new Map<number, TributaryError>();
    for (let k = 0; k < count; k++) failed.set(k, error);
    return failed;
  }

  #settleFailed(
    message: Message,
    error: TributaryError,
    receivedAt: number,
    publishing: Promise<void>[],
  ): void {
    if (message.outcome !== undefined) {
      this.release(message); // settled at the deadline
      return;
    }
    const pending = this.settler.fail(message, error, receivedAt, this.signal.aborted);
    if (pending === undefined) {
      this.release(message);
    } else {
      publishing.push(
        pending.then(() => {
          this.release(message);
        }),
      );
    }
  }

  async #followTrigger(trigger: AsyncIterable<unknown>): Promise<void> {
    const iterator = trigger[Symbol.asyncIterator]();
    this.#triggerIterator = iterator;
    try {
      for (;;) {
        const tick = await iterator.next();
        if (tick.done === true || this.stopping) return;
        this.#requestFlush('sink');
      }
    } catch (error) {
      if (!this.stopping) this.die(error);
    }
  }
}
