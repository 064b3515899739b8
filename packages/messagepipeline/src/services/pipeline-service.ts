import { TributaryError } from '../errors.js';
import { within } from '../kernel/deadline.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import { Lifecycle } from '../kernel/lifecycle.js';
import type { ComponentHealth, HealthReporter, Service, StopOptions } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import type { Message } from '../message.js';
import { reportsHeldWork, type MessageConsumer, type PollingConsumer } from '../ports.js';
import type { ResolvedPipelineOptions } from './options.js';
import { Settler } from './settler.js';

const noop = (): void => undefined;

/** True when `consumer` offers the optional {@link PollingConsumer} capability. */
function isPollingConsumer(consumer: MessageConsumer): consumer is PollingConsumer {
  return typeof (consumer as Partial<PollingConsumer>).poll === 'function';
}

/**
 * The lifecycle both services share: start the consumer and run the intake loop, count what is
 * in flight, stop pulling on `stop()`, drain within the deadline, then abort and nack what is
 * left. Subclasses decide what happens to each message ({@link PipelineService.accept}).
 */
export abstract class PipelineService<T> implements Service, HealthReporter {
  protected readonly options: ResolvedPipelineOptions<T>;
  protected readonly settler: Settler;
  protected readonly logger: Logger;
  /** Handed to transformers and processors; aborts when the stop deadline passes. */
  protected readonly signal: AbortSignal;
  /** Messages taken from the consumer and not yet released. */
  protected inFlightCount = 0;
  /** Sum of `message.size` over the messages in flight. */
  protected inFlightBytes = 0;

  readonly #controller = new AbortController();
  readonly #observed: boolean;
  readonly #lifecycle: Lifecycle;
  /** The intake loop will take no more messages (ended, or stopped while waiting in `next()`). */
  #intakeEnded = false;
  /** The intake loop is waiting in the consumer's `next()`, holding no message. */
  #parked = false;
  #drain: Deferred<void> | undefined;
  #releasedCount = 0;
  #seenReleased = 0;
  #lastProgressAt = 0;

  protected constructor(options: ResolvedPipelineOptions<T>) {
    this.options = options;
    this.logger = options.logger;
    this.settler = new Settler(options);
    this.signal = this.#controller.signal;
    this.#observed = options.observer !== undefined;
    this.#lifecycle = new Lifecycle(`service '${options.stage}'`, {
      start: () => this.#start(),
      stop: (timeoutMs) => this.#stop(timeoutMs),
    });
  }

  /** Settles when the service has stopped; rejects with the error that killed it, if any. */
  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  /** Starts the consumer and the intake loop. Rejects (and `done` rejects) if the consumer fails. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /**
   * Stops pulling, lets in-flight work finish (subclasses flush open batches), and when
   * `timeoutMs` passes, aborts the signal and nacks whatever is unsettled. Resolves once every
   * message taken from the consumer is settled. Idempotent: later calls return the first promise.
   */
  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  /** Ready while running and settling messages (or idle with nothing in flight). */
  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => this.#runningHealth());
  }

  /**
   * Not ready when the destination holds messages back, when the consumer's oldest unsettled
   * message is older than `progressTimeoutMs` or its intake has been paused that long (consumers
   * with {@link HeldWorkReporter}), or otherwise when messages are in flight and none was
   * released for that long. A nack is not progress: the message is still held.
   */
  #runningHealth(): ComponentHealth {
    const limitMs = this.options.progressTimeoutMs;
    const detail = `${this.inFlightCount} messages (${this.inFlightBytes} bytes) in flight`;
    const problems: string[] = [];
    const destination = this.settler.destinationProblem;
    if (destination !== undefined) {
      problems.push(`destination unavailable (${destination.code}): ${destination.message}`);
    }
    const stall = this.#stall(limitMs);
    if (stall !== undefined) problems.push(stall);
    if (problems.length > 0) return { ready: false, detail: `${problems.join('; ')}; ${detail}` };
    return { ready: true, detail };
  }

  /** Why the service counts as stalled, or `undefined`. */
  #stall(limitMs: number): string | undefined {
    const consumer = this.options.consumer;
    if (reportsHeldWork(consumer)) {
      const ageMs = consumer.oldestUnsettledAgeMs();
      if (ageMs > limitMs) {
        return `stalled: the oldest unsettled message is ${Math.round(ageMs)} ms old (limit ${limitMs} ms)`;
      }
      const pausedMs = consumer.pausedForMs();
      if (pausedMs > limitMs) {
        return `stalled: intake paused at its in-flight limit for ${Math.round(pausedMs)} ms (limit ${limitMs} ms)`;
      }
      return undefined;
    }
    const now = performance.now();
    if (this.#releasedCount !== this.#seenReleased || this.inFlightCount === 0) {
      this.#seenReleased = this.#releasedCount;
      this.#lastProgressAt = now;
      return undefined;
    }
    const stalledMs = now - this.#lastProgressAt;
    return stalledMs > limitMs ? `no progress for ${Math.round(stalledMs)} ms` : undefined;
  }

  /** True once the stop deadline passed (the signal aborted). */
  protected get aborted(): boolean {
    return this.signal.aborted;
  }

  /** True once `stop()` was called (or the service died): intake must end. */
  protected get stopping(): boolean {
    return this.#lifecycle.stopRequested;
  }

  /**
   * Takes one message from the intake loop, already counted in flight. Returns a promise when
   * intake must wait (backpressure) before pulling the next message.
   */
  protected abstract accept(message: Message, receivedAt: number): Promise<void> | undefined;

  /** Intake ended for good; the batching service flushes its open batch here. */
  protected abstract onIntakeEnded(): void;

  /** `stop()` was called: wake whatever intake waits on so it can end. */
  protected abstract onStopping(): void;

  /** The deadline passed: nack every message still unsettled; returns how many. */
  protected abstract forceSettle(): number;

  /** Hook for work that runs beside the intake loop (the batching flush trigger). */
  protected onStarted(): void {
    // nothing by default
  }

  /** Counts a message out of flight; call exactly once per accepted message. */
  protected release(message: Message): void {
    this.inFlightCount--;
    this.inFlightBytes -= message.size;
    this.#releasedCount++;
    if (this.#observed) this.settler.inFlight(this.inFlightCount, this.inFlightBytes);
    if (this.inFlightCount === 0 && this.#intakeEnded) this.#drain?.resolve();
  }

  /** Ends the service with a fatal error: it stops (draining as usual) and `done` rejects. */
  protected die(error: unknown): void {
    if (this.#lifecycle.failure === undefined) {
      this.logger.error({ err: error }, 'fatal error: stopping');
    }
    void this.#lifecycle.fail(error);
  }

  async #start(): Promise<void> {
    await this.options.consumer.start();
    this.#lastProgressAt = performance.now();
    this.onStarted();
    this.#intake().then(
      () => {
        this.#endIntake();
        // The consumer ended by itself: stop (drain, flush) as if asked to.
        this.stop().catch(noop);
      },
      (error: unknown) => {
        this.#endIntake();
        // A consumer may reject a pending next() when it is stopped: only fatal while running.
        if (!this.stopping) this.die(error);
        else this.logger.debug({ err: error }, 'consumer iterator ended with an error');
      },
    );
  }

  /**
   * Pulls messages one at a time and hands each to {@link PipelineService.accept}. A consumer with
   * the optional {@link PollingConsumer} capability hands over what it already holds without a
   * promise per message; its iterator (which waits) is pulled only when `poll()` has nothing.
   * Either way, exactly one message is taken per turn, after the previous one was accepted, so
   * flow control is the same as with `for await`. Like `for await`, leaving early (stop, or an
   * exception) closes the iterator; a finished or failed iterator is not closed again.
   */
  async #intake(): Promise<void> {
    const settler = this.settler;
    const observed = this.#observed;
    const consumer = this.options.consumer;
    const polling = isPollingConsumer(consumer) ? consumer : undefined;
    const iterator = consumer[Symbol.asyncIterator]();
    let open = true;
    try {
      for (;;) {
        let message = polling?.poll();
        if (message === undefined) {
          this.#parked = true;
          let result: IteratorResult<Message>;
          try {
            result = await iterator.next();
          } catch (error) {
            open = false;
            throw error;
          }
          this.#parked = false;
          if (result.done === true) {
            open = false;
            return;
          }
          message = result.value;
        }
        let receivedAt = 0;
        if (observed) {
          receivedAt = performance.now();
          settler.received(message);
        }
        if (this.#intakeEnded) {
          // Delivered after stop() while we were no longer pulling: hand it straight back.
          settler.nack(message, receivedAt, undefined);
          return;
        }
        this.inFlightCount++;
        this.inFlightBytes += message.size;
        if (observed) settler.inFlight(this.inFlightCount, this.inFlightBytes);
        const wait = this.accept(message, receivedAt);
        if (wait !== undefined) await wait;
        if (this.stopping) return;
      }
    } catch (error) {
      if (open) {
        open = false;
        try {
          await iterator.return?.();
        } catch {
          // As with `for await`, the error that ended the loop wins over one from closing.
        }
      }
      throw error;
    } finally {
      if (open) await iterator.return?.();
    }
  }

  #endIntake(): void {
    this.#parked = false;
    if (this.#intakeEnded) return;
    this.#intakeEnded = true;
    this.onIntakeEnded();
    if (this.inFlightCount === 0) this.#drain?.resolve();
  }

  async #stop(timeoutMs: number): Promise<void> {
    const consumerStopped = this.#stopConsumer(timeoutMs);
    const drain: Deferred<void> = deferred();
    this.#drain = drain;
    this.onStopping();
    // Waiting in next() holds no message: from here on we pull nothing more.
    if (this.#parked) this.#endIntake();
    if (this.#intakeEnded && this.inFlightCount === 0) drain.resolve();

    const drained = (await within(drain.promise, timeoutMs)).kind === 'ok';
    if (drained) {
      await consumerStopped;
    } else {
      this.#controller.abort(
        new TributaryError('TIMEOUT', `stop deadline of ${timeoutMs} ms passed`, {
          retriable: true,
        }),
      );
      const nacked = this.forceSettle();
      this.logger.warn({ timeoutMs, nacked }, 'stop deadline passed: nacked unsettled messages');
    }
  }

  async #stopConsumer(timeoutMs: number): Promise<void> {
    try {
      await this.options.consumer.stop({ timeoutMs });
    } catch (error) {
      this.logger.warn({ err: error }, 'consumer stop failed');
    }
  }
}
