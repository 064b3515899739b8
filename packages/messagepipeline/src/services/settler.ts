import type { DeadLetterSink } from '../dead-letter.js';
import { TributaryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Message } from '../message.js';
import type { FlushReason, PipelineEvent, PipelineObserver } from '../observer.js';
import type { ResolvedPipelineOptions } from './options.js';

/**
 * Applies the contract's outcomes to messages and reports them: ack, skip (ack), nack, and the
 * final decision for a failure (dead-letter then ack, or nack). Every message ends with exactly
 * one `acked` or `nacked` event; `skipped` and `dead-lettered` precede the `acked` they cause.
 * Events are built only when an observer is set.
 */
export class Settler {
  readonly #stage: string;
  readonly #observer: PipelineObserver | undefined;
  readonly #logger: Logger;
  readonly #deadLetter: DeadLetterSink | undefined;
  readonly #maxDeliveryAttempts: number;
  #observerFailed = false;
  /** The destination problem holding messages back, until a message is acked again. */
  #destinationProblem: TributaryError | undefined;

  constructor(options: ResolvedPipelineOptions<unknown>) {
    this.#stage = options.stage;
    this.#observer = options.observer;
    this.#logger = options.logger;
    this.#deadLetter = options.deadLetter;
    this.#maxDeliveryAttempts = options.maxDeliveryAttempts;
  }

  received(message: Message): void {
    if (this.#observer !== undefined) {
      this.#emit({ type: 'received', stage: this.#stage, message });
    }
  }

  inFlight(count: number, bytes: number): void {
    if (this.#observer !== undefined) {
      this.#emit({ type: 'in-flight', stage: this.#stage, count, bytes });
    }
  }

  retried(message: Message, attempt: number, error: TributaryError): void {
    if (this.#observer !== undefined) {
      this.#emit({ type: 'retried', stage: this.#stage, message, attempt, error });
    }
  }

  batchFlushed(items: number, bytes: number, reason: FlushReason, durationMs: number): void {
    if (this.#observer !== undefined) {
      this.#emit({ type: 'batch-flushed', stage: this.#stage, items, bytes, reason, durationMs });
    }
  }

  /**
   * Why the destination holds messages back (`TributaryError.destination`), from the first such
   * failure until a message is acked again; `undefined` while the destination answers.
   */
  get destinationProblem(): TributaryError | undefined {
    return this.#destinationProblem;
  }

  ack(message: Message, receivedAt: number): void {
    if (this.#destinationProblem !== undefined) this.#destinationRecovered();
    if (this.#observer === undefined) {
      message.ack();
    } else if (message.outcome === undefined) {
      message.ack();
      this.#emit({
        type: 'acked',
        stage: this.#stage,
        message,
        latencyMs: this.#since(receivedAt),
      });
    }
  }

  nack(message: Message, receivedAt: number, error: TributaryError | undefined): void {
    if (this.#observer === undefined) {
      message.nack();
    } else if (message.outcome === undefined) {
      message.nack();
      this.#emit({
        type: 'nacked',
        stage: this.#stage,
        message,
        latencyMs: this.#since(receivedAt),
        error,
      });
    }
  }

  skip(message: Message, reason: string, receivedAt: number): void {
    if (this.#observer !== undefined && message.outcome === undefined) {
      this.#emit({ type: 'skipped', stage: this.#stage, message, reason });
    }
    this.ack(message, receivedAt);
  }

  /**
   * Settles a message whose failure is final (permanent, or transient with the in-process budget
   * spent): permanent, or transient on a delivery at or past `maxDeliveryAttempts`, goes to the
   * dead-letter sink and is acked once that is durable; everything else is nacked. When the
   * dead-letter publish fails, or there is no sink, the message is nacked and the failure logged.
   * Returns a promise only when a dead-letter publish is under way.
   * @param aborted - the stop deadline passed: nack without publishing anything.
   */
  fail(
    message: Message,
    error: TributaryError,
    receivedAt: number,
    aborted: boolean,
  ): Promise<void> | undefined {
    if (aborted) {
      this.nack(message, receivedAt, error);
      return undefined;
    }
    if (error.destination) {
      // The service is misconfigured, the message is not at fault: hold it, never dead-letter.
      this.#hold(message, error);
      this.nack(message, receivedAt, error);
      return undefined;
    }
    let reason = error;
    if (error.retriable) {
      if (message.deliveryAttempt < this.#maxDeliveryAttempts) {
        this.nack(message, receivedAt, error);
        return undefined;
      }
      reason = new TributaryError(
        'ATTEMPTS_EXHAUSTED',
        `gave up after ${message.deliveryAttempt} deliveries: ${error.message}`,
        { cause: error },
      );
    }
    const sink = this.#deadLetter;
    if (sink === undefined) {
      this.#logger.warn(
        this.#fields(message, reason),
        'no dead-letter sink: nacking a message that failed for good',
      );
      this.nack(message, receivedAt, reason);
      return undefined;
    }
    return this.#deadLetterThenAck(sink, message, reason, receivedAt);
  }

  async #deadLetterThenAck(
    sink: DeadLetterSink,
    message: Message,
    error: TributaryError,
    receivedAt: number,
  ): Promise<void> {
    try {
      await sink.deadLetter(message, error, this.#stage);
    } catch (thrown) {
      this.#logger.error(
        { ...this.#fields(message, error), err: thrown },
        'dead-letter publish failed: nacking',
      );
      this.nack(message, receivedAt, error);
      return;
    }
    this.#logger.warn(this.#fields(message, error), 'dead-lettered');
    if (this.#observer !== undefined && message.outcome === undefined) {
      this.#emit({ type: 'dead-lettered', stage: this.#stage, message, error });
    }
    this.ack(message, receivedAt);
  }

  #hold(message: Message, error: TributaryError): void {
    const previous = this.#destinationProblem;
    this.#destinationProblem = error;
    if (previous?.code !== error.code || previous.message !== error.message) {
      this.#logger.error(
        { code: error.code, err: error },
        'destination unavailable: holding messages (nacked, never dead-lettered) until it answers',
      );
    }
    if (this.#observer !== undefined && message.outcome === undefined) {
      this.#emit({ type: 'held', stage: this.#stage, message, error });
    }
  }

  #destinationRecovered(): void {
    const problem = this.#destinationProblem;
    this.#destinationProblem = undefined;
    this.#logger.info({ code: problem?.code }, 'destination answers again');
  }

  #fields(message: Message, error: TributaryError): Record<string, unknown> {
    return {
      messageId: message.id,
      deliveryAttempt: message.deliveryAttempt,
      code: error.code,
      err: error,
    };
  }

  #since(receivedAt: number): number {
    return performance.now() - receivedAt;
  }

  #emit(event: PipelineEvent): void {
    try {
      this.#observer?.(event);
    } catch (thrown) {
      if (!this.#observerFailed) {
        this.#observerFailed = true;
        this.#logger.warn({ err: thrown }, 'observer threw; further throws not logged');
      }
    }
  }
}
