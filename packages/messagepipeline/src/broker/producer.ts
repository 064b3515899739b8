import { TributaryError } from '../errors.js';
import { deferred } from '../kernel/deferred.js';
import type { Deferred } from '../kernel/deferred.js';
import type { StopOptions } from '../lifecycle.js';
import type { MessageProducer, OutgoingMessage, PublishOptions } from '../ports.js';
import type { PublishOwner, Topic } from './topic.js';

/**
 * Publishes to one in-memory topic. A publish resolves with the message id as soon as the
 * message is in every subscription's backlog (that is the broker's confirmation); while a
 * backlog is full it waits (see `overflow`).
 */
export class InMemoryProducer implements MessageProducer, PublishOwner {
  readonly name: string;
  readonly #topic: Topic;
  readonly #stopTimeoutMs: number;
  readonly #done = deferred<undefined>();
  #blocked = 0;
  #flushed: Deferred<undefined> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(topic: Topic, name: string, stopTimeoutMs: number) {
    this.#topic = topic;
    this.name = name;
    this.#stopTimeoutMs = stopTimeoutMs;
  }

  get done(): Promise<void> {
    return this.#done.promise;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  publish(message: OutgoingMessage, options?: PublishOptions): Promise<string> {
    if (this.#stopping !== undefined) {
      return Promise.reject(
        TributaryError.transient('CLOSED', `producer '${this.name}' is stopped`),
      );
    }
    return this.#topic.publish(message, options?.signal, this);
  }

  flush(): Promise<void> {
    if (this.#blocked === 0) return Promise.resolve();
    return (this.#flushed ??= deferred<undefined>()).promise;
  }

  /**
   * Refuses new publishes, waits up to `timeoutMs` for blocked ones to be admitted, then rejects
   * what is still blocked with a retriable `CLOSED` error (those messages were not published).
   */
  stop(options?: StopOptions): Promise<void> {
    return (this.#stopping ??= this.#stop(options?.timeoutMs ?? this.#stopTimeoutMs));
  }

  /** @internal */
  onBlocked(): void {
    this.#blocked++;
  }

  /** @internal */
  onUnblocked(): void {
    if (--this.#blocked > 0) return;
    const flushed = this.#flushed;
    this.#flushed = undefined;
    flushed?.resolve(undefined);
  }

  /** Rejects blocked publishes now; the broker's `close()` uses it. */
  abort(error: TributaryError): Promise<void> {
    this.#topic.cancelBlocked(this, error);
    return this.stop({ timeoutMs: 0 });
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#blocked > 0 && timeoutMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      await Promise.race([this.flush(), timeout]);
      clearTimeout(timer);
    }
    if (this.#blocked > 0) {
      this.#topic.cancelBlocked(
        this,
        TributaryError.transient('CLOSED', `producer '${this.name}' stopped before room was free`),
      );
    }
    this.#done.resolve(undefined);
  }
}
