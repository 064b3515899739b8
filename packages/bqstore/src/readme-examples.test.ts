// The sink example of this package's README, run as written there against the Pub/Sub emulator
// and the shared local BigQuery server; only the names differ (the README's project, topic,
// subscription, dataset and schema file become this test's unique ones). If the example changes,
// change it here too.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub, type Message as PubSubMessage } from '@google-cloud/pubsub';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { createDeadLetterPublisher } from '@tributary/messagepipeline';
import { createPubSubConsumer, createPubSubProducer } from '@tributary/messagepipeline/pubsub';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createBigQueryClient,
  createBigQuerySink,
  createInsertAllWriter,
  createStorageWriteWriter,
  createTableManager,
  isDatasetId,
  isTableId,
  loadSchemaFile,
  tableTemplateProblem,
} from './index.js';
import { CONTRACT_SCHEMA } from './testing/row-writer-contract.js';
import { createTable, datasetName, privateServer, readRows } from './test-support/bigquery.js';
import { waitUntil } from './test-support/pipeline.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('README examples', () => {
  it('the Storage Write API writer', async () => {
    const { server, bq } = await privateServer({ writeApi: {} });
    cleanups.push(() => server.stop());
    const { table } = await createTable(bq, CONTRACT_SCHEMA, 'readme');
    const writer = createStorageWriteWriter({
      projectId: table.projectId,
      emulatorHost: server.writeApi?.emulatorHost,
    });
    const outcomes = await writer.write(table, [
      { insertId: 'm1', row: { id: 'm1', n: 1, value: 0.5 } },
    ]);
    writer.close();
    expect(outcomes).toEqual([{ kind: 'ok' }]);
    expect(await readRows(bq, table)).toEqual([{ id: 'm1', n: 1, value: 0.5 }]);
  });

  it('the id checks', () => {
    expect(isDatasetId('my-dataset')).toBe(false);
    expect(isTableId('raw events-2026')).toBe(true);
    expect(tableTemplateProblem('events_{type}')).toBeUndefined();
  });

  it('the sink: a good reading becomes a row, a bad one is dead-lettered with its field path', async () => {
    const projectId = testEnv().GOOGLE_CLOUD_PROJECT;
    const admin = new PubSub({ projectId });
    cleanups.push(() => admin.close());
    const [topic] = await admin.createTopic(uniqueName('readme'));
    const [subscription] = await topic.createSubscription(uniqueName('readme'));
    const [deadLetterTopic] = await admin.createTopic(uniqueName('readme-dl'));
    const [deadLetterSubscription] = await deadLetterTopic.createSubscription(
      uniqueName('readme-dl'),
    );
    cleanups.push(
      () => topic.delete(),
      () => subscription.delete(),
      () => deadLetterTopic.delete(),
      () => deadLetterSubscription.delete(),
    );
    const received: PubSubMessage[] = [];
    deadLetterSubscription.on('message', (message: PubSubMessage) => {
      received.push(message);
      message.ack();
    });
    cleanups.push(() => deadLetterSubscription.close());
    const dir = await mkdtemp(join(tmpdir(), 'bqstore-readme-'));
    cleanups.push(() => rm(dir, { recursive: true }));
    const schemaFile = join(dir, 'schema.json');
    await writeFile(
      schemaFile,
      JSON.stringify([
        { name: 'device_id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'temp', type: 'FLOAT64' },
      ]),
    );
    const datasetId = datasetName('readme');

    // ---- the README example, with this test's names ----
    const pubsub = new PubSub({ projectId });
    const bigquery = createBigQueryClient({ projectId }); // client retries off, timeout
    const deadLetters = createPubSubProducer({ pubsub, topicName: deadLetterTopic.name });
    const sink = createBigQuerySink({
      consumer: createPubSubConsumer({ pubsub, subscriptionName: subscription.name }),
      writer: createInsertAllWriter({ bigquery }),
      tables: createTableManager(bigquery),
      projectId,
      datasetId,
      table: 'readings', // or a template: 'events_{type}' (one table per attribute value)
      schema: await loadSchemaFile(schemaFile), // tables are created from it when missing
      timePartitioning: { type: 'DAY', field: 'ts' }, // no field: ingestion time; expirationMs
      clustering: ['device_id'],
      mapping: { messageIdColumn: 'message_id', publishTimeColumn: 'publish_time' },
      unknownFields: 'dead-letter', // or 'ignore', 'evolve'
      deadLetter: createDeadLetterPublisher(deadLetters),
      maxItems: 500,
      maxWaitMs: 5_000, // BatchingService options
    });
    await deadLetters.start();
    await sink.start();
    // ---- end of the example (its shutdown lines run below) ----
    cleanups.push(
      () => bigquery.dataset(datasetId).delete({ force: true }),
      () => pubsub.close(),
    );

    const [good] = await Promise.all([
      topic.publishMessage({
        data: Buffer.from('{"device_id":"d1","ts":"2026-01-01T00:00:00Z","temp":21.5}'),
      }),
      topic.publishMessage({ data: Buffer.from('{"device_id":"d2","temp":"warm"}') }),
    ]);
    await waitUntil(
      () => received.length >= 1,
      () => 'the bad reading was not dead-lettered',
    );
    // The good row waits for the age flush (maxWaitMs 5 s) unless the shutdown flushes it first.
    await sink.stop();
    await deadLetters.stop();

    const rows = await readRows(bigquery, { projectId, datasetId, tableId: 'readings' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ device_id: 'd1', temp: 21.5, message_id: good });
    expect(received).toHaveLength(1);
    expect(received[0]?.attributes).toMatchObject({
      'error.code': 'SCHEMA_MISMATCH',
      'error.message': 'temp: expected FLOAT64, got "warm"',
    });
  });
});
