import type { Attributes } from '../message.js';

/** Where an entry is in its subscription. */
export const EntryState = {
  /** Waiting in the backlog (or behind an earlier message with the same ordering key). */
  pending: 0,
  /** Taken into a consumer's prefetch buffer, not yet yielded. */
  leased: 1,
  /** Yielded to the application; the ack deadline runs. */
  outstanding: 2,
  /** Being published to the dead-letter topic. */
  forwarding: 3,
  /** Acked or dead-lettered; gone from the backlog. */
  done: 4,
} as const;

export type EntryState = (typeof EntryState)[keyof typeof EntryState];

/** A consumer that counts its unsettled deliveries (its flow-control window). */
export interface DeliveryOwner {
  /** The delivery of `entry` was acked, nacked or expired. */
  unsettled(entry: Entry): void;
}

/**
 * One published message in one subscription: the message as stored (data and attributes are
 * shared by reference between the subscriptions of a topic, never copied) plus its delivery
 * state. It is also a node of the subscription's outstanding list. One object per message and
 * subscription keeps the publish path to a single allocation.
 */
export class Entry {
  readonly id: string;
  readonly data: Uint8Array;
  readonly attributes: Attributes;
  readonly orderingKey: string | undefined;
  readonly publishTime: Date;
  /** Data plus attribute bytes: what the backlog bounds count. */
  readonly size: number;
  /** Deliveries so far; the current delivery's `deliveryAttempt`. */
  attempts = 0;
  state: EntryState = EntryState.pending;
  /** Sweep tick at which it was yielded (for the ack deadline). */
  tick = 0;
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  /** The bounded consumer holding the current delivery, told when it ends. */
  owner: DeliveryOwner | undefined = undefined;

  constructor(
    id: string,
    data: Uint8Array,
    attributes: Attributes,
    orderingKey: string | undefined,
    publishTime: Date,
    size: number,
  ) {
    this.id = id;
    this.data = data;
    this.attributes = attributes;
    this.orderingKey = orderingKey;
    this.publishTime = publishTime;
    this.size = size;
  }
}
