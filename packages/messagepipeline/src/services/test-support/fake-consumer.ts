import { deferred, type Deferred } from '../../kernel/deferred.js';
import type { StopOptions } from '../../lifecycle.js';
import { createMessage, type Message, type Outcome } from '../../message.js';
import type { MessageConsumer } from '../../ports.js';

/** Options for {@link FakeConsumer}. */
export interface FakeConsumerOptions {
  /** End the iterator when `stop()` is called, as the port requires. @defaultValue true */
  readonly endOnStop?: boolean | undefined;
  /** Makes `start()` reject with this. */
  readonly startError?: Error | undefined;
}

/**
 * An in-test {@link MessageConsumer}: the test pushes messages, and the consumer hands them out
 * only when its iterator is pulled, counting every pull, so tests can see where intake stopped.
 */
export class FakeConsumer implements MessageConsumer {
  readonly name = 'fake';
  readonly done: Promise<void>;
  /** Messages handed to the iterator's caller so far. */
  pulled = 0;
  startCalls = 0;
  stopCalls = 0;
  lastStopOptions: StopOptions | undefined;
  /** True while a `next()` call waits for a message. */
  waiting = false;
  readonly #buffer: Message[] = [];
  readonly #done = deferred<undefined>();
  readonly #endOnStop: boolean;
  readonly #startError: Error | undefined;
  #waiter: Deferred<IteratorResult<Message>> | undefined;
  #ended = false;
  #error: Error | undefined;

  constructor(options: FakeConsumerOptions = {}) {
    this.#endOnStop = options.endOnStop ?? true;
    this.#startError = options.startError;
    this.done = this.#done.promise;
  }

  /** Messages pushed but not pulled yet. */
  get buffered(): number {
    return this.#buffer.length;
  }

  push(...messages: Message[]): void {
    for (const message of messages) {
      const waiter = this.#waiter;
      if (waiter === undefined) {
        this.#buffer.push(message);
      } else {
        this.#waiter = undefined;
        this.waiting = false;
        this.pulled++;
        waiter.resolve({ done: false, value: message });
      }
    }
  }

  /** Ends the iterator once the buffer is empty. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Makes the iterator throw once the buffer is empty (a fatal consumer error). */
  fail(error: Error): void {
    this.#error = error;
    this.#wake();
  }

  start(): Promise<void> {
    this.startCalls++;
    return this.#startError === undefined ? Promise.resolve() : Promise.reject(this.#startError);
  }

  /** Records the call and its options; ends the iterator unless `endOnStop` is false. */
  stop(options?: StopOptions): Promise<void> {
    this.stopCalls++;
    this.lastStopOptions = options;
    if (this.#endOnStop) {
      this.#ended = true;
      // A real consumer hands back what it still holds.
      for (const message of this.#buffer.splice(0)) message.nack();
      this.#wake();
    }
    this.#done.resolve(undefined);
    return Promise.resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => {
        const message = this.#buffer.shift();
        if (message !== undefined) {
          this.pulled++;
          return Promise.resolve({ done: false, value: message });
        }
        if (this.#error !== undefined) return Promise.reject(this.#error);
        if (this.#ended) return Promise.resolve({ done: true, value: undefined });
        this.#waiter = deferred();
        this.waiting = true;
        return this.#waiter.promise;
      },
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    this.waiting = false;
    if (this.#error !== undefined) waiter.reject(this.#error);
    else waiter.resolve({ done: true, value: undefined });
  }
}

/** A message whose settlements are counted, so tests can check "exactly once". */
export interface TrackedMessage extends Message {
  readonly acks: number;
  readonly nacks: number;
}

const encoder = new TextEncoder();

/** Creates a message with JSON data (or exactly `bytes` bytes) that counts its ack/nack hooks. */
export function trackedMessage(
  id: string,
  options: {
    readonly data?: unknown;
    readonly bytes?: number;
    readonly deliveryAttempt?: number;
  } = {},
): TrackedMessage {
  const counts = { acks: 0, nacks: 0 };
  const data =
    options.bytes === undefined
      ? encoder.encode(JSON.stringify(options.data ?? { id }))
      : new Uint8Array(options.bytes);
  const message = createMessage({
    id,
    data,
    deliveryAttempt: options.deliveryAttempt,
    onAck: () => {
      counts.acks++;
    },
    onNack: () => {
      counts.nacks++;
    },
  });
  Object.defineProperties(message, {
    acks: { get: () => counts.acks },
    nacks: { get: () => counts.nacks },
  });
  return message as TrackedMessage;
}

/** Lets every pending promise callback run (one macrotask turn; not a timer). */
export function turn(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(resolve);
  });
}

/** Waits, turn by turn, until `condition` holds; fails after `maxTurns`. */
export async function until(condition: () => boolean, maxTurns = 1_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (condition()) return;
    await turn();
  }
  throw new Error('condition not reached');
}

/** Every settlement so far, by message id, for "settled exactly once" checks. */
export function outcomes(messages: readonly Message[]): Record<string, Outcome | undefined> {
  return Object.fromEntries(messages.map((message) => [message.id, message.outcome]));
}
