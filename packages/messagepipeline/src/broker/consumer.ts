import { setImmediate } from 'node:timers';
import type { Message } from '../message.js';
import type { PollingConsumer } from '../ports.js';
import type { Entry } from './entry.js';
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

/**
 * A competing consumer of one in-memory subscription, and its own async iterator. It takes from
 * the backlog only when its iterator is pulled (at most `maxPrefetchMessages` ahead); `stop()`
 * ends the iteration and puts prefetched, never-yielded messages back at the front of the
 * backlog. Messages already yielded stay outstanding until acked, nacked or expired.
 */
export class InMemoryConsumer
  implements PollingConsumer, HealthReporter, AsyncIterator<Message>, Waiter
{
  readonly name: string;
  readonly #subscription: Subscription;
  readonly #maxPrefetch: number;
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

  constructor(subscription: Subscription, name: string, maxPrefetchMessages: number) {
    this.#subscription = subscription;
    this.name = name;
    this.#maxPrefetch = maxPrefetchMessages;
    this.#buffer = new Array<Entry | undefined>(maxPrefetchMessages).fill(undefined);
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
      detail: `${this.#end - this.#index} prefetched`,
    }));
  }

  next(): Promise<IteratorResult<Message>> {
    if (this.#stopped) return Promise.resolve(DONE);
    if (this.#waiting.length === 0) {
      const entry = this.#take();
      if (entry !== undefined) {
        const result: IteratorResult<Message> = {
          done: false,
          value: this.#subscription.deliver(entry),
        };
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
      if (!this.#registered) {
        this.#registered = true;
        this.#subscription.addWaiter(this);
      }
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
    return this.#subscription.deliver(entry);
  }

  /** Ending a `for await` loop early stops the consumer. */
  async return(): Promise<IteratorResult<Message>> {
    await this.stop();
    return DONE;
  }

  /** @internal Called by the subscription when messages are waiting. */
  wake(): void {
    this.#registered = false;
    if (this.#stopped) return;
    const waiting = this.#waiting;
    while (waiting.length > 0) {
      const entry = this.#take();
      if (entry === undefined) break;
      waiting.shift()?.({ done: false, value: this.#subscription.deliver(entry) });
    }
    if (waiting.length > 0) {
      this.#registered = true;
      this.#subscription.addWaiter(this);
    }
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

  #take(): Entry | undefined {
    const buffer = this.#buffer;
    if (this.#index === this.#end) {
      this.#index = 0;
      this.#end = this.#subscription.take(this.#maxPrefetch, buffer);
      if (this.#end === 0) return undefined;
    }
    const entry = buffer[this.#index];
    buffer[this.#index++] = undefined;
    return entry;
  }
}
