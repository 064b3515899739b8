// The app end to end (Pub/Sub emulator -> buildBigQuerySink -> our local BigQuery server) against
// a raw loop on the official clients doing the same work, same emulator, same server, same run:
//   raw: a @google-cloud/pubsub subscriber (flow control at the app's 5,000 messages) collects
//        messages; every 500 (the app's BATCH_MAX_ITEMS and INSERT_MAX_ROWS) it parses them,
//        adds message_id, sends one raw insertAll request with insertId = message id through
//        @google-cloud/bigquery (at most 2 in flight, the app's MAX_CONCURRENT_FLUSHES), then
//        acks them. No mapping, no validation, no retries, no dead letters.
//   ours: the app's composition with its defaults (envelope unwrap, mapping, validation,
//        BatchingService, ack after the insert) and WRITER=insertAll, the raw side's API.
// Each side drains its own subscription of one topic (identical backlogs of MESSAGES), into its
// own table; rounds alternate (raw first on even rounds), medians reported. Target >= 0.8.
// Same rounds, a third subscription: the app with WRITER=storage-write (the Storage Write API's
// _default stream on the same server's gRPC port), against the app with WRITER=insertAll: rows/s
// and bytes on the wire per row (each server's own count of request bytes and rows).
// For information, same run: the raw BigQuery client alone sending the same rows in 500-row
// requests (2 in flight) straight to the same server, and the same bodies to a node http server
// that parses the JSON and discards it (the client + HTTP ceiling).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BigQuery, Table } from '@google-cloud/bigquery';
import type { Message as ClientMessage, PubSub, Subscription } from '@google-cloud/pubsub';
import { createBigQueryClient } from '@tributary/bqstore';
import {
  bqName,
  median,
  PROJECT,
  publishBacklog,
  report,
  row,
  rssSampler,
  SCHEMA,
  sleep,
  startOurSink,
  startServers,
} from './support.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 20_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 500;
const IN_FLIGHT = 2;
const stops: (() => Promise<unknown>)[] = [];

async function rawPipeline(subscription: Subscription, table: Table): Promise<number> {
  const sub = subscription.pubsub.subscription(subscription.name, {
    flowControl: { maxMessages: 5_000, allowExcessMessages: false },
  });
  const pending: ClientMessage[] = [];
  let inFlight = 0;
  let acked = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = (force: boolean): void => {
      while (inFlight < IN_FLIGHT && (pending.length >= BATCH || (force && pending.length > 0))) {
        const batch = pending.splice(0, BATCH);
        inFlight++;
        table
          .insert(
            batch.map((m) => ({
              insertId: m.id,
              json: { ...(JSON.parse(m.data.toString('utf8')) as object), message_id: m.id },
            })),
            { raw: true, partialRetries: 0 },
          )
          .then(
            () => {
              for (const m of batch) m.ack();
              acked += batch.length;
              inFlight--;
              if (acked >= MESSAGES) resolve();
              else pump(false);
            },
            (error: unknown) => {
              reject(error instanceof Error ? error : new Error(String(error)));
            },
          );
      }
    };
    const timer = setInterval(() => {
      pump(true);
    }, 1_000);
    timer.unref();
    sub.on('error', reject);
    sub.on('message', (m: ClientMessage) => {
      pending.push(m);
      pump(false);
    });
  });
  const elapsed = performance.now() - started;
  await sub.close();
  return MESSAGES / (elapsed / 1000);
}

async function ourPipeline(
  pubsub: PubSub,
  bigquery: BigQuery,
  subscription: Subscription,
  deadLetterTopic: string,
  datasetId: string,
  tableId: string,
  env: Record<string, string>,
): Promise<number> {
  const started = performance.now();
  const sink = await startOurSink({
    pubsub,
    bigquery,
    subscription: subscription.name,
    deadLetterTopic,
    datasetId,
    tableId,
    env,
  });
  while (sink.acked() < MESSAGES) await sleep(5);
  const elapsed = performance.now() - started;
  await sink.stop();
  if (sink.rowsWritten() !== MESSAGES) throw new Error(`ours wrote ${sink.rowsWritten()} rows`);
  return MESSAGES / (elapsed / 1000);
}

/** The raw BigQuery client alone: the same rows in BATCH-row requests, IN_FLIGHT at once. */
async function insertOnly(table: Table): Promise<number> {
  const requests = Array.from({ length: MESSAGES / BATCH }, (_, r) =>
    Array.from({ length: BATCH }, (_, k) => {
      const insertId = randomUUID();
      return { insertId, json: { ...row(r * BATCH + k), message_id: insertId } };
    }),
  );
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let r = requests[next++]; r !== undefined; r = requests[next++]) {
        await table.insert(r, { raw: true, partialRetries: 0 });
      }
    }),
  );
  return MESSAGES / ((performance.now() - started) / 1000);
}

async function startDiscardServer(): Promise<string> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (chunks.length > 0) JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = '{"kind":"bigquery#tableDataInsertAllResponse"}';
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const { pubsub, bigquery, server: bigqueryServer } = await startServers(stops);
  const writeApi = bigqueryServer.writeApi;
  if (writeApi === undefined) throw new Error('the Storage Write API server did not start');
  const insertAllEnv = { WRITER: 'insertAll' };
  const storageWriteEnv = {
    WRITER: 'storage-write',
    BIGQUERY_STORAGE_EMULATOR_HOST: writeApi.emulatorHost,
  };
  const rss = rssSampler();
  const datasetId = bqName('bench');
  const [dataset] = await bigquery.createDataset(datasetId);
  const newTable = async (): Promise<Table> =>
    (await dataset.createTable(bqName('t'), { schema: { fields: SCHEMA.fields as never } }))[0];
  const [topic] = await pubsub.createTopic(bqName('bench'));
  const [deadLetters] = await pubsub.createTopic(bqName('bench-dl'));
  stops.push(
    () => topic.delete(),
    () => deadLetters.delete(),
  );
  const subscriptions: { ours: Subscription; raw: Subscription; storageWrite: Subscription }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const [ours] = await topic.createSubscription(bqName('ours'));
    const [raw] = await topic.createSubscription(bqName('raw'));
    const [storageWrite] = await topic.createSubscription(bqName('sw'));
    stops.push(
      () => ours.delete(),
      () => raw.delete(),
      () => storageWrite.delete(),
    );
    subscriptions.push({ ours, raw, storageWrite });
  }
  const publishStarted = performance.now();
  await publishBacklog(pubsub, topic, MESSAGES);
  const publishSeconds = (performance.now() - publishStarted) / 1000;
  const load = [loadavg()[0]?.toFixed(1) ?? '?'];

  const oursRates: number[] = [];
  const rawRates: number[] = [];
  const storageWriteRates: number[] = [];
  const wireBytesPerRow = { insertAll: [] as number[], storageWrite: [] as number[] };
  /** Drains `subscription` through the app with `env` into a fresh table; checks every row. */
  const runApp = async (
    subscription: Subscription,
    env: Record<string, string>,
  ): Promise<number> => {
    const table = await newTable();
    const rate = await ourPipeline(
      pubsub,
      bigquery,
      subscription,
      deadLetters.name,
      datasetId,
      table.id ?? '',
      env,
    );
    const [[{ n }]] = (await bigquery.query(
      `SELECT COUNT(DISTINCT message_id) AS n FROM \`${PROJECT}.${datasetId}.${table.id ?? ''}\``,
    )) as unknown as [[{ n: number }]];
    if (n !== MESSAGES)
      throw new Error(`${env['WRITER'] ?? ''}: ${n} distinct rows, expected ${MESSAGES}`);
    return rate;
  };
  for (const [round, { ours, raw, storageWrite }] of subscriptions.entries()) {
    const runOurs = async (): Promise<void> => {
      bigqueryServer.resetInsertAllStats();
      oursRates.push(await runApp(ours, insertAllEnv));
      const stats = bigqueryServer.insertAllStats();
      wireBytesPerRow.insertAll.push(stats.bytes / stats.rows);
    };
    const runStorageWrite = async (): Promise<void> => {
      const before = writeApi.appendStats();
      storageWriteRates.push(await runApp(storageWrite, storageWriteEnv));
      const after = writeApi.appendStats();
      wireBytesPerRow.storageWrite.push((after.bytes - before.bytes) / (after.rows - before.rows));
    };
    const runRaw = async (): Promise<void> => {
      rawRates.push(await rawPipeline(raw, await newTable()));
    };
    if (round % 2 === 0) {
      await runRaw();
      await runOurs();
      await runStorageWrite();
    } else {
      await runStorageWrite();
      await runOurs();
      await runRaw();
    }
    load.push(loadavg()[0]?.toFixed(1) ?? '?');
  }
  const value = Math.round(median(oursRates));
  const baseline = Math.round(median(rawRates));
  report({
    name: 'bigquery-sink end to end: Pub/Sub emulator -> app -> local BigQuery server',
    value,
    unit: 'rows/s',
    baseline,
    ratio: Number((value / baseline).toFixed(2)),
    target: '>= 0.8',
    peakRssMb: rss.peakMb(),
    notes: `${MESSAGES} msgs of ~200 B per side and round, 500-row requests, 2 in flight; median of ${ROUNDS} alternating rounds (ours ${oursRates.map(Math.round).join('/')}, raw ${rawRates.map(Math.round).join('/')}); raw = Pub/Sub subscriber + JSON.parse + table.insert + ack; backlog published in ${publishSeconds.toFixed(1)} s; load avg ${load.join(' -> ')} on ${String(availableParallelism())} cores`,
  });

  const storageWriteValue = Math.round(median(storageWriteRates));
  report({
    name: 'bigquery-sink end to end: WRITER=storage-write against WRITER=insertAll',
    value: storageWriteValue,
    unit: 'rows/s',
    baseline: value,
    ratio: Number((storageWriteValue / value).toFixed(2)),
    notes: `same backlog, server and bounds, one subscription each; median of ${ROUNDS} rounds (storage-write ${storageWriteRates.map(Math.round).join('/')}, insertAll ${oursRates.map(Math.round).join('/')}); bytes on the wire per row: Storage Write ${median(wireBytesPerRow.storageWrite).toFixed(0)} (AppendRows protobuf), insertAll ${median(wireBytesPerRow.insertAll).toFixed(0)} (JSON)`,
  });

  // For information: the BigQuery client alone, to our server and to a parse-and-discard server.
  const discard = createBigQueryClient({
    projectId: PROJECT,
    apiEndpoint: await startDiscardServer(),
  });
  const discardTable = discard.dataset(datasetId).table('discard');
  const serverRates: number[] = [];
  const discardRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      discardRates.push(await insertOnly(discardTable));
      serverRates.push(await insertOnly(await newTable()));
    } else {
      serverRates.push(await insertOnly(await newTable()));
      discardRates.push(await insertOnly(discardTable));
    }
  }
  const server = Math.round(median(serverRates));
  const ceiling = Math.round(median(discardRates));
  report({
    name: 'bigquery-sink: raw BigQuery client alone, same rows and request sizes (information)',
    value: server,
    unit: 'rows/s',
    baseline: ceiling,
    ratio: Number((server / ceiling).toFixed(2)),
    target: 'ceiling',
    notes: `value = straight to our local server, no Pub/Sub; baseline = same client and bodies to a parse-and-discard node http server; ${MESSAGES} rows per round, 500-row requests, 2 in flight, median of ${ROUNDS} (server ${serverRates.map(Math.round).join('/')}, discard ${discardRates.map(Math.round).join('/')}); ours end to end / server alone = ${(value / server).toFixed(2)}`,
  });
  rss.stop();
  await dataset.delete({ force: true });
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
