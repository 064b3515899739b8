/** How a message was settled. */
export type Outcome = 'acked' | 'nacked';

/** Attributes travel beside the data (Pub/Sub attributes, MQTT topic, error details). */
export type Attributes = Readonly<Record<string, string>>;

/**
 * One event flowing through a pipeline: immutable data plus settle-once `ack()` / `nack()`.
 * The first of `ack()` / `nack()` wins; later calls do nothing. `settled` resolves with the
 * outcome, so services and tests have one place to wait.
 */
export interface Message {
  /** Broker message id (Pub/Sub id, or a generated unique id for MQTT). */
  readonly id: string;
  /** The payload bytes. JSON payloads stay JSON; nothing is base64-wrapped. */
  readonly data: Uint8Array;
  readonly attributes: Attributes;
  readonly publishTime: Date;
  readonly orderingKey: string | undefined;
  /** 1 on the first delivery, growing with each redelivery when the transport reports it. */
  readonly deliveryAttempt: number;
  /** Data attached by enrichment stages; travels downstream as JSON. */
  readonly enrichment: Readonly<Record<string, unknown>>;
  /** Bytes held in memory for this message (data plus attributes); what flow control counts. */
  readonly size: number;
  /** The outcome once settled, `undefined` before. */
  readonly outcome: Outcome | undefined;
  /** Resolves with the outcome when the message is settled. */
  readonly settled: Promise<Outcome>;
  ack(): void;
  nack(): void;
}

/** What a transport or a test supplies to build a {@link Message}. */
export interface MessageInit {
  readonly id: string;
  readonly data: Uint8Array;
  readonly attributes?: Attributes | undefined;
  /** @defaultValue the time of creation */
  readonly publishTime?: Date | undefined;
  readonly orderingKey?: string | undefined;
  /** @defaultValue 1 */
  readonly deliveryAttempt?: number | undefined;
  readonly enrichment?: Readonly<Record<string, unknown>> | undefined;
  /** Called once, on the first `ack()`. */
  readonly onAck?: (() => void) | undefined;
  /** Called once, on the first `nack()` (when `ack()` did not come first). */
  readonly onNack?: (() => void) | undefined;
}

/** The changes {@link deriveMessage} may make; everything else is kept. */
export interface MessageChanges {
  readonly data?: Uint8Array | undefined;
  readonly attributes?: Attributes | undefined;
  readonly enrichment?: Readonly<Record<string, unknown>> | undefined;
}

const EMPTY: Attributes = Object.freeze({});

/** Settle-once state shared by a message and every message derived from it. */
class Settlement {
  outcome: Outcome | undefined;
  #waiters: ((outcome: Outcome) => void)[] | undefined;
  #promise: Promise<Outcome> | undefined;
  readonly #onAck: (() => void) | undefined;
  readonly #onNack: (() => void) | undefined;

  constructor(onAck: (() => void) | undefined, onNack: (() => void) | undefined) {
    this.#onAck = onAck;
    this.#onNack = onNack;
  }

  settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    if (outcome === 'acked') this.#onAck?.();
    else this.#onNack?.();
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve(outcome);
  }

  /** Created lazily: most messages are never awaited, and a promise each costs on the hot path. */
  get promise(): Promise<Outcome> {
    if (this.#promise !== undefined) return this.#promise;
    const outcome = this.outcome;
    this.#promise =
      outcome !== undefined
        ? Promise.resolve(outcome)
        : new Promise<Outcome>((resolve) => {
            (this.#waiters ??= []).push(resolve);
          });
    return this.#promise;
  }
}

class PipelineMessage implements Message {
  readonly id: string;
  readonly data: Uint8Array;
  readonly attributes: Attributes;
  readonly publishTime: Date;
  readonly orderingKey: string | undefined;
  readonly deliveryAttempt: number;
  readonly enrichment: Readonly<Record<string, unknown>>;
  readonly #settlement: Settlement;
  #size = -1;

  constructor(init: MessageInit, settlement: Settlement) {
    this.id = init.id;
    this.data = init.data;
    this.attributes = init.attributes ?? EMPTY;
    this.publishTime = init.publishTime ?? new Date();
    this.orderingKey = init.orderingKey;
    this.deliveryAttempt = init.deliveryAttempt ?? 1;
    this.enrichment = init.enrichment ?? EMPTY;
    this.#settlement = settlement;
  }

  get size(): number {
    if (this.#size < 0) this.#size = this.data.byteLength + attributesSize(this.attributes);
    return this.#size;
  }

  get outcome(): Outcome | undefined {
    return this.#settlement.outcome;
  }

  get settled(): Promise<Outcome> {
    return this.#settlement.promise;
  }

  ack(): void {
    this.#settlement.settle('acked');
  }

  nack(): void {
    this.#settlement.settle('nacked');
  }

  derive(changes: MessageChanges): Message {
    return new PipelineMessage(
      {
        id: this.id,
        data: changes.data ?? this.data,
        attributes: changes.attributes ?? this.attributes,
        publishTime: this.publishTime,
        orderingKey: this.orderingKey,
        deliveryAttempt: this.deliveryAttempt,
        enrichment: changes.enrichment ?? this.enrichment,
      },
      this.#settlement,
    );
  }
}

/** Creates a message whose `ack()` / `nack()` call the given hooks at most once, in total. */
export function createMessage(init: MessageInit): Message {
  return new PipelineMessage(init, new Settlement(init.onAck, init.onNack));
}

/**
 * Returns a copy of `message` with some fields changed that shares its settlement: acking the
 * copy acks the original. Stages use it to attach enrichment or rewrite data without losing the
 * acknowledgement handle.
 */
export function deriveMessage(message: Message, changes: MessageChanges): Message {
  if (message instanceof PipelineMessage) return message.derive(changes);
  return createMessage({
    id: message.id,
    data: changes.data ?? message.data,
    attributes: changes.attributes ?? message.attributes,
    publishTime: message.publishTime,
    orderingKey: message.orderingKey,
    deliveryAttempt: message.deliveryAttempt,
    enrichment: changes.enrichment ?? message.enrichment,
    onAck: () => {
      message.ack();
    },
    onNack: () => {
      message.nack();
    },
  });
}

/** Approximate in-memory bytes of an attribute map (UTF-16 length of keys and values). */
export function attributesSize(attributes: Attributes): number {
  let size = 0;
  for (const key in attributes) size += key.length + (attributes[key]?.length ?? 0);
  return size;
}
