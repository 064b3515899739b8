import type { Fetcher } from '@tributary/cache';
import {
  createDeadLetterPublisher,
  createStreamingService,
  decodeEnvelope,
  type Message,
  type OutgoingMessage,
  type RetryOptions,
  type StreamingService,
} from '@tributary/messagepipeline';
import { createInMemoryBroker, type InMemoryBroker } from '@tributary/messagepipeline/broker';
import { createEnricher, type Enricher } from '../enricher.js';
import type { Reference } from '../fetchers.js';
import { parseLookups } from '../lookups-file.js';

/** One message as it arrived on the enriched or dead-letter topic. */
export interface Arrived {
  readonly raw: Message;
  /** The message unwrapped from its envelope. */
  readonly decoded: Message;
  readonly payload: unknown;
}

/** An enrichment stage over the in-memory broker: raw in, enriched and dead letters out. */
export interface Harness {
  readonly broker: InMemoryBroker;
  readonly enricher: Enricher;
  readonly service: StreamingService;
  readonly enriched: Arrived[];
  readonly deadLetters: Arrived[];
  publish(message: OutgoingMessage): Promise<void>;
  publishJson(
    value: unknown,
    attributes?: Record<string, string>,
    orderingKey?: string,
  ): Promise<void>;
  /** Polls until `condition` holds (10 s at most). */
  until(condition: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts a harness for the lookups of `yaml` (its fetchers are given, by name). */
export async function startHarness(options: {
  readonly yaml: string;
  readonly fetchers: ReadonlyMap<string, Fetcher<string, Reference>>;
  readonly retry?: RetryOptions | undefined;
  readonly concurrency?: number | undefined;
  readonly maxBacklogMessages?: number | undefined;
}): Promise<Harness> {
  const broker = createInMemoryBroker();
  for (const topic of ['raw', 'enriched', 'dead']) broker.createTopic(topic);
  const maxBacklogMessages = options.maxBacklogMessages ?? 2_000;
  broker.createSubscription('raw-sub', {
    topic: 'raw',
    maxBacklogMessages,
    enableMessageOrdering: false,
  });
  broker.createSubscription('enriched-sub', { topic: 'enriched', maxBacklogMessages });
  broker.createSubscription('dead-sub', { topic: 'dead', maxBacklogMessages });
  const config = parseLookups(options.yaml, 'lookups.yaml');
  const enricher = createEnricher({ lookups: config.lookups, fetchers: options.fetchers });
  const output = broker.producer('enriched');
  const service = createStreamingService<OutgoingMessage>({
    stage: 'enrichment',
    consumer: broker.consumer('raw-sub'),
    transformer: enricher.transform,
    processor: async ({ payload }) => {
      await output.publish(payload);
    },
    deadLetter: createDeadLetterPublisher(broker.producer('dead'), {
      sourceSubscription: 'raw-sub',
    }),
    retry: options.retry ?? { maxAttempts: 1 },
    concurrency: options.concurrency ?? 50,
  });
  await service.start();
  const enriched: Arrived[] = [];
  const deadLetters: Arrived[] = [];
  const collect = async (subscription: string, into: Arrived[]): Promise<void> => {
    const consumer = broker.consumer(subscription);
    await consumer.start();
    for await (const message of consumer) {
      const decoded = decodeEnvelope(message);
      let payload: unknown;
      try {
        payload = JSON.parse(decoder.decode(decoded.data));
      } catch {
        payload = decoder.decode(decoded.data);
      }
      into.push({ raw: message, decoded, payload });
      message.ack();
    }
  };
  const collecting = Promise.all([
    collect('enriched-sub', enriched),
    collect('dead-sub', deadLetters),
  ]);
  const raw = broker.producer('raw');
  return {
    broker,
    enricher,
    service,
    enriched,
    deadLetters,
    async publish(message) {
      await raw.publish(message);
    },
    async publishJson(value, attributes, orderingKey) {
      await raw.publish({ data: encoder.encode(JSON.stringify(value)), attributes, orderingKey });
    },
    async until(condition, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      await service.stop({ timeoutMs: 5_000 });
      await broker.close();
      await collecting;
    },
  };
}
