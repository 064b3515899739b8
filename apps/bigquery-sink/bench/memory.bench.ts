// Memory: the app as it ships (its esbuild bundle, `node main.mjs`, its own process, default
// limits) drains a large Pub/Sub backlog into a slowed local BigQuery server (every insertAll
// request held HANG_MS before it is served). Flow control (MAX_IN_FLIGHT_MESSAGES 5,000) and the
// bounded batches must keep its RSS flat however large the backlog.
//   ours:     the sink process's RSS (VmRSS from /proc, every 100 ms) while it drains the backlog;
//   baseline: the same bundle, same variables, on an empty subscription of the same topic, idle
//             for IDLE_SECONDS in the same run: what the process costs before any message.
// The emulator and the BigQuery server run outside the measured process. BENCH_BACKLOG messages
// are published first (not timed here); BENCH_RUN_SECONDS bounds the drain.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  findFreePort,
  startAppProcess,
  waitForAppReady,
  type AppProcess,
} from '@tributary/local-gcp';
import { rssBytesOf } from '@tributary/local-gcp/bench';
import { bqName, publishBacklog, report, SCHEMA, sleep, startServers } from './support.js';

const BACKLOG = Number(process.env['BENCH_BACKLOG'] ?? 1_000_000);
const RUN_SECONDS = Number(process.env['BENCH_RUN_SECONDS'] ?? 60);
const IDLE_SECONDS = 5;
const HANG_MS = 200;
// npm run bench runs every benchmark from the workspace root.
const root = process.cwd();
const stops: (() => Promise<unknown>)[] = [];

/** The app's bundle, built as the Dockerfile builds it. */
function bundleApp(): string {
  const out = join(root, '.tributary', 'bench', 'bigquery-sink-bundle');
  const built = spawnSync(
    process.execPath,
    [join(root, 'scripts', 'bundle.mjs'), 'bigquery-sink', '--out', out],
    { cwd: root, encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`bundling failed: ${built.stderr}`);
  return join(out, 'main.mjs');
}

async function stopChild(child: AppProcess): Promise<number | null> {
  child.process.kill('SIGTERM');
  const killer = setTimeout(() => child.process.kill('SIGKILL'), 30_000);
  const code = await child.exit;
  clearTimeout(killer);
  return code;
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const bundle = bundleApp();
  let written = 0;
  const { pubsub, bigquery, server, emulatorHost } = await startServers(stops, {
    onRowsWritten: (event) => (written += event.rows.length),
  });

  const datasetId = bqName('bench');
  const [dataset] = await bigquery.createDataset(datasetId);
  stops.push(() => dataset.delete({ force: true }));
  await dataset.createTable('rows', { schema: { fields: SCHEMA.fields as never } });
  const [topic] = await pubsub.createTopic(bqName('bench'));
  const [deadLetters] = await pubsub.createTopic(bqName('bench-dl'));
  const [subscription] = await topic.createSubscription(bqName('mem'));
  const [idleSubscription] = await topic.createSubscription(bqName('idle'));
  stops.push(
    () => topic.delete(),
    () => deadLetters.delete(),
    () => subscription.delete(),
  );
  const files = mkdtempSync(join(tmpdir(), 'bq-sink-bench-'));
  stops.push(async () => {
    rmSync(files, { recursive: true, force: true });
  });
  const mappingFile = join(files, 'mapping.json');
  writeFileSync(mappingFile, JSON.stringify({ messageIdColumn: 'message_id' }));
  const env = (subscriptionName: string, port: number): Record<string, string> => ({
    GOOGLE_CLOUD_PROJECT: 'bench-proj',
    PUBSUB_EMULATOR_HOST: emulatorHost,
    BIGQUERY_EMULATOR_HOST: server.url,
    // The server slows insertAll requests (HANG_MS); the Storage Write path is not slowed here.
    WRITER: 'insertAll',
    SUBSCRIPTION: subscriptionName,
    DEAD_LETTER_TOPIC: deadLetters.name,
    BIGQUERY_DATASET: datasetId,
    BIGQUERY_TABLE: 'rows',
    MAPPING_FILE: mappingFile,
    BATCH_MAX_WAIT_MS: '1000',
    LOG_LEVEL: 'warn',
    PORT: String(port),
  });

  // Baseline: the same process idle, before the backlog exists (its subscription stays empty).
  const idlePort = await findFreePort();
  const idle = startAppProcess(bundle, env(idleSubscription.name, idlePort), { nodeArgs: [] });
  await waitForAppReady(`http://127.0.0.1:${String(idlePort)}`, idle, 30_000);
  const idleStarted = performance.now();
  let idlePeak = 0;
  while (performance.now() - idleStarted < IDLE_SECONDS * 1000) {
    idlePeak = Math.max(idlePeak, rssBytesOf(idle.process.pid ?? 0));
    await sleep(100);
  }
  if ((await stopChild(idle)) !== 0) throw new Error(`idle sink: ${idle.output()}`);
  await idleSubscription.delete();

  const publishStarted = performance.now();
  await publishBacklog(pubsub, topic, BACKLOG);
  const publishSeconds = (performance.now() - publishStarted) / 1000;

  server.faults.inject({ kind: 'insertAll', hangMs: HANG_MS, count: 1_000_000_000 });
  const port = await findFreePort();
  const sink = startAppProcess(bundle, env(subscription.name, port), { nodeArgs: [] });
  await waitForAppReady(`http://127.0.0.1:${String(port)}`, sink, 30_000);
  const started = performance.now();
  const samples: number[] = [];
  while (performance.now() - started < RUN_SECONDS * 1000 && written < BACKLOG) {
    if (sink.process.exitCode !== null) throw new Error(`sink exited: ${sink.output()}`);
    samples.push(rssBytesOf(sink.process.pid ?? 0));
    await sleep(100);
  }
  const seconds = (performance.now() - started) / 1000;
  const rowsInRun = written;
  server.faults.clear();
  const exitCode = await stopChild(sink);
  if (exitCode !== 0) throw new Error(`sink exited ${String(exitCode)}: ${sink.output()}`);
  const at = (fraction: number): number =>
    Math.round((samples[Math.floor((samples.length - 1) * fraction)] ?? 0) / MB);
  const peakMb = Math.round(Math.max(...samples) / MB);
  const idleMb = Math.round(idlePeak / MB);
  report({
    name: 'bigquery-sink process RSS draining a backlog into a slowed server',
    value: peakMb,
    unit: 'MB',
    baseline: idleMb,
    ratio: Number((peakMb / idleMb).toFixed(2)),
    target: 'flat (bounded by MAX_IN_FLIGHT_MESSAGES)',
    peakRssMb: peakMb,
    notes: `the app's bundle as its own process, defaults (5,000 messages / 64 MiB in flight, 500-row batches, 2 flushes); backlog ${String(BACKLOG)} msgs of ~200 B (published in ${publishSeconds.toFixed(0)} s); every insertAll held ${String(HANG_MS)} ms; ${String(rowsInRun)} rows written in ${seconds.toFixed(0)} s (${String(Math.round(rowsInRun / seconds))} rows/s); RSS at 10/50/90 % of the run ${String(at(0.1))}/${String(at(0.5))}/${String(at(0.9))} MB, peak ${String(peakMb)} MB; baseline = the same bundle idle on an empty subscription, peak over ${String(IDLE_SECONDS)} s; load avg ${loadavg()[0]?.toFixed(1) ?? '?'} on ${String(availableParallelism())} cores`,
  });
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
