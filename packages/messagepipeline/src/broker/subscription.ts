import type { Logger } from '../logger.js';
import type { Attributes, Message } from '../message.js';
import type { OutgoingMessage } from '../ports.js';
import { Deque } from '../kernel/deque.js';
import type { ResolvedSubscriptionOptions } from './options.js';
import { DeliveredMessage } from './delivered-message.js';
import type { Settle } from './delivered-message.js';
import { Entry, EntryState, type DeliveryOwner } from './entry.js';

/** The attributes a dead-lettered message carries besides its own, named as Pub/Sub names them. */
export const deadLetterSourceAttributes = {
  /** Deliveries made before it was dead-lettered, as a decimal string. */
  deliveryCount: 'CloudPubSubDeadLetterSourceDeliveryCount',
  /** The subscription it failed on. */
  subscription: 'CloudPubSubDeadLetterSourceSubscription',
  /** When it was first published, ISO 8601. */
  topicPublishTime: 'CloudPubSubDeadLetterSourceTopicPublishTime',
} as const;

/** A snapshot of one subscription, for tests and metrics. */
export interface SubscriptionStats {
  readonly topic: string;
  /**
   * Unacked messages held: waiting, prefetched, outstanding or being dead-lettered. The
   * `maxBacklogMessages` bound applies to this.
   */
  readonly backlogMessages: number;
  /** Data plus attribute bytes of {@link SubscriptionStats.backlogMessages}. */
  readonly backlogBytes: number;
  /** Waiting for a consumer (including those held back behind their ordering key). */
  readonly pendingMessages: number;
  /** In consumers' prefetch buffers, not yet yielded. */
  readonly prefetchedMessages: number;
  /** Yielded and neither acked nor nacked yet. */
  readonly outstandingMessages: number;
  /** Being published to the dead-letter topic. */
  readonly forwardingMessages: number;
  /** Totals since the subscription was created. */
  readonly delivered: number;
  readonly acked: number;
  readonly nacked: number;
  readonly expired: number;
  readonly deadLettered: number;
}

/** A consumer waiting for messages. */
export interface Waiter {
  wake(): void;
}

/** What a subscription needs from the topics around it. */
export interface SubscriptionLinks {
  /** Called after room was freed in the backlog (the topic admits blocked publishes). */
  readonly onRoom: () => void;
  /** Publishes to the dead-letter topic, when there is one. */
  readonly deadLetter: ((message: OutgoingMessage) => Promise<string>) | undefined;
  readonly logger: Logger;
}

/**
 * One subscription: a bounded backlog, competing consumers, ack deadlines swept by one timer,
 * redelivery, dead-lettering and per-key ordering.
 */
export class Subscription implements Settle {
  readonly name: string;
  readonly topic: string;
  readonly options: ResolvedSubscriptionOptions;
  readonly #links: SubscriptionLinks;
  readonly #pending = new Deque<Entry>(64);
  /** Ordering keys with a message in flight, each with the messages queued behind it. */
  readonly #keys = new Map<string, Deque<Entry> | undefined>();
  readonly #ordered: boolean;
  readonly #waiters = new Deque<Waiter>(4);
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #deadlineTicks: number;
  #head: Entry | undefined;
  #tail: Entry | undefined;
  #count = 0;
  #bytes = 0;
  #leased = 0;
  #outstanding = 0;
  #forwarding = 0;
  #tick = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #delivered = 0;
  #acked = 0;
  #nacked = 0;
  #expired = 0;
  #deadLettered = 0;

  constructor(
    name: string,
    topic: string,
    options: ResolvedSubscriptionOptions,
    links: SubscriptionLinks,
  ) {
    this.name = name;
    this.topic = topic;
    this.options = options;
    this.#links = links;
    this.#ordered = options.enableMessageOrdering;
    this.#maxMessages = options.maxBacklogMessages;
    this.#maxBytes = options.maxBacklogBytes;
    this.#deadlineTicks = Math.ceil(options.ackDeadlineMs / options.deadlineSweepIntervalMs);
  }

  /** Whether a message of `size` bytes fits now. An oversized message fits an empty backlog. */
  hasRoom(size: number): boolean {
    return (
      this.#count < this.#maxMessages && (this.#bytes + size <= this.#maxBytes || this.#count === 0)
    );
  }

  /** Adds a published message. The caller checked {@link Subscription.hasRoom}. */
  enqueue(
    id: string,
    data: Uint8Array,
    attributes: Attributes,
    orderingKey: string | undefined,
    publishTime: Date,
    size: number,
  ): void {
    if (this.#closed) return;
    const entry = new Entry(id, data, attributes, orderingKey, publishTime, size);
    this.#count++;
    this.#bytes += size;
    const key = orderingKey;
    if (this.#ordered && key !== undefined) {
      if (this.#keys.has(key)) {
        let queue = this.#keys.get(key);
        if (queue === undefined) this.#keys.set(key, (queue = new Deque<Entry>(4)));
        queue.push(entry);
        return;
      }
      this.#keys.set(key, undefined);
    }
    this.#pending.push(entry);
    if (this.#waiters.length > 0) this.#dispatch();
  }

  /** Moves up to `max` waiting entries into `out[0..n)` (a consumer's prefetch buffer). */
  take(max: number, out: (Entry | undefined)[]): number {
    const pending = this.#pending;
    let n = 0;
    while (n < max) {
      const entry = pending.shift();
      if (entry === undefined) break;
      entry.state = EntryState.leased;
      out[n++] = entry;
    }
    this.#leased += n;
    return n;
  }

  /**
   * Hands a leased entry to the application: starts its ack deadline, builds its message. `owner`
   * is told when this delivery is acked, nacked or expires.
   */
  deliver(entry: Entry, owner?: DeliveryOwner): Message {
    const attempt = ++entry.attempts;
    entry.owner = owner;
    entry.state = EntryState.outstanding;
    entry.tick = this.#tick;
    this.#leased--;
    this.#outstanding++;
    this.#delivered++;
    const tail = this.#tail;
    entry.prev = tail;
    if (tail === undefined) this.#head = entry;
    else tail.next = entry;
    this.#tail = entry;
    if (this.#timer === undefined) this.#arm();
    return new DeliveredMessage(entry, attempt, this);
  }

  /** Puts back entries a consumer took but never yielded, in order, ahead of everything else. */
  returnLeased(entries: readonly Entry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (entry === undefined) continue;
      entry.state = EntryState.pending;
      this.#pending.unshift(entry);
    }
    this.#leased -= entries.length;
    if (this.#waiters.length > 0) this.#dispatch();
  }

  /** Registers a consumer to be woken when a message is waiting. */
  addWaiter(waiter: Waiter): void {
    this.#waiters.push(waiter);
    if (this.#pending.length > 0) this.#dispatch();
  }

  /** Stops the deadline timer and dispatching; later publishes are ignored. */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  stats(): SubscriptionStats {
    return {
      topic: this.topic,
      backlogMessages: this.#count,
      backlogBytes: this.#bytes,
      pendingMessages: this.#count - this.#leased - this.#outstanding - this.#forwarding,
      prefetchedMessages: this.#leased,
      outstandingMessages: this.#outstanding,
      forwardingMessages: this.#forwarding,
      delivered: this.#delivered,
      acked: this.#acked,
      nacked: this.#nacked,
      expired: this.#expired,
      deadLettered: this.#deadLettered,
    };
  }

  #dispatch(): void {
    if (this.#closed) return;
    const pending = this.#pending;
    const waiters = this.#waiters;
    while (pending.length > 0 && waiters.length > 0) waiters.shift()?.wake();
  }

  /** @internal Called by a {@link DeliveredMessage}. */
  ack(entry: Entry, attempt: number): void {
    // A stale handle (the delivery expired and the message went back) is ignored, like an ack
    // with an expired Pub/Sub ack id.
    if (entry.state !== EntryState.outstanding || entry.attempts !== attempt) return;
    this.#unlink(entry);
    this.#acked++;
    this.#release(entry);
  }

  /** @internal Called by a {@link DeliveredMessage}. */
  nack(entry: Entry, attempt: number): void {
    if (entry.state !== EntryState.outstanding || entry.attempts !== attempt) return;
    this.#unlink(entry);
    this.#nacked++;
    this.#retry(entry);
  }

  #unlink(entry: Entry): void {
    const { prev, next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.#outstanding--;
    const owner = entry.owner;
    if (owner !== undefined) {
      entry.owner = undefined;
      owner.unsettled(entry);
    }
  }

  /** Removes an acked or dead-lettered entry and lets the next message of its key go. */
  #release(entry: Entry): void {
    entry.state = EntryState.done;
    this.#count--;
    this.#bytes -= entry.size;
    const key = entry.orderingKey;
    if (this.#ordered && key !== undefined) {
      const next = this.#keys.get(key)?.shift();
      if (next === undefined) this.#keys.delete(key);
      else {
        this.#pending.push(next);
        if (this.#waiters.length > 0) this.#dispatch();
      }
    }
    this.#links.onRoom();
  }

  /** After a nack or an expired deadline: redeliver first in line, or dead-letter. */
  #retry(entry: Entry): void {
    const deadLetter = this.#links.deadLetter;
    if (deadLetter !== undefined && entry.attempts >= this.options.maxDeliveryAttempts) {
      this.#forward(entry, deadLetter);
      return;
    }
    entry.state = EntryState.pending;
    this.#pending.unshift(entry);
    if (this.#waiters.length > 0) this.#dispatch();
  }

  #forward(entry: Entry, deadLetter: (message: OutgoingMessage) => Promise<string>): void {
    entry.state = EntryState.forwarding;
    this.#forwarding++;
    const attributes: Record<string, string> = {
      ...entry.attributes,
      [deadLetterSourceAttributes.deliveryCount]: String(entry.attempts),
      [deadLetterSourceAttributes.subscription]: this.name,
      [deadLetterSourceAttributes.topicPublishTime]: entry.publishTime.toISOString(),
    };
    // The entry stays in the backlog (counted, its key held) until the dead letter is published:
    // nothing is acked before its effect is durable.
    deadLetter({ data: entry.data, attributes, orderingKey: entry.orderingKey }).then(
      (id) => {
        this.#forwarding--;
        this.#deadLettered++;
        this.#links.logger.debug(
          { subscription: this.name, messageId: entry.id, deadLetterId: id },
          'message dead-lettered',
        );
        this.#release(entry);
      },
      (error: unknown) => {
        this.#forwarding--;
        this.#links.logger.warn(
          { subscription: this.name, messageId: entry.id, err: error },
          'dead-letter publish failed; the message will be delivered again',
        );
        entry.state = EntryState.pending;
        this.#pending.unshift(entry);
        if (this.#waiters.length > 0) this.#dispatch();
      },
    );
  }

  #arm(): void {
    if (this.#closed) return;
    const timer = setInterval(this.#sweep, this.options.deadlineSweepIntervalMs);
    timer.unref();
    this.#timer = timer;
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Redelivers deliveries whose deadline passed. The outstanding list is in delivery order and
   * every delivery has the same deadline, so the expired ones are at its head. A delivery made at
   * tick `t` expires at tick `t + deadlineTicks + 1`: never sooner than `ackDeadlineMs`.
   */
  readonly #sweep = (): void => {
    const limit = ++this.#tick - this.#deadlineTicks;
    let entry = this.#head;
    while (entry !== undefined && entry.tick < limit) {
      this.#unlink(entry);
      this.#expired++;
      this.#links.logger.debug(
        { subscription: this.name, messageId: entry.id, attempt: entry.attempts },
        'ack deadline expired',
      );
      this.#retry(entry);
      entry = this.#head;
    }
    if (this.#head === undefined) this.#disarm();
  };
}
