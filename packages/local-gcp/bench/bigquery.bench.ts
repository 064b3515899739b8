// The local BigQuery server through the official client, against same-run raw baselines:
//   1. insertAll throughput: 500-row raw requests (own insertIds) through table.insert, 4 in
//      flight, against the SAME client sending the SAME bodies to a trivial node http server that
//      parses the JSON and discards it. Rounds alternate raw / ours; medians are reported.
//   2. query latency over 1M rows: the rows of part 1 plus a top-up through server.loadRows (the
//      server's direct write path: same validation and DuckDB write, no HTTP, no insertId window;
//      pushing 1M rows through insertAll would take most of the time budget). Then a GROUP BY
//      aggregate and a WHERE + ORDER BY LIMIT query through bq.query, against the same SQL run
//      straight on an embedded DuckDB holding the same 1M rows (built with range()).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { BigQuery, type Table } from '@google-cloud/bigquery';
import { startBigQueryServer } from '../src/bigquery/server.js';
import { median } from '../src/bench/index.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';

const PROJECT = 'bench-proj';
const DATASET = 'bench';
const ROWS_PER_REQUEST = 500;
const REQUESTS_PER_ROUND = 60; // 30k rows per round and side
const ROUNDS = 3;
const IN_FLIGHT = 4;
const TOTAL_ROWS = 1_000_000;
const DEVICES = 1_000;
const QUERY_RUNS = 5;
const BASE_SECONDS = 1_767_225_600; // 2026-01-01T00:00:00Z

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);

function row(i: number): Record<string, unknown> {
  return {
    deviceId: `dev-${i % DEVICES}`,
    ts: new Date((BASE_SECONDS + i) * 1000).toISOString(),
    temp: (i % 400) / 10,
    count: i % 100,
    ok: i % 3 === 0,
  };
}

const SCHEMA = 'deviceId:STRING,ts:TIMESTAMP,temp:FLOAT,count:INTEGER,ok:BOOLEAN';

function report(result: Record<string, unknown>): void {
  console.log(
    `BENCH ${JSON.stringify({ ...result, peakRssMb: Math.round(peakRss / 1024 / 1024) })}`,
  );
}

// ---- raw baseline server: parse and discard --------------------------------------------------

async function startDiscardServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (chunks.length > 0) JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = '{"kind":"bigquery#tableDataInsertAllResponse"}';
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': body.length,
      });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

// ---- part 1: insertAll throughput --------------------------------------------------------------

let nextRow = 0;
function nextBatch(): { insertId: string; json: Record<string, unknown> }[] {
  return Array.from({ length: ROWS_PER_REQUEST }, () => {
    const i = nextRow++;
    return { insertId: randomUUID(), json: row(i) };
  });
}

async function insertRound(
  table: Table,
  batches: readonly ReturnType<typeof nextBatch>[],
): Promise<number> {
  let index = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (index < batches.length) {
        const batch = batches[index++];
        if (batch !== undefined) await table.insert(batch, { raw: true, partialRetries: 0 });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return (batches.length * ROWS_PER_REQUEST) / seconds;
}

const server = await startBigQueryServer();
const discard = await startDiscardServer();
const ours = new BigQuery({ projectId: PROJECT, apiEndpoint: server.apiEndpoint });
const raw = new BigQuery({ projectId: PROJECT, apiEndpoint: discard.url });
const [dataset] = await ours.createDataset(DATASET);
const [table] = await dataset.createTable('readings', { schema: SCHEMA });
const rawTable = raw.dataset(DATASET).table('readings');

// Warm-up (JIT, sockets, DuckDB): one request each, not counted.
await insertRound(table, [nextBatch()]);
await insertRound(rawTable, [nextBatch()]);
nextRow -= ROWS_PER_REQUEST; // the raw side wrote nothing

const oursRates: number[] = [];
const rawRates: number[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  const batches = Array.from({ length: REQUESTS_PER_ROUND }, () => nextBatch());
  // The raw side gets copies with the same bodies; alternate which side goes first.
  if (round % 2 === 0) {
    rawRates.push(await insertRound(rawTable, batches));
    oursRates.push(await insertRound(table, batches));
  } else {
    oursRates.push(await insertRound(table, batches));
    rawRates.push(await insertRound(rawTable, batches));
  }
}
const insertedViaApi = nextRow;
const oursRate = Math.round(median(oursRates));
const rawRate = Math.round(median(rawRates));
report({
  name: 'bigquery insertAll via official client (500-row raw requests, 4 in flight)',
  value: oursRate,
  unit: 'rows/s',
  baseline: rawRate,
  ratio: Math.round((oursRate / rawRate) * 100) / 100,
  notes: `median of ${ROUNDS} rounds x ${REQUESTS_PER_ROUND * ROWS_PER_REQUEST} rows; baseline = same client and bodies to a parse-and-discard node http server; rounds ours=${oursRates.map(Math.round).join('/')} raw=${rawRates.map(Math.round).join('/')}`,
});

// ---- part 2: query latency over 1M rows ---------------------------------------------------------

const loadStarted = performance.now();
for (let start = insertedViaApi; start < TOTAL_ROWS; start += 50_000) {
  const end = Math.min(TOTAL_ROWS, start + 50_000);
  await server.loadRows(
    PROJECT,
    DATASET,
    'readings',
    Array.from({ length: end - start }, (_, k) => row(start + k)),
  );
}
const loadSeconds = (performance.now() - loadStarted) / 1000;
const [[{ n }]] = (await ours.query(
  `SELECT COUNT(*) AS n FROM ${DATASET}.readings`,
)) as unknown as [[{ n: number }]];
if (n !== TOTAL_ROWS) throw new Error(`expected ${TOTAL_ROWS} rows, found ${n}`);

// The same rows straight in DuckDB, for the raw baseline.
const duck = await (await DuckDBInstance.create(':memory:')).connect();
await duck.run("SET TimeZone = 'UTC'");
await duck.run(`CREATE TABLE readings AS SELECT
    'dev-' || (i % ${DEVICES}) AS deviceId,
    make_timestamptz((${BASE_SECONDS} + i) * 1000000) AS ts,
    (i % 400) / 10.0 AS temp,
    i % 100 AS count,
    i % 3 = 0 AS ok
  FROM range(${TOTAL_ROWS}) t(i)`);

const queries = [
  {
    name: 'GROUP BY aggregate',
    bigquery: `SELECT deviceId, COUNT(*) AS n, AVG(temp) AS mean, MAX(ts) AS last, SUM(count) AS total FROM \`${PROJECT}.${DATASET}.readings\` GROUP BY deviceId ORDER BY deviceId`,
    duckdb:
      'SELECT deviceId, COUNT(*) AS n, AVG(temp) AS mean, MAX(ts) AS last, SUM(count) AS total FROM readings GROUP BY deviceId ORDER BY deviceId',
    rows: DEVICES,
  },
  {
    name: 'WHERE + ORDER BY LIMIT',
    bigquery: `SELECT deviceId, ts, temp FROM ${DATASET}.readings WHERE temp > 35 AND count = 77 ORDER BY ts DESC LIMIT 100`,
    duckdb:
      'SELECT deviceId, ts, temp FROM readings WHERE temp > 35 AND count = 77 ORDER BY ts DESC LIMIT 100',
    rows: 100,
  },
];

for (const query of queries) {
  const oursMs: number[] = [];
  const rawMs: number[] = [];
  for (let run = 0; run <= QUERY_RUNS; run += 1) {
    let started = performance.now();
    const [rows] = await ours.query(query.bigquery);
    const oursElapsed = performance.now() - started;
    if (rows.length !== query.rows) throw new Error(`${query.name}: ${rows.length} rows`);
    started = performance.now();
    const reader = await duck.runAndReadAll(query.duckdb);
    reader.getRows();
    const rawElapsed = performance.now() - started;
    if (run > 0) {
      oursMs.push(oursElapsed);
      rawMs.push(rawElapsed);
    }
  }
  const value = Math.round(median(oursMs) * 10) / 10;
  const baseline = Math.round(median(rawMs) * 10) / 10;
  report({
    name: `bigquery query over 1M rows: ${query.name} (bq.query)`,
    value,
    unit: 'ms',
    baseline,
    ratio: Math.round((baseline / value) * 100) / 100,
    notes: `median of ${QUERY_RUNS} after 1 warm-up; ${query.rows} result rows; baseline = same SQL on an embedded DuckDB, no HTTP; ratio = baseline/value; ${insertedViaApi} rows via insertAll + ${TOTAL_ROWS - insertedViaApi} via loadRows in ${loadSeconds.toFixed(1)} s`,
  });
}

clearInterval(sampler);
await server.stop();
await new Promise<void>((resolve) => {
  discard.server.close(() => {
    resolve();
  });
});
duck.closeSync();
