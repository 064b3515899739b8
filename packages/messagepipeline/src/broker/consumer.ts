import { setImmediate } from 'node:timers';
import type { Message } from '../message.js';
import type { FlowControlledConsumer, InFlightWindow, PollingConsumer } from '../ports.js';
import type { DeliveryOwner, Entry } from './entry.js';
import type { Subscription, Waiter } from './subscription.js';
import { Lifecycle } from '../kernel/lifecycle.js';
import { TributaryError } from '../errors.js';
import type { ComponentHealth, HealthReporter, StopOptions } from '../lifecycle.js';

const DONE: IteratorResult<Message> = Object.freeze({ done: true, value: undefined });

/**
 * After this many messages handed out without ever waiting, the next one is handed out from a
 * macrotask, so a consumer that never has to wait cannot starve timers and I/O (the deadline
 * sweep, health checks, signal handlers) by running on microtasks alone.
 */
const YIELD_EVERY_MESSAGES = 1024;

/** What bounds an {@link InMemoryConsumer}. */
export interface InMemoryConsumerLimits {
  readonly maxPrefetchMessages: number;
  /** `Infinity` when unbounded. */
  readonly maxInFlightMessages: number;
  /** `Infinity` when unbounded. */
  readonly maxInFlightBytes: number;
}

/**
 * A competing consumer of one in-memory subscription, and its own async iterator. It takes from
 * the backlog only when its iterator is pulled (at most `maxPrefetchMessages` ahead), and, when
 * bounded, yields no more while its in-flight window is full (as the Pub/Sub client's flow control
 * does); `stop()` ends the iteration and puts prefetched, never-yielded messages back at the front
 * of the backlog. Messages already yielded stay outstanding until acked, nacked or expired.
 */
export class InMemoryConsumer
  implements
    PollingConsumer,
    FlowControlledConsumer,
    HealthReporter,
    AsyncIterator<Message>,
    Waiter,
    DeliveryOwner
{
  readonly name: string;
  readonly #subscription: Subscription;
  readonly #maxPrefetch: number;
  readonly #maxInFlight: number;
  readonly #maxInFlightBytes: number;
  /** Told of this consumer's deliveries ending; only when bounded. */
  readonly #owner: DeliveryOwner | undefined;
  readonly inFlightWindow: InFlightWindow | undefined;
  #inFlight = 0;
  #inFlightBytes = 0;
  /** The window is full: nothing is yielded until a delivery ends. */
  #blocked = false;
  /** Prefetched entries, `#index` up to `#end`; allocated once, at full size. */
  readonly #buffer: (Entry | undefined)[];
  readonly #lifecycle: Lifecycle;
  #index = 0;
  #end = 0;
  #waiting: ((result: IteratorResult<Message>) => void)[] = [];
  #registered = false;
  #iterating = false;
  /** Set by the stop hook; read on every `next()`, so a field rather than a getter chain. */
  #stopped = false;
  #sinceWait = 0;

  constructor(subscription: Subscription, name: string, limits: InMemoryConsumerLimits) {
    this.#subscription = subscription;
    this.name = name;
    this.#maxPrefetch = limits.maxPrefetchMessages;
    this.#maxInFlight = limits.maxInFlightMessages;
    this.#maxInFlightBytes = limits.maxInFlightBytes;
    const bounded = this.#maxInFlight !== Infinity || this.#maxInFlightBytes !== Infinity;
    this.#owner = bounded ? this : undefined;
    this.inFlightWindow = bounded
      ? { messages: this.#maxInFlight, bytes: this.#maxInFlightBytes }
      : undefined;
    this.#buffer = new Array<Entry | undefined>(this.#maxPrefetch).fill(undefined);
    this.#lifecycle = new Lifecycle(`consumer '${name}'`, {
      stop: () => {
        this.#returnPrefetched();
      },
      stopUnstarted: true,
    });
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  /** Nothing to connect; iteration may begin before or after it. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#iterating) {
      throw new TributaryError(
        'INVALID_ARGUMENT',
        `consumer '${this.name}' is already being iterated`,
      );
    }
    this.#iterating = true;
    return this;
  }

  /** Ready from start to stop; reports what it holds prefetched. */
  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => ({
      ready: true,
      detail:
        `${this.#end - this.#index} prefetched` +
        (this.#owner === undefined ? '' : `, ${this.#inFlight} in flight`),
    }));
  }

  next(): Promise<IteratorResult<Message>> {
    if (this.#stopped) return Promise.resolve(DONE);
    if (this.#waiting.length === 0) {
      const entry = this.#take();
      if (entry !== undefined) {
        const result: IteratorResult<Message> = { done: false, value: this.#deliver(entry) };
        if (++this.#sinceWait < YIELD_EVERY_MESSAGES) return Promise.resolve(result);
        this.#sinceWait = 0;
        return new Promise((resolve) => {
          setImmediate(resolve, result);
        });
      }
    }
    this.#sinceWait = 0;
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#register();
    });
  }

  /**
   * The message `next()` would yield at once, without a promise; `undefined` when `next()` would
   * have to wait or hand the message out from a macrotask (every {@link YIELD_EVERY_MESSAGES}).
   */
  poll(): Message | undefined {
    if (this.#stopped || this.#waiting.length > 0) return undefined;
    if (this.#sinceWait + 1 >= YIELD_EVERY_MESSAGES) return undefined;
    const entry = this.#take();
    if (entry === undefined) return undefined;
    this.#sinceWait++;
    return this.#deliver(entry);
  }

  /** Ending a `for await` loop early stops the consumer. */
  async return(): Promise<IteratorResult<Message>> {
    await this.stop();
    return DONE;
  }

  /** @internal Called by the subscription when messages are waiting. */
  wake(): void {
    this.#registered = false;
    this.#serve();
  }

  /** @internal Called by the subscription when one of this consumer's deliveries ends. */
  unsettled(entry: Entry): void {
    this.#inFlight--;
    this.#inFlightBytes -= entry.size;
    if (this.#blocked && this.#inFlight < this.#maxInFlight) {
      this.#blocked = false;
      // Not from inside the subscription's ack, nack or sweep: after it.
      queueMicrotask(this.#serve);
    }
  }

  /** Hands waiting `next()` calls what there is, then waits for the backlog or the window. */
  readonly #serve = (): void => {
    if (this.#stopped) return;
    const waiting = this.#waiting;
    while (waiting.length > 0) {
      const entry = this.#take();
      if (entry === undefined) break;
      waiting.shift()?.({ done: false, value: this.#deliver(entry) });
    }
    if (waiting.length > 0) this.#register();
  };

  /** Waits for the backlog, unless the window is full (then a delivery's end wakes it). */
  #register(): void {
    if (this.#blocked || this.#registered) return;
    this.#registered = true;
    this.#subscription.addWaiter(this);
  }

  #deliver(entry: Entry): Message {
    const owner = this.#owner;
    if (owner !== undefined) {
      this.#inFlight++;
      this.#inFlightBytes += entry.size;
    }
    return this.#subscription.deliver(entry, owner);
  }

  /** Idempotent. Ends the iteration and returns prefetched messages to the backlog. */
  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  #returnPrefetched(): void {
    this.#stopped = true;
    const prefetched: Entry[] = [];
    for (let i = this.#index; i < this.#end; i++) {
      const entry = this.#buffer[i];
      if (entry !== undefined) prefetched.push(entry);
      this.#buffer[i] = undefined;
    }
    this.#index = this.#end = 0;
    if (prefetched.length > 0) this.#subscription.returnLeased(prefetched);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve(DONE);
  }

  /** The next prefetched entry, taking more from the backlog; `undefined` if none or blocked. */
  #take(): Entry | undefined {
    if (this.#blocked) return undefined;
    const buffer = this.#buffer;
    if (this.#index === this.#end) {
      this.#index = 0;
      this.#end = this.#subscription.take(this.#maxPrefetch, buffer);
      if (this.#end === 0) return undefined;
    }
    const entry = buffer[this.#index];
    if (
      entry !== undefined &&
      this.#inFlight > 0 &&
      (this.#inFlight >= this.#maxInFlight ||
        this.#inFlightBytes + entry.size > this.#maxInFlightBytes)
    ) {
      this.#blocked = true;
      return undefined;
    }
    buffer[this.#index++] = undefined;
    return entry;
  }
}
