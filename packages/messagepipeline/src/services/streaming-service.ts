import { InvalidArgumentError, toTributaryError, type TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import { Deque } from '../kernel/deque.js';
import { isPromise } from '../internal/is-promise.js';
import type { HealthReporter, Service } from '../lifecycle.js';
import type { Message } from '../message.js';
import type { StreamProcessor } from '../processor.js';
import { retryAfter } from '../retry.js';
import type { TransformResult } from '../transformer.js';
import { requireInteger } from '../kernel/validate.js';
import {
  resolvePipelineOptions,
  type PipelineServiceOptions,
  type ResolvedPipelineOptions,
} from './options.js';
import { PipelineService } from './pipeline-service.js';

/** Options for {@link createStreamingService}. */
export interface StreamingServiceOptions<T> extends PipelineServiceOptions<T> {
  /** Handles each transformed payload; resolving means the effect is durable. */
  readonly processor: StreamProcessor<T>;
  /**
   * Messages transformed and processed at once (a message waiting for a retry keeps its slot).
   * Messages taken beyond this wait in a FIFO queue bounded by the in-flight limits.
   * @defaultValue 10
   */
  readonly concurrency?: number | undefined;
  /**
   * Messages taken from the consumer and not yet settled; at the limit, intake stops pulling.
   * `Infinity` when the consumer bounds what it hands out (the MQTT and Pub/Sub consumers do).
   * @defaultValue 1_000
   */
  readonly maxInFlightMessages?: number | undefined;
  /**
   * Sum of `message.size` over the messages in flight; at or above it, intake stops pulling. The
   * last message pulled may overshoot it (a message larger than the limit is taken alone).
   * @defaultValue 104_857_600 (100 MiB)
   */
  readonly maxInFlightBytes?: number | undefined;
}

/** The defaults of {@link StreamingServiceOptions}. */
export const DEFAULT_STREAMING_OPTIONS = Object.freeze({
  concurrency: 10,
  maxInFlightMessages: 1_000,
  maxInFlightBytes: 100 * 1024 * 1024,
});

/**
 * Pulls messages from a consumer, transforms and processes each one, and settles it by the
 * contract: success or skip: ack; permanent failure: dead-letter then ack (nack when the
 * dead-letter publish fails or there is no sink); transient failure: retry with backoff, then
 * nack (or dead-letter as `ATTEMPTS_EXHAUSTED` past `maxDeliveryAttempts`). Every message taken
 * is settled exactly once, by the deadline of `stop()` at the latest.
 */
export interface StreamingService extends Service, HealthReporter {
  /** Messages taken from the consumer and not yet settled. */
  readonly inFlight: { readonly messages: number; readonly bytes: number };
}

/**
 * Creates a {@link StreamingService}. Call `start()` to begin pulling.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createStreamingService<T>(options: StreamingServiceOptions<T>): StreamingService {
  return new StreamingServiceImpl(options);
}

/** A limit: an integer of at least 1, or `Infinity` for none. */
function integerOrInfinity(name: string, value: number): number {
  return value === Infinity ? value : requireInteger(name, value);
}

/** Validates every option in one place. */
function resolveStreamingOptions<T>(options: StreamingServiceOptions<T>): {
  readonly base: ResolvedPipelineOptions<T>;
  readonly processor: StreamProcessor<T>;
  readonly concurrency: number;
  readonly maxInFlightMessages: number;
  readonly maxInFlightBytes: number;
} {
  const base = resolvePipelineOptions(options, 'streaming-service');
  if (typeof options.processor !== 'function') {
    throw InvalidArgumentError.for('processor', 'must be a function');
  }
  const defaults = DEFAULT_STREAMING_OPTIONS;
  return {
    base,
    processor: options.processor,
    concurrency: requireInteger('concurrency', options.concurrency ?? defaults.concurrency, 1),
    maxInFlightMessages: integerOrInfinity(
      'maxInFlightMessages',
      options.maxInFlightMessages ?? defaults.maxInFlightMessages,
    ),
    maxInFlightBytes: integerOrInfinity(
      'maxInFlightBytes',
      options.maxInFlightBytes ?? defaults.maxInFlightBytes,
    ),
  };
}

/**
 * A processing slot. It holds the message it works on (so the deadline can nack it) and its
 * promise callbacks, made once per lane so the hot path allocates no closures.
 */
interface Lane<T> {
  message: Message | undefined;
  receivedAt: number;
  /** The transform result of the current message, kept for a retry of the processor. */
  result: TransformResult<T> | undefined;
  readonly onTransformed: (result: TransformResult<T>) => void;
  readonly onProcessed: () => void;
  readonly onFailed: (error: unknown) => void;
}

class StreamingServiceImpl<T> extends PipelineService<T> implements StreamingService {
  readonly #process: StreamProcessor<T>;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #lanes: Lane<T>[];
  readonly #freeLanes: Lane<T>[];
  /** Messages taken while every lane was busy, and when they were received: FIFO. */
  readonly #queue = new Deque<Message>();
  readonly #queueTimes = new Deque<number>();
  #capacity: Deferred<void> | undefined;

  constructor(options: StreamingServiceOptions<T>) {
    const resolved = resolveStreamingOptions(options);
    super(resolved.base);
    this.#process = resolved.processor;
    this.#maxMessages = resolved.maxInFlightMessages;
    this.#maxBytes = resolved.maxInFlightBytes;
    this.#lanes = Array.from({ length: resolved.concurrency }, () => this.#createLane());
    this.#freeLanes = [...this.#lanes].reverse();
  }

  get inFlight(): { readonly messages: number; readonly bytes: number } {
    return { messages: this.inFlightCount, bytes: this.inFlightBytes };
  }

  protected accept(message: Message, receivedAt: number): Promise<void> | undefined {
    const lane = this.#freeLanes.pop();
    if (lane === undefined) {
      this.#queue.push(message);
      this.#queueTimes.push(receivedAt);
    } else {
      lane.message = message;
      lane.receivedAt = receivedAt;
      this.#drive(lane);
    }
    if (this.inFlightCount < this.#maxMessages && this.inFlightBytes < this.#maxBytes) {
      return undefined;
    }
    this.#capacity = deferred();
    return this.#capacity.promise;
  }

  protected onIntakeEnded(): void {
    // Lanes drain the queue on their own.
  }

  protected onStopping(): void {
    this.#wakeIntake();
  }

  protected forceSettle(): number {
    let nacked = 0;
    for (const lane of this.#lanes) {
      const message = lane.message;
      if (message !== undefined && message.outcome === undefined) {
        this.settler.nack(message, lane.receivedAt, undefined);
        nacked++;
      }
    }
    const times = this.#queueTimes.drain();
    this.#queue.drain().forEach((message, i) => {
      if (message.outcome === undefined) {
        this.settler.nack(message, times[i] ?? 0, undefined);
        nacked++;
      }
    });
    return nacked;
  }

  #createLane(): Lane<T> {
    const lane: Lane<T> = {
      message: undefined,
      receivedAt: 0,
      result: undefined,
      onTransformed: (result) => {
        if (this.#afterTransform(lane, result) && this.#next(lane)) this.#drive(lane);
      },
      onProcessed: () => {
        const message = lane.message;
        if (message !== undefined) this.#ack(message, lane.receivedAt);
        if (this.#next(lane)) this.#drive(lane);
      },
      onFailed: (error) => {
        void this.#recover(lane, error);
      },
    };
    return lane;
  }

  /**
   * Runs the lane's messages synchronously while their transform and processing complete
   * synchronously (a skip), and hands over to promise callbacks at the first that must wait.
   */
  #drive(lane: Lane<T>): void {
    do {
      const message = lane.message;
      if (message === undefined) return;
      lane.result = undefined;
      let transformed: TransformResult<T> | Promise<TransformResult<T>>;
      try {
        transformed = this.options.transformer(message, this.signal);
      } catch (error) {
        lane.onFailed(error);
        return;
      }
      if (isPromise(transformed)) {
        transformed.then(lane.onTransformed, lane.onFailed);
        return;
      }
      if (!this.#afterTransform(lane, transformed)) return;
    } while (this.#next(lane));
  }

  /** Skips or starts processing; returns true when the message is done (skipped). */
  #afterTransform(lane: Lane<T>, result: TransformResult<T>): boolean {
    const message = lane.message;
    if (message === undefined) return false;
    if (result.kind === 'skip') {
      this.#skip(message, result.reason, lane.receivedAt);
      return true;
    }
    lane.result = result;
    let processing: Promise<void>;
    try {
      processing = this.#process({ message, payload: result.value }, this.signal);
    } catch (error) {
      lane.onFailed(error);
      return false;
    }
    processing.then(lane.onProcessed, lane.onFailed);
    return false;
  }

  /** Releases the lane's message; moves the next queued one onto the lane, if any. */
  #next(lane: Lane<T>): boolean {
    const done = lane.message;
    if (done !== undefined) this.release(done);
    if (this.#capacity !== undefined && this.#hasCapacity()) this.#wakeIntake();
    const next = this.#queue.shift();
    if (next === undefined) {
      lane.message = undefined;
      lane.result = undefined;
      this.#freeLanes.push(lane);
      return false;
    }
    lane.message = next;
    lane.receivedAt = this.#queueTimes.shift() ?? 0;
    return true;
  }

  #hasCapacity(): boolean {
    return this.inFlightCount < this.#maxMessages && this.inFlightBytes < this.#maxBytes;
  }

  #wakeIntake(): void {
    const capacity = this.#capacity;
    if (capacity !== undefined) {
      this.#capacity = undefined;
      capacity.resolve();
    }
  }

  #ack(message: Message, receivedAt: number): void {
    try {
      this.settler.ack(message, receivedAt);
    } catch (error) {
      this.logger.error({ messageId: message.id, err: error }, 'ack failed');
    }
  }

  #skip(message: Message, reason: string, receivedAt: number): void {
    try {
      this.settler.skip(message, reason, receivedAt);
    } catch (error) {
      this.logger.error({ messageId: message.id, err: error }, 'ack failed');
    }
  }

  /**
   * The slow path after a failed first attempt: retries transient failures (re-running only the
   * step that failed) with backoff, settles the message by the contract, then carries on with
   * the lane's queue. Never rejects.
   */
  async #recover(lane: Lane<T>, thrown: unknown): Promise<void> {
    const message = lane.message;
    if (message === undefined) return;
    try {
      await this.#retry(message, lane.receivedAt, thrown, lane.result);
    } catch (error) {
      this.logger.error({ messageId: message.id, err: error }, 'settling failed');
    }
    if (this.#next(lane)) this.#drive(lane);
  }

  async #retry(
    message: Message,
    receivedAt: number,
    thrown: unknown,
    transformed: TransformResult<T> | undefined,
  ): Promise<void> {
    const settler = this.settler;
    const signal = this.signal;
    let result = transformed;
    let error: TributaryError;
    try {
      // Re-runs only the step that failed: the transform until it succeeds, then the processor.
      await retryAfter(
        toTributaryError(thrown),
        async () => {
          if (result === undefined) {
            const pending = this.options.transformer(message, signal);
            result = isPromise(pending) ? await pending : pending;
          }
          if (result.kind === 'skip') {
            settler.skip(message, result.reason, receivedAt);
          } else {
            await this.#process({ message, payload: result.value }, signal);
            settler.ack(message, receivedAt);
          }
        },
        this.options.retry,
        {
          signal,
          onRetry: (attempt, failure) => {
            settler.retried(message, attempt, failure);
          },
          abandon: () => message.outcome !== undefined,
        },
      );
      return;
    } catch (failure) {
      error = toTributaryError(failure);
    }
    if (message.outcome !== undefined) return; // settled at the deadline
    const publishing = settler.fail(message, error, receivedAt, signal.aborted);
    if (publishing !== undefined) await publishing;
  }
}
