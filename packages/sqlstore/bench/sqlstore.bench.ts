// The SQL sink path (in-memory broker -> BatchingService -> event row transform -> EventStore:
// one INSERT … ON DUPLICATE KEY UPDATE per batch) against raw mysql2 multi-row INSERTs of the same
// rows in the same batches, same pool size and concurrency, same server, same run. Rounds
// alternate; medians. Target: >= 0.8 of the raw rows/s.
// Run: npm run bench -- sqlstore (MariaDB on MYSQL_URL, default mysql://root@127.0.0.1:3306/test).
import { availableParallelism, loadavg } from 'node:os';
import { createBatchingService, createMessage } from '@tributary/messagepipeline';
import { createInMemoryBroker } from '@tributary/messagepipeline/broker';
import {
  createEventStore,
  createMysqlPool,
  eventRowTransformer,
  toEventRow,
} from '../src/index.js';
import { median } from '@tributary/local-gcp/bench';

const MYSQL_URL = process.env['MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 50_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 500;
const CONCURRENCY = 2;

const payloads = Array.from({ length: EVENTS }, (_, i) =>
  Buffer.from(
    JSON.stringify({
      id: `ev-${i}`,
      type: i % 3 === 0 ? 'page_view' : 'click',
      source: 'web',
      user_id: `u${i % 1000}`,
      timestamp: new Date(1_700_000_000_000 + i).toISOString(),
      data: { i, page: '/checkout', ms: 123 },
    }),
  ),
);

const pool = createMysqlPool({ url: MYSQL_URL, connectionLimit: CONCURRENCY });
let tableCounter = 0;

async function freshTable(): Promise<string> {
  const table = `bench_sql_${process.pid}_${++tableCounter}`;
  await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema_version\``);
  const store = createEventStore({ pool, table });
  await store.start(); // migrate outside the timed part
  await store.stop();
  return table;
}

async function dropTable(table: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema_version\``);
}

/** Ours: messages through the batching service into the event store; rows/s until all acked. */
async function ours(): Promise<number> {
  const table = await freshTable();
  const broker = createInMemoryBroker();
  broker.createTopic('raw');
  broker.createSubscription('sql', {
    topic: 'raw',
    maxBacklogMessages: EVENTS + 1,
    maxBacklogBytes: 1024 * 1024 * 1024,
  });
  const producer = broker.producer('raw');
  await Promise.all(payloads.map((data) => producer.publish({ data })));
  const store = createEventStore({ pool, table, migrate: false });
  let acked = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const service = createBatchingService({
    stage: 'bench',
    consumer: broker.consumer('sql', { maxPrefetchMessages: 1000 }),
    transformer: eventRowTransformer,
    processor: store.write,
    maxItems: BATCH,
    maxWaitMs: 50,
    maxConcurrentFlushes: CONCURRENCY,
    observer: (event) => {
      if (event.type === 'acked' && ++acked === EVENTS) resolveDone();
      if (event.type === 'nacked' || event.type === 'dead-lettered') {
        throw new Error(`unexpected ${event.type}`);
      }
    },
  });
  await store.start();
  const startedAt = performance.now();
  await service.start();
  await done;
  const seconds = (performance.now() - startedAt) / 1000;
  await service.stop();
  await broker.close();
  await dropTable(table);
  return EVENTS / seconds;
}

/** Raw: the same rows (decoded before the clock starts), plain multi-row INSERTs, 2 at a time. */
async function raw(): Promise<number> {
  const table = await freshTable();
  const rows = payloads.map((data, i) => {
    const row = toEventRow(createMessage({ id: `m${i}`, data }));
    return [row.id, row.type, row.source, row.userId, row.data, row.createdAt, row.receivedAt];
  });
  const batches: (typeof rows)[] = [];
  for (let i = 0; i < rows.length; i += BATCH) batches.push(rows.slice(i, i + BATCH));
  const sql = `INSERT INTO \`${table}\` (id, type, source, user_id, data, created_at, received_at) VALUES ?`;
  const startedAt = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        await pool.query(sql, [batch]);
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  await dropTable(table);
  return EVENTS / seconds;
}

try {
  await ours(); // warm-up, both
  await raw();
  const oursRates: number[] = [];
  const rawRates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    oursRates.push(await ours());
    rawRates.push(await raw());
  }
  const value = Math.round(median(oursRates));
  const baseline = Math.round(median(rawRates));
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  process.stdout.write(
    `BENCH ${JSON.stringify({
      name: `sql sink, ${EVENTS} events, batches of ${BATCH}, ${CONCURRENCY} at once`,
      value,
      unit: 'rows/s',
      baseline,
      ratio: Math.round((value / baseline) * 100) / 100,
      target: '>= 0.8',
      peakRssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
      notes: `medians of ${ROUNDS} alternating rounds; ours ${oursRates.map(Math.round).join('/')}, raw ${rawRates.map(Math.round).join('/')}; raw: plain INSERT of pre-decoded rows; load ${load} on ${availableParallelism()} cores`,
    })}\n`,
  );
} finally {
  await pool.end();
}
process.exit(0);
