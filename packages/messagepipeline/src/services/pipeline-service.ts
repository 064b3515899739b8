import { InvalidArgumentError, TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../internal/deferred.js';
import type { ComponentHealth, HealthReporter, Service, StopOptions } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import type { Message } from '../message.js';
import type { MessageConsumer, PollingConsumer } from '../ports.js';
import { DEFAULT_STOP_TIMEOUT_MS, type ResolvedPipelineOptions } from './options.js';
import { Settler } from './settler.js';

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

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
  /** Settles when the service has stopped; rejects with the error that killed it, if any. */
  readonly done: Promise<void>;
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
  readonly #done: Deferred<void> = deferred();
  #state: State = 'idle';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #fatal: { readonly error: unknown } | undefined;
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
    this.done = this.#done.promise;
    // `done` may reject; mark it handled so a caller that never awaits it does not crash.
    this.done.catch(noop);
  }

  /** Starts the consumer and the intake loop. Rejects (and `done` rejects) if the consumer fails. */
  start(): Promise<void> {
    return (this.#starting ??= this.#start());
  }

  /**
   * Stops pulling, lets in-flight work finish (subclasses flush open batches), and when
   * `timeoutMs` passes, aborts the signal and nacks whatever is unsettled. Resolves once every
   * message taken from the consumer is settled. Idempotent: later calls return the first promise.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(InvalidArgumentError.for('timeoutMs', 'must be a finite number >= 0'));
    }
    this.#stopping = this.#stop(timeoutMs);
    return this.#stopping;
  }

  /** Ready while running and settling messages (or idle with nothing in flight). */
  health(): ComponentHealth {
    switch (this.#state) {
      case 'idle':
        return { ready: false, detail: 'not started' };
      case 'starting':
        return { ready: false, detail: 'starting' };
      case 'stopping':
        return { ready: false, detail: 'stopping' };
      case 'stopped':
        return { ready: false, detail: this.#fatal === undefined ? 'stopped' : 'failed' };
      case 'running':
        break;
    }
    const now = performance.now();
    const detail = `${this.inFlightCount} messages (${this.inFlightBytes} bytes) in flight`;
    if (this.#releasedCount !== this.#seenReleased || this.inFlightCount === 0) {
      this.#seenReleased = this.#releasedCount;
      this.#lastProgressAt = now;
      return { ready: true, detail };
    }
    const stalledMs = now - this.#lastProgressAt;
    if (stalledMs > this.options.progressTimeoutMs) {
      return { ready: false, detail: `no progress for ${Math.round(stalledMs)} ms; ${detail}` };
    }
    return { ready: true, detail };
  }

  /** True once the stop deadline passed (the signal aborted). */
  protected get aborted(): boolean {
    return this.signal.aborted;
  }

  /** True once `stop()` was called (or the service died): intake must end. */
  protected get stopping(): boolean {
    return this.#state !== 'running';
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
    if (this.#fatal === undefined) {
      this.#fatal = { error };
      this.logger.error({ error: String(error) }, 'fatal error: stopping');
    }
    this.stop().catch(noop);
  }

  async #start(): Promise<void> {
    if (this.#state !== 'idle') {
      throw new TributaryError('CLOSED', 'the service was stopped before it started');
    }
    this.#state = 'starting';
    try {
      await this.options.consumer.start();
    } catch (error) {
      this.#fatal = { error };
      this.#state = 'stopped';
      this.#done.reject(error);
      throw error;
    }
    this.#state = 'running';
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
        if (this.#state === 'running') this.die(error);
        else this.logger.debug({ error: String(error) }, 'consumer iterator ended with an error');
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
        if (this.#state !== 'running') return;
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
    if (this.#state === 'starting') await this.#starting?.catch(noop);
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      this.#done.resolve();
      return;
    }
    if (this.#state === 'stopped') return; // start failed; `done` already rejected
    this.#state = 'stopping';
    const consumerStopped = this.#stopConsumer(timeoutMs);
    const drain: Deferred<void> = deferred();
    this.#drain = drain;
    this.onStopping();
    // Waiting in next() holds no message: from here on we pull nothing more.
    if (this.#parked) this.#endIntake();
    if (this.#intakeEnded && this.inFlightCount === 0) drain.resolve();

    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, timeoutMs);
    });
    const drained = await Promise.race([drain.promise.then(() => true), deadline]);
    clearTimeout(timer);
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
    this.#state = 'stopped';
    if (this.#fatal === undefined) this.#done.resolve();
    else this.#done.reject(this.#fatal.error);
  }

  async #stopConsumer(timeoutMs: number): Promise<void> {
    try {
      await this.options.consumer.stop({ timeoutMs });
    } catch (error) {
      this.logger.warn({ error: String(error) }, 'consumer stop failed');
    }
  }
}
