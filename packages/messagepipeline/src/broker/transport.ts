import { defineTransport, type Transport } from '../transport.js';
import type { InMemoryBroker } from './broker.js';
import { DEFAULT_CLIENT_OPTIONS } from './options.js';

/**
 * The in-memory broker as an app's {@link Transport}, so an app composed for Pub/Sub runs in one
 * process beside others. Topics and subscriptions must exist in `broker` (asking for a missing
 * one throws `NOT_FOUND`). Batching, ordering and existence options have nothing to configure
 * here; the in-flight bounds are the consumer's flow control, as on Pub/Sub, and also limit its
 * prefetch. Stopping it leaves the broker open: its owner closes it.
 */
export function createBrokerTransport(broker: InMemoryBroker): Transport {
  return defineTransport({
    kind: 'in-memory',
    producer: ({ topic }) => broker.producer(topic),
    consumer: ({ subscription, maxInFlightMessages, maxInFlightBytes }) =>
      broker.consumer(subscription, {
        maxInFlightMessages,
        maxInFlightBytes,
        maxPrefetchMessages: Math.min(
          maxInFlightMessages ?? DEFAULT_CLIENT_OPTIONS.maxPrefetchMessages,
          // Enough to keep a consumer busy; more only moves the backlog into its prefetch.
          1_000,
        ),
      }),
  });
}
