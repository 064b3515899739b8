import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import {
  PubSub,
  type Message as PubSubMessage,
  type Subscription,
  type Topic,
} from '@google-cloud/pubsub';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { createDeadLetterPublisher } from '@tributary/messagepipeline';
import {
  createPubSubConsumer,
  createPubSubProducer,
  type PubSubProducer,
} from '@tributary/messagepipeline/pubsub';
import { createInsertAllWriter } from '../insert-all-writer.js';
import type { TableRef } from '../row-writer.js';
import { createBigQuerySink, type BigQuerySink, type BigQuerySinkOptions } from '../sink.js';
import { createTableManager } from '../table-manager.js';
import { datasetName, PROJECT } from './bigquery.js';

/** Everything one sink test runs on: Pub/Sub topics on the emulator and a BigQuery dataset. */
export interface SinkFixture {
  readonly pubsub: PubSub;
  readonly topic: Topic;
  readonly datasetId: string;
  /** Dead letters received so far. */
  readonly deadLetters: PubSubMessage[];
  /** Starts a sink on the fixture's subscription with `options` over the defaults. */
  startSink(
    bq: BigQuery,
    options: Partial<BigQuerySinkOptions> & { readonly table: string },
  ): Promise<BigQuerySink>;
  publish(
    messages: readonly { data: string | Buffer; attributes?: Record<string, string> }[],
  ): Promise<string[]>;
  table(tableId: string): TableRef;
  cleanup(bq: BigQuery): Promise<void>;
}

/** Creates topics, subscriptions (with a dead-letter topic collected in memory) and a dataset id. */
export async function sinkFixture(prefix: string): Promise<SinkFixture> {
  const pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
  const [topic] = await pubsub.createTopic(uniqueName(prefix));
  const [subscription] = await topic.createSubscription(uniqueName(prefix), {
    ackDeadlineSeconds: 10,
  });
  const [dlTopic] = await pubsub.createTopic(uniqueName(`${prefix}-dl`));
  const [dlSubscription] = await dlTopic.createSubscription(uniqueName(`${prefix}-dl`));
  const deadLetters: PubSubMessage[] = [];
  dlSubscription.on('message', (message: PubSubMessage) => {
    deadLetters.push(message);
    message.ack();
  });
  const datasetId = datasetName(prefix);
  const sinks: BigQuerySink[] = [];
  const producers: PubSubProducer[] = [];
  const subscriptions: Subscription[] = [subscription, dlSubscription];
  return {
    pubsub,
    topic,
    datasetId,
    deadLetters,
    async startSink(bq, options) {
      const producer = createPubSubProducer({ pubsub, topicName: dlTopic.name });
      await producer.start();
      producers.push(producer);
      const sink = createBigQuerySink({
        consumer: createPubSubConsumer({ pubsub, subscriptionName: subscription.name }),
        writer: createInsertAllWriter({ bigquery: bq }),
        tables: createTableManager(bq),
        projectId: PROJECT,
        datasetId,
        deadLetter: createDeadLetterPublisher(producer),
        retry: { maxAttempts: 10, initialBackoffMs: 50, maxBackoffMs: 500 },
        maxWaitMs: 200,
        ...options,
      });
      await sink.start();
      sinks.push(sink);
      return sink;
    },
    async publish(messages) {
      const publisher = pubsub.topic(topic.name, {
        batching: { maxMessages: 500, maxMilliseconds: 5 },
      });
      return Promise.all(
        messages.map((m) =>
          publisher.publishMessage({
            data: typeof m.data === 'string' ? Buffer.from(m.data) : m.data,
            attributes: m.attributes ?? {},
          }),
        ),
      );
    },
    table: (tableId) => ({ projectId: PROJECT, datasetId, tableId }),
    async cleanup(bq) {
      for (const sink of sinks.splice(0))
        await sink.stop({ timeoutMs: 5_000 }).catch(() => undefined);
      for (const producer of producers.splice(0)) await producer.stop().catch(() => undefined);
      for (const s of subscriptions) {
        await s.close().catch(() => undefined);
        await s.delete().catch(() => undefined);
      }
      await topic.delete().catch(() => undefined);
      await dlTopic.delete().catch(() => undefined);
      await pubsub.close();
      const dataset: Dataset = bq.dataset(datasetId);
      await dataset.delete({ force: true }).catch(() => undefined);
    },
  };
}

/** Polls `condition` every 50 ms until it holds; throws with `what()` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `count(*)` and `count(distinct <column>)` of a table. */
export async function counts(
  bq: BigQuery,
  table: TableRef,
  column = 'message_id',
): Promise<{ rows: number; distinct: number }> {
  const [result] = await bq.query({
    query: `SELECT COUNT(*) AS n, COUNT(DISTINCT ${column}) AS d FROM \`${table.projectId}.${table.datasetId}.${table.tableId}\``,
  });
  const row = (result as { n: unknown; d: unknown }[])[0];
  return { rows: Number(row?.n ?? 0), distinct: Number(row?.d ?? 0) };
}
