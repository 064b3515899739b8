// http-ingest against a bare fastify route doing the same validation (the same zod schema) and a
// raw topic.publishMessage(), same emulator, same run: autocannon, 50 connections, 10 s a round,
// rounds alternating, medians of req/s and p99 latency. Target: >= 0.9 of the bare route's req/s.
// Run: npm run bench -- http-ingest. Starts its own emulator unless PUBSUB_EMULATOR_HOST is set.
import { availableParallelism, loadavg } from 'node:os';
import { PubSub } from '@google-cloud/pubsub';
import { startPubSubEmulator, uniqueName } from '@tributary/local-gcp';
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

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function round(url: string): Promise<{ rps: number; p99: number }> {
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
  return { rps: result.requests.average, p99: result.latency.p99 };
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
      attributes: { event_id: id, type: parsed.data.type, source: parsed.data.source },
    });
    return reply.code(202).send({ id, messageId });
  });
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
  stops.push(() => bare.close());

  const oursUrl = `${run.server.url}/events`;
  await round(oursUrl); // warm-up, both
  await round(`${bareUrl}/events`);
  const ours: { rps: number; p99: number }[] = [];
  const raw: { rps: number; p99: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(await round(oursUrl));
    raw.push(await round(`${bareUrl}/events`));
  }
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  const oursRps = Math.round(median(ours.map((r) => r.rps)));
  const rawRps = Math.round(median(raw.map((r) => r.rps)));
  const spread = (rs: { rps: number }[]) => rs.map((r) => Math.round(r.rps)).join('/');
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
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
