// The Storage Write writer against raw JSONWriter appends, on one local BigQuery server (REST and
// the gRPC Write API over one DuckDB catalog), same run, same batches, same bound:
//   raw:  the official JSONWriter on the table's `_default` stream: 500-row batches, IN_FLIGHT
//         appends outstanding, each result checked for `error`. Its rows arrive as ours do, with
//         TIMESTAMP text, and it makes them the Date the client's encoder takes (`new Date(ts)`),
//         the least a user of the raw client must do; no validation.
//   ours: createStorageWriteWriter on the `_default` stream, IN_FLIGHT writes of the same batches
//         (maxOutstandingAppends = IN_FLIGHT): validation against the table schema, TIMESTAMP
//         text converted, one outcome per row. Target >= 0.9 of raw.
// For information, same run: the writer with `stream: 'committed'` (exactly-once: one append at
// a time per table), and the insertAll writer with the same batches and bound; bytes on the wire
// per row come from each server's own request counts (AppendRows protobuf, insertAll JSON).
// Rounds alternate (raw first on even rounds), medians reported, fresh tables every round.
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { adapt, managedwriter, protos } from '@google-cloud/bigquery-storage';
import grpc from '@grpc/grpc-js';
import { startBigQueryServer, uniqueName } from '@tributary/local-gcp';
import { median } from '@tributary/local-gcp/bench';
import {
  createBigQueryClient,
  createInsertAllWriter,
  createStorageWriteWriter,
  parseTableSchema,
  type RowToWrite,
  type RowWriter,
  type TableRef,
} from '../src/index.js';
import { TELEMETRY_FIELDS, telemetryRow } from './telemetry.js';

const PROJECT = 'bench-proj';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 50_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const BATCH = 500;
const IN_FLIGHT = 4;

const schema = parseTableSchema([...TELEMETRY_FIELDS]);

const batches = (make: (i: number) => unknown): unknown[][] =>
  Array.from({ length: Math.ceil(ROWS / BATCH) }, (_, b) =>
    Array.from({ length: Math.min(BATCH, ROWS - b * BATCH) }, (_, k) => make(b * BATCH + k)),
  );
const ourBatches = batches((i): RowToWrite => ({
  insertId: `m${String(i)}`,
  row: telemetryRow(i),
})) as RowToWrite[][];
const rawBatches = batches(telemetryRow) as Record<string, unknown>[][];

/** Runs `task` over every batch with `width` at once; rows/s by wall clock and by CPU time. */
async function timed<T>(
  items: readonly T[],
  width: number,
  task: (item: T) => Promise<void>,
): Promise<{ wall: number; cpu: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < items.length; i = next++) await task(items[i] as T);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { wall: ROWS / seconds, cpu: ROWS / ((used.user + used.system) / 1e6) };
}

const server = await startBigQueryServer({ writeApi: {} });
const bq = createBigQueryClient({ projectId: PROJECT, apiEndpoint: server.apiEndpoint });
const writeApi = server.writeApi;
if (writeApi === undefined) throw new Error('writeApi was not started');
const client = new managedwriter.WriterClient({
  projectId: PROJECT,
  servicePath: writeApi.host,
  port: writeApi.port,
  sslCreds: grpc.credentials.createInsecure(),
  universeDomain: 'googleapis.com',
});

async function rawAppends(table: TableRef): Promise<{ wall: number; cpu: number }> {
  const streamId = `projects/${table.projectId}/datasets/${table.datasetId}/tables/${table.tableId}/streams/_default`;
  const { tableSchema } = await client.getWriteStream({
    streamId,
    view: protos.google.cloud.bigquery.storage.v1.WriteStreamView.FULL,
  });
  if (tableSchema === null || tableSchema === undefined) throw new Error('no table schema');
  const connection = await client.createStreamConnection({ streamId });
  connection.onConnectionError(() => undefined);
  const writer = new managedwriter.JSONWriter({
    connection,
    protoDescriptor: adapt.convertStorageSchemaToProto2Descriptor(tableSchema, 'root'),
  });
  try {
    return await timed(rawBatches, IN_FLIGHT, async (rows) => {
      const result = await writer
        .appendRows(rows.map((r) => ({ ...r, ts: new Date(String(r['ts'])) })))
        .getResult();
      if (result.error !== null && result.error !== undefined) {
        throw new Error(`raw append failed: ${result.error.message ?? ''}`);
      }
    });
  } finally {
    writer.close();
  }
}

async function ours(writer: RowWriter, table: TableRef): Promise<{ wall: number; cpu: number }> {
  return timed(ourBatches, IN_FLIGHT, async (rows) => {
    const outcomes = await writer.write(table, rows);
    const failed = outcomes.find((o) => o.kind !== 'ok');
    if (failed !== undefined) throw new Error(`a row was not written: ${JSON.stringify(failed)}`);
  });
}

const results = { raw: [], ours: [], committed: [], insertAll: [] } as Record<
  'raw' | 'ours' | 'committed' | 'insertAll',
  { wall: number; cpu: number }[]
>;
const wireBytesPerRow = { ours: [] as number[], insertAll: [] as number[] };
async function fresh(prefix: string): Promise<TableRef> {
  const [dataset] = await bq.createDataset(uniqueName(prefix, '_'));
  await dataset.createTable('rows', { schema: { fields: schema.fields as never } });
  return { projectId: PROJECT, datasetId: dataset.id ?? '', tableId: 'rows' };
}

const writer = createStorageWriteWriter({
  projectId: PROJECT,
  emulatorHost: writeApi.emulatorHost,
  maxOutstandingAppends: IN_FLIGHT,
});
const exactlyOnce = createStorageWriteWriter({
  projectId: PROJECT,
  emulatorHost: writeApi.emulatorHost,
  stream: 'committed',
  maxOutstandingAppends: IN_FLIGHT,
});
const insertAll = createInsertAllWriter({ bigquery: bq, maxConcurrentRequests: IN_FLIGHT });

const loadStart = loadavg()[0] ?? 0;
for (let round = 0; round < ROUNDS; round += 1) {
  const runRaw = async (): Promise<void> => {
    results.raw.push(await rawAppends(await fresh('swraw')));
  };
  const runOurs = async (): Promise<void> => {
    const table = await fresh('swours');
    const before = writeApi.appendStats();
    results.ours.push(await ours(writer, table));
    const after = writeApi.appendStats();
    wireBytesPerRow.ours.push((after.bytes - before.bytes) / (after.rows - before.rows));
  };
  if (round % 2 === 0) {
    await runRaw();
    await runOurs();
  } else {
    await runOurs();
    await runRaw();
  }
  results.committed.push(await ours(exactlyOnce, await fresh('swcommitted')));
  const table = await fresh('swinsertall');
  server.resetInsertAllStats();
  results.insertAll.push(await ours(insertAll, table));
  const stats = server.insertAllStats();
  wireBytesPerRow.insertAll.push(stats.bytes / stats.rows);
}
writer.close();
exactlyOnce.close();
client.close();
await server.stop();

const m = (side: keyof typeof results, key: 'wall' | 'cpu'): number =>
  median(results[side].map((r) => r[key]));
const spread = (side: keyof typeof results): string =>
  results[side].map((r) => Math.round(r.wall).toLocaleString('en-US')).join(', ');
const context = `${String(ROWS)} rows of ~200 B in ${String(BATCH)}-row batches, ${String(IN_FLIGHT)} in flight, ${String(ROUNDS)} rounds (medians), load average ${loadStart.toFixed(1)} at start on ${String(availableParallelism())} cores`;
const report = (result: Record<string, unknown>): void => {
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
};
report({
  name: 'Storage Write writer (_default stream) vs raw JSONWriter appends',
  value: Math.round(m('ours', 'wall')),
  unit: 'rows/s',
  baseline: Math.round(m('raw', 'wall')),
  ratio: Number((m('ours', 'wall') / m('raw', 'wall')).toFixed(2)),
  target: '>= 0.9',
  notes: `${context}; rounds ours ${spread('ours')}, raw ${spread('raw')}; CPU-time ratio ${(m('ours', 'cpu') / m('raw', 'cpu')).toFixed(2)}`,
});
report({
  name: "Storage Write writer, stream: 'committed' (exactly-once), vs raw JSONWriter",
  value: Math.round(m('committed', 'wall')),
  unit: 'rows/s',
  baseline: Math.round(m('raw', 'wall')),
  ratio: Number((m('committed', 'wall') / m('raw', 'wall')).toFixed(2)),
  notes: `information; one append at a time per table; rounds ${spread('committed')}`,
});
report({
  name: 'insertAll writer vs Storage Write writer (same batches, same bound)',
  value: Math.round(m('insertAll', 'wall')),
  unit: 'rows/s',
  baseline: Math.round(m('ours', 'wall')),
  ratio: Number((m('insertAll', 'wall') / m('ours', 'wall')).toFixed(2)),
  notes: `information; bytes on the wire per row: insertAll ${median(wireBytesPerRow.insertAll).toFixed(0)} (JSON), Storage Write ${median(wireBytesPerRow.ours).toFixed(0)} (protobuf); rounds insertAll ${spread('insertAll')}`,
});
