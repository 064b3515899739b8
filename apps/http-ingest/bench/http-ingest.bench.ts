// http-ingest against a bare fastify route doing the same validation (the same zod schema) and a
// raw topic.publishMessage(), same emulator, same run: autocannon, 50 connections, 10 s a round,
// rounds alternating, medians of req/s and p99 latency. Target: >= 0.9 of the bare route's req/s.
// Run: npm run bench -- http-ingest. Starts its own emulator unless PUBSUB_EMULATOR_HOST is set.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { PubSub } from '@google-cloud/pubsub';
import { startPubSubEmulator, uniqueName } from '@tributary/local-gcp';
import { median } from '@tributary/local-gcp/bench';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import {
  createMetricsRegistry,
  loadConfig,
  runComposedApp,
  type ProcessHooks,
} from '@tributary/runtime';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { composeHttpIngest } from '../src/app.js';
import { hashApiKey } from '../src/auth.js';
import { HttpIngestEnv } from '../src/config.js';
import { IncomingEvent } from '../src/event-schema.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = 50;
const project = process.env['GOOGLE_CLOUD_PROJECT'] ?? 'bench-proj';
const stops: (() => Promise<unknown>)[] = [];
const KEY = 'bench-key';
const BODY = JSON.stringify({
  type: 'user_action',
  source: 'web',
  user_id: 'u1',
  data: { action: 'click', page: '/checkout', ms: 123 },
});

/**
 * CPU time of this process's main thread (the servers' event loop), in µs, from
 * /proc/self/task/<pid>/stat: the load generator's worker thread is not counted.
 */
function mainThreadCpuMicros(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime (fields 14 and 15 of stat(5)), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface Round {
  readonly rps: number;
  readonly p99: number;
  /** Main-thread CPU per answered request, µs. */
  readonly cpuUs: number;
}

async function round(url: string): Promise<Round> {
  const cpuBefore = mainThreadCpuMicros();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: BODY,
    workers: 1, // the load generator in its own thread, off the server's event loop
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  const cpuUs = (mainThreadCpuMicros() - cpuBefore) / result.requests.total;
  return { rps: result.requests.average, p99: result.latency.p99, cpuUs };
}

const noExit: ProcessHooks = {
  onSignal: () => () => undefined,
  onFatalError: () => () => undefined,
  exit: () => undefined,
};

try {
  if (process.env['PUBSUB_EMULATOR_HOST'] === undefined) {
    const emulator = await startPubSubEmulator();
    stops.push(() => emulator.stop());
    process.env['PUBSUB_EMULATOR_HOST'] = emulator.hostPort;
  }
  const pubsub = new PubSub({ projectId: project });
  stops.push(() => pubsub.close());
  const [topic] = await pubsub.createTopic(uniqueName('bench-http'));
  stops.push(() => topic.delete());

  // Ours: the app as main.ts composes it (runService server, fastify routing, API key, producer).
  const config = loadConfig(HttpIngestEnv, {
    GOOGLE_CLOUD_PROJECT: project,
    TOPIC: topic.name,
    API_KEYS: hashApiKey(KEY),
    MAX_IN_FLIGHT_REQUESTS: '1000',
  });
  const registry = createMetricsRegistry();
  const app = await composeHttpIngest(config, {
    logger: silentLogger,
    registry,
    transport: createPubSubTransport({ pubsub }),
  });
  const run = runComposedApp(app, {
    name: 'http-ingest',
    logger: silentLogger,
    registry,
    port: 0,
    host: '127.0.0.1',
    process: noExit,
  });
  await run.started;
  stops.push(() => run.shutdown());

  // Bare: one fastify route, the same schema, the raw client at the same batching settings.
  const rawTopic = pubsub.topic(topic.name, {
    batching: {
      maxMessages: config.PUBSUB_BATCH_MAX_MESSAGES,
      maxMilliseconds: config.PUBSUB_BATCH_MAX_MS,
    },
  });
  const bare = Fastify({ logger: false });
  bare.post('/events', async (request, reply) => {
    const parsed = IncomingEvent.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.issues });
    const id = crypto.randomUUID();
    const messageId = await rawTopic.publishMessage({
      data: Buffer.from(JSON.stringify({ ...parsed.data, id })),
      attributes: {
        event_id: id,
        type: parsed.data.type,
        source: parsed.data.source,
        received_at: new Date().toISOString(),
      },
    });
    return reply.code(202).send({ id, messageId });
  });
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
  stops.push(() => bare.close());

  const oursUrl = `${run.server.url}/events`;
  const only = process.env['BENCH_ONLY']; // 'ours' or 'bare': one side, for a CPU profile
  const sides = only === undefined ? ['ours', 'bare'] : [only];
  const url = (side: string) => (side === 'ours' ? oursUrl : `${bareUrl}/events`);
  for (const side of sides) await round(url(side)); // warm-up
  const rounds: Record<string, Round[]> = { ours: [], bare: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of sides) rounds[side]?.push(await round(url(side)));
  }
  const ours = rounds['ours'] ?? [];
  const raw = rounds['bare'] ?? [];
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  const oursRps = Math.round(median(ours.map((r) => r.rps)));
  const rawRps = Math.round(median(raw.map((r) => r.rps)));
  const spread = (rs: Round[]) => rs.map((r) => Math.round(r.rps)).join('/');
  const cpu = (rs: Round[]) => Math.round(median(rs.map((r) => r.cpuUs)));
  const cpuSpread = (rs: Round[]) => rs.map((r) => Math.round(r.cpuUs)).join('/');
  process.stdout.write(
    `BENCH ${JSON.stringify({
      name: `http-ingest POST /events, ${CONNECTIONS} connections, ${SECONDS} s`,
      value: oursRps,
      unit: 'req/s',
      baseline: rawRps,
      ratio: Math.round((oursRps / rawRps) * 100) / 100,
      target: '>= 0.9',
      peakRssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
      notes: `medians of ${ROUNDS} alternating rounds; req/s ours ${spread(ours)}, bare ${spread(raw)}; p99 ours ${median(ours.map((r) => r.p99))} ms, bare ${median(raw.map((r) => r.p99))} ms; load ${load} on ${availableParallelism()} cores`,
    })}\n`,
  );
  process.stdout.write(
    `BENCH ${JSON.stringify({
      name: 'http-ingest POST /events, server main-thread CPU per request',
      value: cpu(ours),
      unit: 'µs',
      baseline: cpu(raw),
      ratio: Math.round((cpu(raw) / cpu(ours)) * 100) / 100,
      notes: `same rounds; ratio = bare / ours (higher is better); µs ours ${cpuSpread(ours)}, bare ${cpuSpread(raw)}; the load generator's thread excluded`,
    })}\n`,
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
