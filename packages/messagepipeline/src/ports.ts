import type { Service } from './lifecycle.js';
import type { Attributes, Message } from './message.js';

/**
 * A source of messages (Pub/Sub subscription, MQTT broker, in-memory subscription). Iterate it
 * once; the iterator ends after the consumer stops. A consumer never buffers without bound: it
 * takes from upstream only as fast as its iterator is pulled (backpressure).
 */
export interface MessageConsumer extends Service, AsyncIterable<Message> {
  /** A name for logs and metrics, such as the subscription id. */
  readonly name: string;
}

/**
 * An optional capability of a {@link MessageConsumer}: handing over a message it already holds
 * without the cost of the async-iterator protocol (a promise and a result object per message).
 * Pipeline services use it when present and fall back to plain iteration otherwise.
 *
 * `poll()` never waits and never takes more from upstream than one pull of the iterator would:
 * it returns the message the next `next()` would yield at once, or `undefined` when there is
 * none right now, when the consumer is stopped, or when the consumer wants the caller to yield
 * to the event loop. After `undefined`, the caller pulls the iterator (which waits) as usual.
 * A message returned by `poll()` is delivered exactly as if the iterator had yielded it.
 */
export interface PollingConsumer extends MessageConsumer {
  poll(): Message | undefined;
}

/**
 * An optional capability of a {@link MessageConsumer}: what it holds unsettled, so a stall is
 * seen where it happens. A pipeline service is not ready while the oldest unsettled message is
 * older than its stall threshold, or while intake has been paused at its limit that long.
 */
export interface HeldWorkReporter {
  /**
   * Age in milliseconds of the oldest message received from the source and not yet acknowledged
   * to it (a nacked message waiting for its redelivery still counts); 0 when none is held.
   */
  oldestUnsettledAgeMs(): number;
  /** How long reading from the source has been paused at the in-flight limit, in ms; 0 if not. */
  pausedForMs(): number;
}

/** True when `consumer` offers the {@link HeldWorkReporter} capability. */
export function reportsHeldWork<C extends MessageConsumer>(
  consumer: C,
): consumer is C & HeldWorkReporter {
  const candidate = consumer as Partial<HeldWorkReporter>;
  return (
    typeof candidate.oldestUnsettledAgeMs === 'function' &&
    typeof candidate.pausedForMs === 'function'
  );
}

/** The flow-control window of a consumer: see {@link FlowControlledConsumer}. */
export interface InFlightWindow {
  /** Unsettled messages at which the consumer hands out no more. */
  readonly messages: number;
  /** Unsettled bytes (data plus attributes) that the next message may not take it past. */
  readonly bytes: number;
}

/**
 * An optional capability of a {@link MessageConsumer}: it hands out no further message while
 * `inFlightWindow.messages` are unsettled, or while the next one would take the unsettled bytes
 * past `inFlightWindow.bytes` (with none unsettled, a message is always handed out). A stage that
 * holds messages for later (a batching sink) flushes before it fills the window; otherwise it would
 * wait for a message the consumer hands out only after a held one settles.
 */
export interface FlowControlledConsumer extends MessageConsumer {
  /** `undefined` when the consumer is not bounded. */
  readonly inFlightWindow: InFlightWindow | undefined;
}

/** The consumer's flow-control window, when it has one. */
export function inFlightWindowOf(consumer: MessageConsumer): InFlightWindow | undefined {
  return (consumer as Partial<FlowControlledConsumer>).inFlightWindow;
}

/** A message to publish. */
export interface OutgoingMessage {
  readonly data: Uint8Array;
  readonly attributes?: Attributes | undefined;
  readonly orderingKey?: string | undefined;
}

/** Per-call publish options. */
export interface PublishOptions {
  /** Aborts waiting (for flow-control credit or the server); the publish may still happen. */
  readonly signal?: AbortSignal | undefined;
}

/** A destination for messages (Pub/Sub topic, in-memory topic). */
export interface MessageProducer extends Service {
  /** A name for logs and metrics, such as the topic id. */
  readonly name: string;
  /**
   * Publishes one message. Resolves with the server's message id only once the server has
   * confirmed it; rejects with a classified {@link TributaryError} otherwise. Waits (never
   * buffers without bound) while too many publishes are outstanding.
   */
  publish(message: OutgoingMessage, options?: PublishOptions): Promise<string>;
  /** Resolves when every publish accepted so far has been confirmed or failed. */
  flush(): Promise<void>;
}
