import { InvalidArgumentError, toTributaryError, TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import { isPromise } from '../internal/is-promise.js';
import { sleep } from '../kernel/deadline.js';
import { Deque } from '../kernel/deque.js';
import type { HealthReporter, Service } from '../lifecycle.js';
import type { StatsDescription } from '../stats.js';
import type { Message } from '../message.js';
import { inFlightWindowOf, type InFlightWindow } from '../ports.js';
import type { FlushReason } from '../observer.js';
import type { BatchContext, BatchProcessor, ItemFailure, ProcessableItem } from '../processor.js';
import { retryAfter, retryDelayMs } from '../retry.js';
import type { TransformResult } from '../transformer.js';
import { requireFunction, requireInteger, requireNumber } from '../kernel/validate.js';
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
  /**
   * Keyed mode: one open batch per key this returns (for example a table, or a date and a
   * device location), each with its own `maxItems` / `maxBytes` / `maxWaitMs` counted from its
   * own oldest item, so one key's flush never postpones another's. The processor gets the key in
   * its {@link BatchContext}. If it throws, the message fails (a {@link TributaryError} as
   * classified, anything else as permanent `INVALID_PAYLOAD`).
   * @defaultValue undefined (one batch for everything)
   */
  readonly key?: ((item: ProcessableItem<T>) => string) | undefined;
  /**
   * Keyed mode: at most this many keys have an open batch. A new key past it flushes open
   * batches (reason `pressure`, `pressureFlush` order) down to three quarters of this.
   * @defaultValue 1_000
   */
  readonly maxOpenKeys?: number | undefined;
  /**
   * Byte budget over every batch held (open, waiting for a slot and flushing). An item that would
   * pass it flushes open batches (reason `pressure`) until the open ones hold at most three
   * quarters of it, and intake waits until the item fits: the service never buffers beyond it
   * (an item larger than the budget alone is taken when nothing else is held). At least `maxBytes`.
   * Whatever the budget, the held messages never fill the consumer's flow-control window, when it
   * has one (a `FlowControlledConsumer`): at its edge open batches flush (reason `pressure`)
   * down to half of it, so the consumer can always hand out the next message.
   * @defaultValue 67_108_864 (64 MiB) in keyed mode; unbounded otherwise (there at most
   * `maxConcurrentFlushes + 1` batches are held anyway)
   */
  readonly maxBufferedBytes?: number | undefined;
  /** Which open batches pressure flushes first. @defaultValue `'largest'` */
  readonly pressureFlush?: PressureFlush | undefined;
}

/** The order in which pressure flushes open batches: the largest or the oldest first. */
export type PressureFlush = 'largest' | 'oldest';

/** What {@link BatchingService.stats} reports. */
export interface BatchingServiceStats {
  /** Keys with an open batch (1 or 0 without a `key` function). */
  readonly openKeys: number;
  /** Bytes held in open, waiting and flushing batches. */
  readonly bufferedBytes: number;
  /** The configured `maxBufferedBytes` (`Infinity` when unbounded). */
  readonly bufferBudgetBytes: number;
  /** Batches flushed because of budget or open-key pressure. */
  readonly pressureFlushes: number;
}

/** Describes {@link BatchingServiceStats} for `exposeStats`. */
export const batchingServiceStatsDescription: StatsDescription<BatchingServiceStats> = {
  openKeys: { kind: 'gauge', help: 'Keys with an open batch' },
  bufferedBytes: { kind: 'gauge', help: 'Bytes held in open, waiting and flushing batches' },
  bufferBudgetBytes: { kind: 'gauge', help: 'The byte budget of held batches' },
  pressureFlushes: {
    kind: 'counter',
    name: 'pressure_flushes',
    help: 'Batches flushed because of budget or open-key pressure',
  },
};

/** The defaults of {@link BatchingServiceOptions}. */
export const DEFAULT_BATCHING_OPTIONS = Object.freeze({
  maxItems: 500,
  maxBytes: 5 * 1024 * 1024,
  maxWaitMs: 5_000,
  maxConcurrentFlushes: 2,
  maxOpenKeys: 1_000,
  keyedMaxBufferedBytes: 64 * 1024 * 1024,
  pressureFlush: 'largest',
});

/**
 * Pulls messages from a consumer, transforms each one (one at a time, on the intake path),
 * accumulates the payloads into batches and hands each batch to a processor. Flushes on
 * `maxItems`, `maxBytes`, `maxWaitMs` from the oldest item, a `flushTrigger` tick, and on stop.
 * Each item is settled by its own outcome: ok: ack; permanent: dead-letter then ack; transient:
 * the failed items alone are retried with backoff, then nacked. One bad row never fails its batch.
 */
export interface BatchingService extends Service, HealthReporter {
  /** Open keys, bytes held against the budget, pressure flushes. */
  stats(): BatchingServiceStats;
}

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
  readonly key: ((item: ProcessableItem<T>) => string) | undefined;
  readonly maxOpenKeys: number;
  readonly maxBufferedBytes: number;
  readonly pressureFlush: PressureFlush;
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
  const key = options.key;
  if (key !== undefined) requireFunction('key', key);
  const maxBytes = requireInteger('maxBytes', options.maxBytes ?? defaults.maxBytes, 1);
  const maxBufferedBytes = requireNumber(
    'maxBufferedBytes',
    options.maxBufferedBytes ?? (key === undefined ? Infinity : defaults.keyedMaxBufferedBytes),
    maxBytes,
    { allowInfinity: true },
  );
  const pressureFlush: string = options.pressureFlush ?? defaults.pressureFlush;
  if (pressureFlush !== 'largest' && pressureFlush !== 'oldest') {
    throw InvalidArgumentError.for('pressureFlush', "must be 'largest' or 'oldest'");
  }
  return {
    base,
    processor: options.processor,
    maxItems: requireInteger('maxItems', options.maxItems ?? defaults.maxItems, 1),
    maxBytes,
    maxWaitMs: requireNumber('maxWaitMs', options.maxWaitMs ?? defaults.maxWaitMs, 1, {
      allowInfinity: true,
    }),
    maxConcurrentFlushes: requireInteger(
      'maxConcurrentFlushes',
      options.maxConcurrentFlushes ?? defaults.maxConcurrentFlushes,
      1,
    ),
    flushTrigger: trigger,
    key,
    maxOpenKeys:
      key === undefined
        ? 1
        : requireInteger('maxOpenKeys', options.maxOpenKeys ?? defaults.maxOpenKeys, 1),
    maxBufferedBytes,
    pressureFlush,
  };
}

/** A batch being filled or flushed; `receivedAt[i]` belongs to `items[i]`. */
interface Batch<T> {
  readonly key: string | undefined;
  readonly items: ProcessableItem<T>[];
  readonly receivedAt: number[];
  bytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A closed batch waiting for a flush slot. */
interface ReadyBatch<T> {
  readonly batch: Batch<T>;
  readonly reason: FlushReason;
}

/** The map key of the one open batch when no `key` function is set. */
const SINGLE = '';

class BatchingServiceImpl<T> extends PipelineService<T> implements BatchingService {
  readonly #process: BatchProcessor<T>;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  readonly #maxFlushes: number;
  readonly #trigger: AsyncIterable<unknown> | undefined;
  readonly #keyOf: ((item: ProcessableItem<T>) => string) | undefined;
  readonly #maxKeys: number;
  readonly #budget: number;
  readonly #pressureFlush: PressureFlush;
  #triggerIterator: AsyncIterator<unknown> | undefined;
  /** Open batches by key, in the order their oldest item arrived. */
  #open = new Map<string, Batch<T>>();
  #openBytes = 0;
  #openItems = 0;
  /** Bytes of every batch held: open, waiting for a slot and flushing. */
  #heldBytes = 0;
  #heldItems = 0;
  /** The consumer's flow-control window, which the held messages must not fill. */
  readonly #window: InFlightWindow | undefined;
  /** The largest message seen, what the window must have room for. */
  #largestBytes = 0;
  #pressureFlushes = 0;
  /** Closed batches waiting for a flush slot; intake waits while any does. */
  readonly #ready = new Deque<ReadyBatch<T>>();
  readonly #flushing = new Set<Batch<T>>();
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
    this.#keyOf = resolved.key;
    this.#maxKeys = resolved.maxOpenKeys;
    this.#budget = resolved.maxBufferedBytes;
    this.#pressureFlush = resolved.pressureFlush;
    this.#window = inFlightWindowOf(options.consumer);
  }

  stats(): BatchingServiceStats {
    return {
      openKeys: this.#open.size,
      bufferedBytes: this.#heldBytes,
      bufferBudgetBytes: this.#budget,
      pressureFlushes: this.#pressureFlushes,
    };
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
    this.#closeAll('stop');
  }

  protected onStopping(): void {
    // Intake ends by itself: flushes in progress free the slots (and bytes) it may wait for.
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
    const held = [...this.#open.values(), ...this.#ready.drain().map((r) => r.batch)];
    for (const batch of [...held, ...this.#flushing]) {
      clearTimeout(batch.timer);
      batch.items.forEach((item, i) => {
        nack(item.message, batch.receivedAt[i] ?? 0);
      });
    }
    this.#open = new Map();
    this.#openBytes = this.#openItems = 0;
    this.#heldBytes = this.#heldItems = 0;
    for (const batch of this.#flushing) {
      this.#heldBytes += batch.bytes;
      this.#heldItems += batch.items.length;
    }
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
      return this.#settleUnbatched(message, receivedAt, failure);
    }
    return this.#add(message, receivedAt, result);
  }

  /** Settles a message that failed before it reached a batch. */
  async #settleUnbatched(message: Message, receivedAt: number, failure: unknown): Promise<void> {
    this.#current = undefined;
    if (message.outcome === undefined) {
      try {
        await this.settler.fail(message, toTributaryError(failure), receivedAt, this.aborted);
      } catch (failed) {
        this.logger.error({ messageId: message.id, err: failed }, 'settling failed');
      }
    }
    this.release(message);
  }

  /** Adds a transformed message to its key's open batch; returns a promise when intake must wait. */
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
    const item: ProcessableItem<T> = { message, payload: result.value };
    let key = SINGLE;
    if (this.#keyOf !== undefined) {
      try {
        key = this.#keyOf(item);
        if (typeof key !== 'string') throw new TypeError(`key function returned ${typeof key}`);
      } catch (error) {
        const failure =
          error instanceof TributaryError
            ? error
            : TributaryError.permanent('INVALID_PAYLOAD', `batch key failed: ${String(error)}`);
        return this.#settleUnbatched(message, receivedAt, failure);
      }
    }
    if (!this.#admit(key, message.size)) return this.#addWhenAdmitted(key, receivedAt, item);
    this.#push(key, receivedAt, item);
    this.#relieveWindow();
    return this.#ready.length > 0 ? this.#waitForSlot() : undefined;
  }

  async #addWhenAdmitted(key: string, receivedAt: number, item: ProcessableItem<T>): Promise<void> {
    const message = item.message;
    this.#current = message;
    this.#currentReceivedAt = receivedAt;
    do {
      await this.#waitForSlot();
    } while (!this.aborted && !this.#admit(key, message.size));
    this.#current = undefined;
    if (this.aborted) {
      this.release(message); // nacked by the deadline
      return;
    }
    this.#push(key, receivedAt, item);
    this.#relieveWindow();
    if (this.#ready.length > 0) await this.#waitForSlot();
  }

  /**
   * Makes room for an item of `size` bytes for `key`: flushes the key's batch when the item would
   * take it past `maxBytes`, and relieves pressure on the byte budget and the open keys. True when
   * the item may be added now; otherwise intake waits for a flush to finish.
   */
  #admit(key: string, size: number): boolean {
    const open = this.#open.get(key);
    if (open !== undefined && open.bytes + size > this.#maxBytes) this.#close(open, 'bytes');
    if (this.#heldBytes + size > this.#budget) {
      // Down to three quarters of the budget, so one scan serves many items.
      const target = (this.#budget * 3) / 4 - size;
      this.#relieve(() => this.#openBytes > target);
    }
    if (!this.#open.has(key) && this.#open.size >= this.#maxKeys) {
      const target = Math.floor((this.#maxKeys * 3) / 4);
      this.#relieve(() => this.#open.size > target);
    }
    return (
      this.#ready.length === 0 && (this.#heldBytes + size <= this.#budget || this.#heldBytes === 0)
    );
  }

  /**
   * Keeps the consumer able to hand out another message: when the held messages fill its in-flight
   * window (its count, or its bytes with no room for a message as large as the largest seen),
   * flushes open batches down to half the window. Otherwise intake would wait for a message the
   * consumer hands out only after a held one settles, and held ones settle only at `maxWaitMs`.
   */
  #relieveWindow(): void {
    const window = this.#window;
    if (window === undefined) return;
    if (this.#heldItems < window.messages && this.#heldBytes + this.#largestBytes <= window.bytes) {
      return;
    }
    const items = window.messages / 2;
    const bytes = window.bytes / 2;
    this.#relieve(() => this.#openItems > items || this.#openBytes > bytes);
  }

  /** Flushes open batches, largest or oldest first (reason `pressure`), while `over()` holds. */
  #relieve(over: () => boolean): void {
    if (!over()) return;
    const victims = [...this.#open.values()];
    if (this.#pressureFlush === 'largest') victims.sort((a, b) => b.bytes - a.bytes);
    for (const batch of victims) {
      if (!over()) return;
      this.#pressureFlushes++;
      this.#close(batch, 'pressure');
    }
  }

  #push(key: string, receivedAt: number, item: ProcessableItem<T>): void {
    let batch = this.#open.get(key);
    if (batch === undefined) {
      batch = {
        key: this.#keyOf === undefined ? undefined : key,
        items: [],
        receivedAt: [],
        bytes: 0,
        timer: undefined,
      };
      this.#open.set(key, batch);
      if (this.#maxWaitMs !== Infinity) {
        const aged = batch;
        batch.timer = setTimeout(() => {
          aged.timer = undefined;
          this.#close(aged, 'age');
        }, this.#maxWaitMs);
      }
    }
    const size = item.message.size;
    batch.items.push(item);
    batch.receivedAt.push(receivedAt);
    batch.bytes += size;
    this.#openBytes += size;
    this.#heldBytes += size;
    this.#openItems++;
    this.#heldItems++;
    if (size > this.#largestBytes) this.#largestBytes = size;
    if (batch.items.length >= this.#maxItems) this.#close(batch, 'items');
    else if (batch.bytes >= this.#maxBytes) this.#close(batch, 'bytes');
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

  /** Closes every open batch (a `flushTrigger` tick, or stop). */
  #closeAll(reason: FlushReason): void {
    for (const batch of [...this.#open.values()]) this.#close(batch, reason);
  }

  /** Closes an open batch: it flushes now, or as soon as a slot frees when all are busy. */
  #close(batch: Batch<T>, reason: FlushReason): void {
    const key = batch.key ?? SINGLE;
    if (this.#open.get(key) !== batch) return;
    this.#open.delete(key);
    clearTimeout(batch.timer);
    batch.timer = undefined;
    this.#openBytes -= batch.bytes;
    this.#openItems -= batch.items.length;
    this.#ready.push({ batch, reason });
    this.#startReady();
  }

  #startReady(): void {
    while (this.#flushing.size < this.#maxFlushes) {
      const next = this.#ready.shift();
      if (next === undefined) return;
      this.#flushing.add(next.batch);
      void this.#flush(next.batch, next.reason);
    }
  }

  #flushDone(batch: Batch<T>): void {
    if (!this.#flushing.delete(batch)) return; // dropped by forceSettle
    this.#heldBytes -= batch.bytes;
    this.#heldItems -= batch.items.length;
    this.#startReady();
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
    const context: BatchContext = { key: batch.key, reason };
    const publishing: Promise<void>[] = [];
    try {
      let items: readonly ProcessableItem<T>[] = batch.items;
      let times: readonly number[] = batch.receivedAt;
      for (let attempt = 1; ; attempt++) {
        const failures = await this.#call(items, signal, context);
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
    context: BatchContext,
  ): Promise<Map<number, TributaryError>> {
    const failed = new Map<number, TributaryError>();
    let failures: readonly ItemFailure[];
    try {
      failures = await this.#process(items, signal, context);
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
        this.#closeAll('sink');
      }
    } catch (error) {
      if (!this.stopping) this.die(error);
    }
  }
}
