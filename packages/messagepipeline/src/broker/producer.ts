import { TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import { Lifecycle } from '../kernel/lifecycle.js';
import type { ComponentHealth, HealthReporter, StopOptions } from '../lifecycle.js';
import type { MessageProducer, OutgoingMessage, PublishOptions } from '../ports.js';
import type { PublishOwner, Topic } from './topic.js';

/**
 * Publishes to one in-memory topic. A publish resolves with the message id as soon as the
 * message is in every subscription's backlog (that is the broker's confirmation); while a
 * backlog is full it waits (see `overflow`).
 */
export class InMemoryProducer implements MessageProducer, HealthReporter, PublishOwner {
  readonly name: string;
  readonly #topic: Topic;
  readonly #lifecycle: Lifecycle;
  #blocked = 0;
  #flushed: Deferred<undefined> | undefined;

  constructor(topic: Topic, name: string) {
    this.#topic = topic;
    this.name = name;
    this.#lifecycle = new Lifecycle(`producer '${name}'`, {
      stop: () => {
        this.#stop();
      },
      stopUnstarted: true,
    });
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  /** Nothing to connect; publishing works before it too. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  publish(message: OutgoingMessage, options?: PublishOptions): Promise<string> {
    if (this.#lifecycle.stopRequested) {
      return Promise.reject(
        TributaryError.transient('CLOSED', `producer '${this.name}' is stopped`),
      );
    }
    return this.#topic.publish(message, options?.signal, this);
  }

  /** Ready from start to stop; reports publishes waiting for room. */
  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => ({
      ready: true,
      detail: `${this.#blocked} waiting`,
    }));
  }

  /** Publishes waiting for room in a full subscription. */
  get waiting(): number {
    return this.#blocked;
  }

  flush(): Promise<void> {
    if (this.#blocked === 0) return Promise.resolve();
    return (this.#flushed ??= deferred<undefined>()).promise;
  }

  /**
   * Refuses new publishes and rejects those still waiting for room with a retriable `CLOSED`
   * error (they were never published). What was admitted is already confirmed.
   */
  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
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

  /** Admitted publishes are confirmed already; those still waiting for room were never accepted. */
  #stop(): void {
    if (this.#blocked > 0) {
      this.#topic.cancelBlocked(
        this,
        TributaryError.transient('CLOSED', `producer '${this.name}' stopped before room was free`),
      );
    }
  }
}
