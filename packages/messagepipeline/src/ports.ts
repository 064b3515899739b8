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
