// Shared by the bigquery-sink benchmarks: the local servers, the payloads, publishing a backlog,
// and the app's own composition (buildBigQuerySink) run in-process.
import type { BigQuery } from '@google-cloud/bigquery';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { createBigQueryClient, parseTableSchema, type TableSchema } from '@tributary/bqstore';
import {
  startBigQueryServer,
  startPubSubEmulator,
  uniqueName,
  type BigQueryServer,
  type BigQueryServerOptions,
} from '@tributary/local-gcp';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { loadConfig } from '@tributary/runtime';
import { BigQuerySinkEnv } from '../src/config.js';
import { buildBigQuerySink } from '../src/pipeline.js';
export { median } from '@tributary/local-gcp/bench';

export const PROJECT = 'bench-proj';

export const SCHEMA: TableSchema = parseTableSchema([
  { name: 'device_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'seq', type: 'INT64' },
  { name: 'value', type: 'FLOAT64' },
  { name: 'ok', type: 'BOOL' },
  {
    name: 'readings',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'name', type: 'STRING' },
      { name: 'value', type: 'FLOAT64' },
    ],
  },
  { name: 'message_id', type: 'STRING' },
]);

/** One telemetry row (~200 B of JSON) that fits {@link SCHEMA} without `message_id`. */
export function row(i: number): Record<string, unknown> {
  return {
    device_id: `dev-${String(i % 10_000).padStart(5, '0')}`,
    ts: new Date(1_767_225_600_000 + i * 1000).toISOString(),
    seq: i,
    value: Math.round((15 + (i % 200) / 10) * 100) / 100,
    ok: i % 3 === 0,
    readings: ['t', 'h', 'p', 'b'].map((name, k) => ({ name, value: (i % 50) + k / 10 })),
  };
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export function report(result: Record<string, unknown>): void {
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
}

/** RSS sampler (every 50 ms): peak in MB since `reset()`, and every sample. */
export function rssSampler(): {
  reset(): void;
  peakMb(): number;
  samples(): number[];
  stop(): void;
} {
  let peak = 0;
  let samples: number[] = [];
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    samples.push(rss);
  }, 50);
  return {
    reset() {
      peak = process.memoryUsage.rss();
      samples = [];
    },
    peakMb: () => Math.round(Math.max(peak, process.memoryUsage.rss()) / 1024 / 1024),
    samples: () => samples,
    stop() {
      clearInterval(timer);
    },
  };
}

/** The emulator (PUBSUB_EMULATOR_HOST, or one started here) and a private BigQuery server. */
export async function startServers(
  stops: (() => Promise<unknown>)[],
  serverOptions: BigQueryServerOptions = {},
): Promise<{
  pubsub: PubSub;
  emulatorHost: string;
  server: BigQueryServer;
  bigquery: BigQuery;
}> {
  let emulatorHost = process.env['PUBSUB_EMULATOR_HOST'] ?? '';
  if (emulatorHost === '') {
    const emulator = await startPubSubEmulator();
    stops.push(() => emulator.stop());
    emulatorHost = emulator.hostPort;
  }
  // The BigQuery client prefers BIGQUERY_EMULATOR_HOST over apiEndpoint.
  delete process.env['BIGQUERY_EMULATOR_HOST'];
  const server = await startBigQueryServer({ writeApi: {}, ...serverOptions });
  stops.push(() => server.stop());
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulatorHost });
  stops.push(() => pubsub.close());
  const bigquery = createBigQueryClient({ projectId: PROJECT, apiEndpoint: server.apiEndpoint });
  return { pubsub, emulatorHost, server, bigquery };
}

/** Publishes `count` rows (payload = JSON of `row(i)`), at most 10,000 outstanding. */
export async function publishBacklog(pubsub: PubSub, topic: Topic, count: number): Promise<void> {
  const publisher = pubsub.topic(topic.name, {
    batching: { maxMessages: 1_000, maxMilliseconds: 10 },
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 10_000 }, async () => {
      for (let i = next++; i < count; i = next++) {
        await publisher.publishMessage({ data: Buffer.from(JSON.stringify(row(i))) });
      }
    }),
  );
  await publisher.flush();
}

/** The app's own composition (buildBigQuerySink with its defaults), on `subscription`. */
export async function startOurSink(options: {
  pubsub: PubSub;
  bigquery: BigQuery;
  subscription: string;
  deadLetterTopic: string;
  datasetId: string;
  tableId: string;
  env?: Record<string, string>;
}): Promise<{
  rowsWritten: () => number;
  acked: () => number;
  consumerStats: () => Record<string, unknown>;
  stop: () => Promise<void>;
}> {
  const config = loadConfig(BigQuerySinkEnv, {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    SUBSCRIPTION: options.subscription,
    DEAD_LETTER_TOPIC: options.deadLetterTopic,
    BIGQUERY_DATASET: options.datasetId,
    BIGQUERY_TABLE: options.tableId,
    PARTITION_TYPE: 'NONE',
    BATCH_MAX_WAIT_MS: '1000',
    ...options.env,
  });
  const transport = createPubSubTransport({ pubsub: options.pubsub });
  const app = buildBigQuerySink(config, {
    logger: silentLogger,
    schema: SCHEMA,
    mapping: { messageIdColumn: 'message_id' },
    transport,
    bigquery: options.bigquery,
  });
  // The one consumer the transport made, with the Pub/Sub consumer's stats.
  const [consumer] = transport.consumers;
  if (consumer === undefined) throw new Error('the sink made no consumer');
  await app.deadLetterProducer.start();
  await app.sink.start();
  return {
    rowsWritten: () => app.sink.stats().rowsWritten,
    acked: () => consumer.stats().acked,
    consumerStats: () => ({ ...consumer.stats() }),
    async stop() {
      await app.sink.stop({ timeoutMs: 10_000 });
      await app.deadLetterProducer.stop({ timeoutMs: 2_000 });
    },
  };
}

/** A unique BigQuery-safe id. */
export const bqName = (prefix: string): string => uniqueName(prefix, '_');
