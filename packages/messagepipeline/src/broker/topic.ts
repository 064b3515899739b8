import { InvalidArgumentError, TributaryError } from '../errors.js';
import { attributesSize } from '../message.js';
import type { Attributes } from '../message.js';
import type { OutgoingMessage } from '../ports.js';
import { Deque } from '../kernel/deque.js';
import type { Subscription } from './subscription.js';

/** Who is waiting on a blocked publish; lets a producer implement `flush()`. */
export interface PublishOwner {
  onBlocked(): void;
  onUnblocked(): void;
}

/** A statistics snapshot of one topic. */
export interface TopicStats {
  readonly subscriptions: readonly string[];
  /** Messages admitted since the topic was created. */
  readonly published: number;
  /** Publishes waiting for room in a full subscription. */
  readonly blockedPublishes: number;
}

const EMPTY: Attributes = Object.freeze({});

interface BlockedPublish {
  readonly data: Uint8Array;
  readonly attributes: Attributes;
  readonly orderingKey: string | undefined;
  readonly size: number;
  readonly resolve: (id: string) => void;
  readonly reject: (error: unknown) => void;
  readonly owner: PublishOwner | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  cancelled: boolean;
}

/**
 * A topic: fans each admitted message out to every subscription that exists at that moment. A
 * publish that does not fit into every subscription waits in a FIFO queue (or is rejected, per
 * the full subscription's `overflow`), so one producer's messages are admitted in publish order.
 */
export class Topic {
  readonly name: string;
  readonly #nextId: () => string;
  readonly #subscriptions: Subscription[] = [];
  readonly #blocked = new Deque<BlockedPublish>(16);
  #published = 0;
  /** Messages published within the same millisecond share one `publishTime` Date. */
  #dateMs = Number.NaN;
  #date = new Date(0);
  #closedError: TributaryError | undefined;

  constructor(name: string, nextId: () => string) {
    this.name = name;
    this.#nextId = nextId;
  }

  addSubscription(subscription: Subscription): void {
    this.#subscriptions.push(subscription);
  }

  /** Admits the message (resolving with its id) or queues it until there is room. */
  publish(message: OutgoingMessage, signal?: AbortSignal, owner?: PublishOwner): Promise<string> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    const data = message.data;
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(InvalidArgumentError.for('data', 'must be a Uint8Array'));
    }
    const given = message.attributes;
    let attributes = EMPTY;
    let size = data.byteLength;
    if (given !== undefined && given !== EMPTY) {
      // Snapshot: the caller may reuse its object; a frozen one is already immutable.
      attributes = Object.isFrozen(given) ? given : Object.freeze({ ...given });
      size += attributesSize(attributes);
    }
    const orderingKey = message.orderingKey === '' ? undefined : message.orderingKey;
    if (this.#blocked.length === 0 && this.#fits(size)) {
      return Promise.resolve(this.#admit(data, attributes, orderingKey, size));
    }
    for (const subscription of this.#subscriptions) {
      if (subscription.options.overflow === 'reject' && !subscription.hasRoom(size)) {
        return Promise.reject(
          TributaryError.transient(
            'RATE_LIMITED',
            `subscription '${subscription.name}' of topic '${this.name}' is full`,
          ),
        );
      }
    }
    if (signal?.aborted === true) return Promise.reject(abortError(this.name, signal));
    return new Promise<string>((resolve, reject) => {
      const blocked: BlockedPublish = {
        data,
        attributes,
        orderingKey,
        size,
        resolve,
        reject,
        owner,
        signal,
        onAbort: undefined,
        cancelled: false,
      };
      if (signal !== undefined) {
        blocked.onAbort = () => {
          this.#cancel(blocked, abortError(this.name, signal));
          // A cancelled head may have been the only thing holding the others back.
          this.onRoom();
        };
        signal.addEventListener('abort', blocked.onAbort, { once: true });
      }
      owner?.onBlocked();
      this.#blocked.push(blocked);
    });
  }

  /** Admits blocked publishes that fit now; subscriptions call it when they free room. */
  readonly onRoom = (): void => {
    const queue = this.#blocked;
    if (queue.length === 0) return;
    for (let blocked = queue.peek(); blocked !== undefined; blocked = queue.peek()) {
      if (!blocked.cancelled) {
        if (!this.#fits(blocked.size)) return;
        this.#settle(blocked);
        blocked.resolve(
          this.#admit(blocked.data, blocked.attributes, blocked.orderingKey, blocked.size),
        );
      }
      queue.shift();
    }
  };

  /** Rejects the blocked publishes of `owner` (every blocked publish when undefined). */
  cancelBlocked(owner: PublishOwner | undefined, error: TributaryError): void {
    for (const blocked of this.#blocked.toArray()) {
      if (owner === undefined || blocked.owner === owner) this.#cancel(blocked, error);
    }
    this.onRoom();
  }

  /** Rejects blocked and future publishes with `error`. */
  close(error: TributaryError): void {
    this.#closedError = error;
    this.cancelBlocked(undefined, error);
  }

  stats(): TopicStats {
    return {
      subscriptions: this.#subscriptions.map((subscription) => subscription.name),
      published: this.#published,
      blockedPublishes: this.#blocked.toArray().filter((blocked) => !blocked.cancelled).length,
    };
  }

  #fits(size: number): boolean {
    const subscriptions = this.#subscriptions;
    for (let i = 0; i < subscriptions.length; i++) {
      if (subscriptions[i]?.hasRoom(size) === false) return false;
    }
    return true;
  }

  #admit(
    data: Uint8Array,
    attributes: Attributes,
    orderingKey: string | undefined,
    size: number,
  ): string {
    const id = this.#nextId();
    const now = Date.now();
    if (now !== this.#dateMs) {
      this.#dateMs = now;
      this.#date = new Date(now);
    }
    const publishTime = this.#date;
    this.#published++;
    const subscriptions = this.#subscriptions;
    for (let i = 0; i < subscriptions.length; i++) {
      subscriptions[i]?.enqueue(id, data, attributes, orderingKey, publishTime, size);
    }
    return id;
  }

  /** Detaches a blocked publish from its signal and owner. */
  #settle(blocked: BlockedPublish): void {
    if (blocked.onAbort !== undefined) {
      blocked.signal?.removeEventListener('abort', blocked.onAbort);
    }
    blocked.owner?.onUnblocked();
  }

  /** Rejects a blocked publish; it stays queued until `onRoom` drops it from the head. */
  #cancel(blocked: BlockedPublish, error: unknown): void {
    if (blocked.cancelled) return;
    blocked.cancelled = true;
    this.#settle(blocked);
    blocked.reject(error);
  }
}

function abortError(topic: string, signal: AbortSignal): TributaryError {
  return TributaryError.transient(
    'TIMEOUT',
    `publish to '${topic}' aborted while waiting for backlog room`,
    signal.reason,
  );
}
