import type { Attributes, Message, Outcome } from '../message.js';
import type { Entry } from './entry.js';

/** What a delivered message reports its settlement to. */
export interface Settle {
  ack(entry: Entry, attempt: number): void;
  nack(entry: Entry, attempt: number): void;
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * One delivery of an entry, with the same settle-once contract as `createMessage()`: the first of
 * `ack()` / `nack()` wins, `settled` is created only when someone asks for it. A class with
 * methods instead of `createMessage()` hooks, because two closures per delivery are measurable
 * at hundreds of thousands of messages per second.
 */
export class DeliveredMessage implements Message {
  readonly deliveryAttempt: number;
  readonly #entry: Entry;
  readonly #settle: Settle;
  #outcome: Outcome | undefined;
  #settled: Promise<Outcome> | undefined;
  #resolve: ((outcome: Outcome) => void) | undefined;

  constructor(entry: Entry, attempt: number, settle: Settle) {
    this.#entry = entry;
    this.deliveryAttempt = attempt;
    this.#settle = settle;
  }

  get id(): string {
    return this.#entry.id;
  }

  get data(): Uint8Array {
    return this.#entry.data;
  }

  get attributes(): Attributes {
    return this.#entry.attributes;
  }

  get publishTime(): Date {
    return this.#entry.publishTime;
  }

  get orderingKey(): string | undefined {
    return this.#entry.orderingKey;
  }

  get enrichment(): Readonly<Record<string, unknown>> {
    return EMPTY;
  }

  get size(): number {
    return this.#entry.size;
  }

  get outcome(): Outcome | undefined {
    return this.#outcome;
  }

  get settled(): Promise<Outcome> {
    if (this.#settled === undefined) {
      const outcome = this.#outcome;
      this.#settled =
        outcome !== undefined
          ? Promise.resolve(outcome)
          : new Promise<Outcome>((resolve) => {
              this.#resolve = resolve;
            });
    }
    return this.#settled;
  }

  ack(): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = 'acked';
    this.#settle.ack(this.#entry, this.deliveryAttempt);
    this.#resolve?.('acked');
  }

  nack(): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = 'nacked';
    this.#settle.nack(this.#entry, this.deliveryAttempt);
    this.#resolve?.('nacked');
  }
}
