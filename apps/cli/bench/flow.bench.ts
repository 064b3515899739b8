// The whole flow on embedded defaults (what `npm start` runs) at a high device rate, next to the
// raw ceiling of each hop measured in the same run, at the same rate and bounds:
// - MQTT: aedes in this process, a bare mqtt.js QoS 1 subscriber, the same simulator;
// - the bus: a bare publish + consume loop over the in-memory broker;
// - BigQuery: the official client's insertAll of the flow's rows, 500 per request, 2 at a time
//   (the sink's defaults), into our local server in this process.
// The flow: sustained msg/s from devices to rows over the sending window, each hop's rate,
// p50/p99 device -> row (when the local BigQuery stored it), peak RSS.
// BENCH_RATE (default 20000 msg/s offered) and BENCH_SECONDS (default 15) change the load.
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { startBigQueryServer } from '@tributary/local-gcp';
import { silentLogger } from '@tributary/messagepipeline';
import { createInMemoryBroker } from '@tributary/messagepipeline/broker';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { createFleet, telemetry } from '../src/flow/devices.js';
import { TABLE_SCHEMA } from '../src/flow/flow-files.js';
import { startLocalFlow } from '../src/flow/local-flow.js';
import { snapshot, type FlowSnapshot } from '../src/flow/progress.js';
import { startSimulator } from '../src/flow/simulator.js';
import { quantile } from '../src/flow/summary.js';

const RATE = Number(process.env['BENCH_RATE'] ?? 20_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 15);
const devices = createFleet(200);
const emit = (result: object): void => {
  console.log(`BENCH ${JSON.stringify(result)}`);
};

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** Raw MQTT hop: the simulator into aedes, a bare subscriber counting deliveries. */
async function rawMqtt(): Promise<number> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const subscriber = await connectAsync(url, { clientId: 'raw-sub', clean: true });
  let received = 0;
  subscriber.on('message', () => {
    received++;
  });
  await subscriber.subscribeAsync('devices/+/telemetry', { qos: 1 });
  const started = performance.now();
  const simulator = await startSimulator({
    mqttUrl: url,
    devices,
    ratePerSecond: RATE,
    durationMs: SECONDS * 1_000,
    badShare: 0,
    oversizedBytes: 0,
  });
  await simulator.done;
  const sent = simulator.sent();
  while (received < sent && performance.now() - started < SECONDS * 1_000 + 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const rate = received / ((performance.now() - started) / 1_000);
  await subscriber.endAsync();
  await new Promise<void>((resolve) => {
    aedes.close(() => {
      resolve();
    });
  });
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return rate;
}

/** Raw bus hop: publish and consume through the in-memory broker, one hop, no work. */
async function rawBroker(messages: number): Promise<number> {
  const broker = createInMemoryBroker({ logger: silentLogger });
  broker.createTopic('t');
  broker.createSubscription('s', { topic: 't' });
  const producer = broker.producer('t');
  const consumer = broker.consumer('s', { maxPrefetchMessages: 1_000 });
  const data = new TextEncoder().encode(JSON.stringify(telemetry('dev-0001', 1, new Date())));
  const started = performance.now();
  const consuming = (async () => {
    let n = 0;
    for await (const message of consumer) {
      message.ack();
      if (++n === messages) break;
    }
  })();
  for (let i = 0; i < messages; i++)
    await producer.publish({ data, attributes: { deviceId: 'dev-0001' } });
  await consuming;
  const rate = messages / ((performance.now() - started) / 1_000);
  await broker.close();
  return rate;
}

/** Raw BigQuery hop: the flow's rows, 500 per insertAll, 2 in flight, into our local server. */
async function rawBigQuery(rows: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'flow-bench-bq-'));
  const server = await startBigQueryServer({ host: '127.0.0.1', port: 0, dataDir: dir });
  const bigquery = new BigQuery({ projectId: 'bench', apiEndpoint: server.apiEndpoint });
  const [dataset] = await bigquery.createDataset('raw');
  const [table] = await dataset.createTable('telemetry', {
    schema: {
      fields: [
        ...TABLE_SCHEMA,
        { name: 'message_id', type: 'STRING' },
        { name: 'publish_time', type: 'TIMESTAMP' },
        { name: 'ingest_time', type: 'TIMESTAMP' },
      ] as never,
    },
  });
  const batches = Math.ceil(rows / 500);
  const make = (b: number) =>
    Array.from({ length: 500 }, (_, i) => {
      const seq = b * 500 + i;
      const now = new Date().toISOString();
      return {
        insertId: `r${String(seq)}`,
        json: {
          ...telemetry(`dev-${String(seq % 200).padStart(4, '0')}`, seq, new Date()),
          enrichment: { device: { name: 'sensor', site: 'north', model: 'th-200' } },
          message_id: `m${String(seq)}`,
          publish_time: now,
          ingest_time: now,
        },
      };
    });
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches) {
      const b = next++;
      await table.insert(make(b), { raw: true, partialRetries: 0 });
    }
  };
  await Promise.all([worker(), worker()]);
  const rate = (batches * 500) / ((performance.now() - started) / 1_000);
  await server.stop();
  await rm(dir, { recursive: true, force: true });
  return rate;
}

/** The flow, end to end, at RATE for SECONDS. */
async function flow(): Promise<{
  offered: number;
  rowsPerSecond: number;
  hops: Record<string, number>;
  backlog: Record<string, number>;
  p50: number;
  p99: number;
  drainSeconds: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'flow-bench-'));
  const running = await startLocalFlow({
    dataDir: dir,
    env: {},
    devices,
    logger: silentLogger,
    maxPayloadBytes: 64 * 1024,
    batchMaxWaitMs: 1_000,
  });
  while (!running.ingestion.ingestion.consumer.health().ready) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const started = performance.now();
  const simulator = await startSimulator({
    mqttUrl: running.mqttUrl,
    devices,
    ratePerSecond: RATE,
    durationMs: SECONDS * 1_000,
    badShare: 0,
    oversizedBytes: 0,
  });
  // The sending window, from its third second (the start-up ramp left out) to its end.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const from: FlowSnapshot = await snapshot(running, simulator);
  await simulator.done;
  const to: FlowSnapshot = await snapshot(running, simulator);
  const window = (to.atMs - from.atMs) / 1_000;
  const rate = (key: keyof FlowSnapshot): number =>
    ((to[key] as number) - (from[key] as number)) / window;
  const sent = simulator.sent();
  while (running.sink.app.sink.stats().rowsWritten < sent) {
    if (performance.now() - started > SECONDS * 1_000 + 120_000) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const drainSeconds = (performance.now() - started) / 1_000 - SECONDS;
  const latencies = running.rowLatenciesMs ?? [];
  const result = {
    offered: sent / ((to.atMs - started) / 1_000),
    rowsPerSecond: rate('rows'),
    hops: {
      sent: rate('sent'),
      ingested: rate('ingested'),
      enriched: rate('enriched'),
      rows: rate('rows'),
      archived: rate('archived'),
    },
    backlog: {
      ingestion: to.sent - to.ingested,
      enrichment: to.ingested - to.enriched,
      sink: to.enriched - to.rows,
      archiver: to.enriched - to.archived,
    },
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    drainSeconds,
  };
  await running.close();
  await rm(dir, { recursive: true, force: true });
  return result;
}

const round = (n: number): number => Math.round(n);
const ourFlow = await flow();
const flowRss = peakRss;
const mqtt = await rawMqtt();
const bus = await rawBroker(200_000);
const bq = await rawBigQuery(100_000);
clearInterval(rssTimer);

const hops = Object.entries(ourFlow.hops)
  .map(([hop, value]) => `${hop} ${String(round(value))}`)
  .join(', ');
const backlog = Object.entries(ourFlow.backlog)
  .map(([hop, value]) => `${hop} ${String(value)}`)
  .join(', ');
emit({
  name: `whole flow (npm start's parts), devices -> rows, ${String(RATE)} msg/s offered for ${String(SECONDS)} s`,
  value: round(ourFlow.rowsPerSecond),
  unit: 'msg/s',
  target: '>= 10000',
  peakRssMb: mb(flowRss),
  notes: `offered ${String(round(ourFlow.offered))}/s achieved by the simulator; hop rates over the window: ${hops}; backlog when sending ended: ${backlog}; drained ${ourFlow.drainSeconds.toFixed(1)} s after`,
});
emit({
  name: 'whole flow latency device -> row (local BigQuery stored it), p50 / p99',
  value: round(ourFlow.p50),
  unit: 'ms',
  target: 'p99 < 2000',
  notes: `p99 ${String(round(ourFlow.p99))} ms`,
});
emit({
  name: 'raw hop: simulator -> aedes -> bare mqtt.js subscriber (QoS 1), same rate',
  value: round(mqtt),
  unit: 'msg/s',
});
emit({
  name: 'raw hop: in-memory broker publish + consume, no work',
  value: round(bus),
  unit: 'msg/s',
});
emit({
  name: 'raw hop: official client insertAll into our local BigQuery, 500 rows x 2 in flight',
  value: round(bq),
  unit: 'rows/s',
});
process.exit(0);
