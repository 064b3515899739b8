import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import {
  findFreePort,
  startBigQueryServer,
  testEnv,
  uniqueName,
  type BigQueryServer,
  type BigQueryWriteServer,
  startAppProcess,
  type AppProcess,
} from '@tributary/local-gcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, 'main.ts');
const appDir = join(import.meta.dirname, '..');

type Child = AppProcess;

function runMain(env: Readonly<Record<string, string>>): Child {
  return startAppProcess(main, env);
}

function environment(overrides: Readonly<Record<string, string>>): Record<string, string> {
  const stack = testEnv();
  return {
    PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
    BIGQUERY_EMULATOR_HOST: stack.BIGQUERY_EMULATOR_HOST,
    // Empty (unset for the config) when a shared server runs without the Write API.
    BIGQUERY_STORAGE_EMULATOR_HOST: stack.BIGQUERY_STORAGE_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    PORT: '0',
    LOG_LEVEL: 'warn',
    SUBSCRIPTION: 'unused-sub',
    DEAD_LETTER_TOPIC: 'unused-dlq',
    BIGQUERY_DATASET: 'unused',
    BIGQUERY_TABLE: 'rows',
    ...overrides,
  };
}

async function waitUntil(
  condition: () => Promise<boolean>,
  what: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A client on a private BigQuery server (hiding the shared BIGQUERY_EMULATOR_HOST, which the
 * client prefers over apiEndpoint) and a count of the rows and distinct message ids of
 * `dataset.readings` (zero while the table does not exist).
 */
function readingsCounter(
  server: BigQueryServer,
  dataset: string,
): { bq: BigQuery; count: () => Promise<{ rows: number; distinct: number }> } {
  const projectId = testEnv().GOOGLE_CLOUD_PROJECT;
  const shared = process.env['BIGQUERY_EMULATOR_HOST'];
  delete process.env['BIGQUERY_EMULATOR_HOST'];
  const bq = new BigQuery({ projectId, apiEndpoint: server.url });
  process.env['BIGQUERY_EMULATOR_HOST'] = shared;
  const count = async (): Promise<{ rows: number; distinct: number }> => {
    const [rows] = await bq
      .query({
        query: `SELECT COUNT(*) AS n, COUNT(DISTINCT message_id) AS d FROM \`${dataset}.readings\``,
      })
      .catch(() => [[{ n: 0, d: 0 }]]);
    const row = (rows as { n: unknown; d: unknown }[])[0];
    return { rows: Number(row?.n ?? 0), distinct: Number(row?.d ?? 0) };
  };
  return { bq, count };
}

/** Publishes `n` readings to a topic. */
async function publishReadings(topicName: string, n: number): Promise<void> {
  const publisher = pubsub.topic(topicName, {
    batching: { maxMessages: 500, maxMilliseconds: 5 },
  });
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      publisher.publishMessage({
        data: Buffer.from(
          JSON.stringify({ device_id: `d${i % 7}`, ts: new Date().toISOString(), value: i }),
        ),
      }),
    ),
  );
}

let pubsub: PubSub;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(() => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pubsub.close();
});

/**
 * What each end-to-end test needs of its own: a private BigQuery server with its Storage Write
 * API (its faults and counters are the test's alone), a topic with a subscription and a
 * dead-letter topic (deleted afterwards), a dataset name, and the app's variables for them.
 */
async function sinkFixture(prefix: string): Promise<{
  server: BigQueryServer;
  writeApi: BigQueryWriteServer;
  topic: Topic;
  dataset: string;
  env: (overrides: Readonly<Record<string, string>>) => Record<string, string>;
}> {
  const server = await startBigQueryServer({ writeApi: {} });
  cleanups.push(() => server.stop());
  const writeApi = server.writeApi;
  if (writeApi === undefined) throw new Error('writeApi was not started');
  const [topic] = await pubsub.createTopic(uniqueName(prefix));
  const [subscription] = await topic.createSubscription(uniqueName(prefix), {
    ackDeadlineSeconds: 10,
  });
  const [dlq] = await pubsub.createTopic(uniqueName(`${prefix}-dl`));
  cleanups.push(
    () => subscription.delete(),
    () => topic.delete(),
    () => dlq.delete(),
  );
  const dataset = uniqueName(prefix, '_');
  const env = (overrides: Readonly<Record<string, string>>): Record<string, string> =>
    environment({
      BIGQUERY_EMULATOR_HOST: server.url,
      BIGQUERY_STORAGE_EMULATOR_HOST: writeApi.emulatorHost,
      SUBSCRIPTION: subscription.name,
      DEAD_LETTER_TOPIC: dlq.name,
      BIGQUERY_DATASET: dataset,
      BIGQUERY_TABLE: 'readings',
      SCHEMA_FILE: join(appDir, 'schema.example.json'),
      MAPPING_FILE: join(appDir, 'mapping.example.json'),
      ...overrides,
    });
  return { server, writeApi, topic, dataset, env };
}

describe('the bigquery-sink process', () => {
  it('fails startup naming a bad variable (exit 78)', async () => {
    const child = runMain(environment({ UNKNOWN_FIELDS: 'maybe' }));
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('UNKNOWN_FIELDS');
    expect(child.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('fails startup naming BIGQUERY_STORAGE_EMULATOR_HOST rather than write local rows to Google (exit 78)', async () => {
    const child = runMain(environment({ BIGQUERY_STORAGE_EMULATOR_HOST: '' }));
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('BIGQUERY_STORAGE_EMULATOR_HOST');
    expect(child.output()).toContain('WRITER=insertAll');
  }, 60_000);

  it('fails startup naming a dataset id BigQuery would refuse, instead of retrying (exit 78)', async () => {
    const child = runMain(environment({ BIGQUERY_DATASET: 'my-dataset' }));
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('BIGQUERY_DATASET');
    expect(child.output()).toContain('expected a dataset id');
    expect(child.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('fails startup naming SCHEMA_FILE and the bad field (exit 78)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bq-sink-'));
    const file = join(dir, 'schema.json');
    await writeFile(file, JSON.stringify([{ name: 'a', type: 'TEXT' }]));
    const child = runMain(environment({ SCHEMA_FILE: file }));
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('SCHEMA_FILE');
    expect(child.output()).toContain('a: unknown type \\"TEXT\\"');
  }, 60_000);

  it('fails startup naming DEDUP_VIEW when the mapping has no message id column (exit 78)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bq-sink-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'mapping.json');
    await writeFile(file, JSON.stringify({ publishTimeColumn: 'publish_time' }));
    const child = runMain(environment({ DEDUP_VIEW: '{table}_dedup', MAPPING_FILE: file }));
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('DEDUP_VIEW');
    expect(child.output()).toContain('messageIdColumn');
  }, 60_000);

  it('with WRITER=insertAll holds exactly N rows after SIGKILL mid-batch and a restart (insertId de-duplicates)', async () => {
    const { server, topic, dataset, env: sinkEnv } = await sinkFixture('bqsink');
    const port = await findFreePort();
    const env = sinkEnv({
      WRITER: 'insertAll',
      PARTITION_FIELD: 'ts',
      CLUSTERING_FIELDS: 'device_id',
      BATCH_MAX_ITEMS: '200',
      BATCH_MAX_WAIT_MS: '300',
      PORT: String(port),
    });
    const { bq, count } = readingsCounter(server, dataset);
    // The first inserts hang past the kill: they land afterwards, and the redelivered copies of
    // their messages must be de-duplicated by insertId.
    server.faults.inject({ kind: 'insertAll', hangMs: 4_000, count: 2 });
    let child = runMain(env);
    const n = 3_000;
    await publishReadings(topic.name, n);
    await waitUntil(
      async () => (await count()).rows >= 400,
      () => child.output(),
    );
    child.process.kill('SIGKILL');
    await child.exit;
    const atKill = await count();
    expect(atKill.rows).toBeLessThan(n);
    process.stdout.write(`SIGKILL with ${atKill.rows} of ${n} rows written\n`);
    child = runMain(env);
    await waitUntil(
      async () => (await count()).rows >= n,
      () => `at kill ${JSON.stringify(atKill)}: ${child.output()}`,
      90_000,
    );
    // Anything late (the hung inserts, redeliveries) has had time to land.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await count()).toEqual({ rows: n, distinct: n });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('tributary_bigquery_rows_written_total');
    expect(metrics).toContain('tributary_bigquery_request_rows_bucket');
    const stats = server.insertAllStats();
    expect(stats.refused).toBe(0);
    expect(stats.maxRequestRows).toBeLessThanOrEqual(200);
    const [metadata] = await bq.dataset(dataset).table('readings').getMetadata();
    expect(metadata.timePartitioning).toEqual({ type: 'DAY', field: 'ts' });
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 180_000);

  it('with STORAGE_WRITE_STREAM=committed writes every row once when appends lose their answers', async () => {
    const { server, writeApi, topic, dataset, env: sinkEnv } = await sinkFixture('bqeo');
    const port = await findFreePort();
    const env = sinkEnv({
      WRITER: 'storage-write',
      STORAGE_WRITE_STREAM: 'committed',
      INSERT_TIMEOUT_MS: '1000',
      BATCH_MAX_ITEMS: '100',
      BATCH_MAX_WAIT_MS: '200',
      PORT: String(port),
    });
    const { count } = readingsCounter(server, dataset);
    // The server writes these appends, then fails or delays their answers: on the default
    // stream each would be written twice (a bqstore test shows it).
    writeApi.faults.inject({ method: 'AppendRows', code: 14, afterWrite: true, count: 2 });
    writeApi.faults.inject({ method: 'AppendRows', hangMs: 2_000, afterWrite: true });
    const child = runMain(env);
    const n = 1_000;
    await publishReadings(topic.name, n);
    const acked = async (): Promise<number> => {
      // 0 until the app listens.
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (response) => response.text(),
        () => '',
      );
      return [...text.matchAll(/^tributary_messages_acked_total\{[^}]*\} (\d+)/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    };
    await waitUntil(
      async () => (await acked()) >= n,
      () => child.output(),
      90_000,
    );
    expect(await count()).toEqual({ rows: n, distinct: n });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(
      /tributary_bigquery_append_seconds_count\{[^}]*result="landed"[^}]*\} 3\n/,
    );
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 180_000);

  it('with WRITER=storage-write loses nothing across SIGKILL and a restart, and exits 0 on SIGTERM', async () => {
    const { server, writeApi, topic, dataset, env: sinkEnv } = await sinkFixture('bqsw');
    const env = sinkEnv({
      WRITER: 'storage-write',
      BATCH_MAX_ITEMS: '200',
      BATCH_MAX_WAIT_MS: '300',
    });
    const { count } = readingsCounter(server, dataset);
    // The first appends hang past the kill: they land afterwards, and the default stream is
    // at-least-once, so their redelivered messages may be stored twice (never lost).
    writeApi.faults.inject({ method: 'AppendRows', hangMs: 4_000, count: 2 });
    let child = runMain(env);
    const n = 3_000;
    await publishReadings(topic.name, n);
    await waitUntil(
      async () => (await count()).rows >= 400,
      () => child.output(),
    );
    child.process.kill('SIGKILL');
    await child.exit;
    const atKill = await count();
    expect(atKill.distinct).toBeLessThan(n);
    child = runMain(env);
    await waitUntil(
      async () => (await count()).distinct >= n,
      () => `at kill ${JSON.stringify(atKill)}: ${child.output()}`,
      90_000,
    );
    const final = await count();
    expect(final.distinct).toBe(n);
    expect(final.rows).toBeGreaterThanOrEqual(n);
    process.stdout.write(
      `storage-write: SIGKILL at ${atKill.distinct} of ${n}; ${final.rows - n} duplicates\n`,
    );
    // The writer's gRPC connections close on stop: the process exits by itself.
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 180_000);
});
