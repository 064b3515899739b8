// MQTT -> ingestion -> Pub/Sub emulator, against a raw bridge (mqtt.js subscriber that republishes
// every message with the raw Pub/Sub client), same broker, same emulator, same run.
//   1. throughput at QoS 1 (msg/s until the last Pub/Sub publish is confirmed), ratio >= 0.9;
//   2. peak RSS during a flood while the emulator is slow (a TCP proxy that delays every chunk):
//      ours must stay flat (backpressure), the raw bridge buffers.
// Run: npm run bench -- ingestion. Starts its own emulator and a private mosquitto unless
// PUBSUB_EMULATOR_HOST / BENCH_MQTT_URL are set.
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { PubSub } from '@google-cloud/pubsub';
import { startPrivateMosquitto, startPubSubEmulator, uniqueName } from '@tributary/local-gcp';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { loadRoutesFile } from '@tributary/mqttconverter';
import { loadConfig } from '@tributary/runtime';
import { connectAsync, type MqttClient } from 'mqtt';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestionEnv } from '../src/config.js';
import { buildIngestion } from '../src/pipeline.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 20_000);
const FLOOD_SECONDS = Number(process.env['BENCH_FLOOD_SECONDS'] ?? 15);
const PAYLOAD = Buffer.alloc(256, 'x');
const project = process.env['GOOGLE_CLOUD_PROJECT'] ?? 'bench-proj';
const stops: (() => Promise<unknown>)[] = [];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function report(result: Record<string, unknown>): void {
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
}

/** RSS sampler: peak in MB since `reset()`. */
function rssSampler(): { reset(): void; peakMb(): number; stop(): void } {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  return {
    reset() {
      peak = process.memoryUsage.rss();
    },
    peakMb: () => Math.round(Math.max(peak, process.memoryUsage.rss()) / 1024 / 1024),
    stop() {
      clearInterval(timer);
    },
  };
}

/** A TCP proxy that holds every chunk for `delayMs` in each direction. */
async function slowProxy(
  target: string,
  delayMs: number,
): Promise<{ hostPort: string; server: Server }> {
  const [host = '127.0.0.1', port = '0'] = target.split(':');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(port), host);
    sockets.add(client).add(upstream);
    const pipeSlow = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        from.pause();
        setTimeout(() => {
          to.write(chunk, () => from.resume());
        }, delayMs);
      });
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    };
    pipeSlow(client, upstream);
    pipeSlow(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy address');
  stops.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { hostPort: `127.0.0.1:${address.port}`, server };
}

/** Publishes `count` QoS 1 messages, staying at most `window` ahead of `processed()`. */
async function publishPaced(
  url: string,
  topicOf: (i: number) => string,
  count: number,
  processed: () => number,
  window = 500,
): Promise<void> {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 5 });
  let next = 0;
  let published = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        while (published - processed() >= window) await sleep(2);
        await client.publishAsync(topicOf(i), PAYLOAD, { qos: 1 });
        published++;
      }
    }),
  );
  await client.endAsync();
}

/** Publishes QoS 1 messages as fast as the broker acknowledges them, for `seconds`. */
async function flood(url: string, topic: string, seconds: number): Promise<number> {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 5 });
  const until = Date.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (Date.now() < until) {
        await client.publishAsync(topic, PAYLOAD, { qos: 1 });
        sent++;
      }
    }),
  );
  await client.endAsync();
  return sent;
}

async function routesFile(filter: string, destination: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-routes-'));
  const file = join(dir, 'routes.yaml');
  await writeFile(
    file,
    `routes:\n  - name: bench\n    topic: "${filter}"\n    destination: ${destination}\n    qos: 1\n`,
  );
  return file;
}

/** Our ingestion, in-process; returns how many messages it acknowledged (= published). */
async function runOurs(
  mqttUrl: string,
  pubsub: PubSub,
  base: string,
  topic: string,
): Promise<{ acked: () => number; stop: () => Promise<void> }> {
  const config = loadConfig(IngestionEnv, {
    GOOGLE_CLOUD_PROJECT: project,
    MQTT_URL: mqttUrl,
    MQTT_CLIENT_ID: uniqueName('bench-ours'),
    ROUTES_FILE: await routesFile(`${base}/{deviceId}/t`, topic),
    DEAD_LETTER_TOPIC: topic,
    MQTT_SESSION_EXPIRY_SECONDS: '0',
  });
  const routes = await loadRoutesFile(config.ROUTES_FILE);
  const ingestion = buildIngestion(config, {
    routes,
    logger: silentLogger,
    transport: createPubSubTransport({ pubsub }),
  });
  await ingestion.service.start();
  while (!ingestion.consumer.health().ready) await sleep(20);
  return {
    acked: () => ingestion.consumer.stats().acksSent,
    async stop() {
      await ingestion.service.stop({ timeoutMs: 2_000 });
      for (const producer of ingestion.producers.values())
        await producer.stop({ timeoutMs: 2_000 });
      await ingestion.deadLetterProducer.stop({ timeoutMs: 100 });
    },
  };
}

/** The raw bridge: mqtt.js auto-acks on receipt, then topic.publishMessage. */
async function runRaw(
  mqttUrl: string,
  pubsub: PubSub,
  base: string,
  topic: string,
): Promise<{ acked: () => number; stop: () => Promise<void> }> {
  const client = await connectAsync(mqttUrl, {
    protocolVersion: 5,
    clientId: uniqueName('bench-raw'),
  });
  const target = pubsub.topic(topic, { batching: { maxMessages: 100, maxMilliseconds: 10 } });
  let confirmed = 0;
  client.on('message', (topicName, payload, packet) => {
    // The same information ours forwards, so both send the same bytes.
    const attributes = {
      deviceId: topicName.split('/')[1] ?? '',
      'mqtt.route': 'bench',
      'mqtt.topic': topicName,
      'mqtt.qos': String(packet.qos),
      'mqtt.retain': String(packet.retain),
      'mqtt.dup': String(packet.dup),
      'mqtt.receivedAt': new Date().toISOString(),
    };
    target.publishMessage({ data: payload, attributes }).then(
      () => {
        confirmed++;
      },
      () => undefined,
    );
  });
  await client.subscribeAsync(`${base}/+/t`, { qos: 1 });
  return {
    acked: () => confirmed,
    async stop() {
      await client.endAsync(true);
      await target.flush().catch(() => undefined);
    },
  };
}

async function throughput(
  name: string,
  run: typeof runOurs,
  mqttUrl: string,
  pubsub: PubSub,
  topic: string,
): Promise<number> {
  const base = uniqueName(`tp-${name}`);
  const bridge = await run(mqttUrl, pubsub, base, topic);
  const started = performance.now();
  await publishPaced(mqttUrl, (i) => `${base}/d${i % 16}/t`, MESSAGES, bridge.acked);
  while (bridge.acked() < MESSAGES) await sleep(5);
  const rate = MESSAGES / ((performance.now() - started) / 1000);
  await bridge.stop();
  return Math.round(rate);
}

async function floodRss(
  name: string,
  run: typeof runOurs,
  mqttUrl: string,
  slowPubsub: PubSub,
  topic: string,
  rss: ReturnType<typeof rssSampler>,
): Promise<{ peakMb: number; beforeMb: number; sent: number; acked: number }> {
  const base = uniqueName(`fl-${name}`);
  global.gc?.();
  await sleep(500);
  const beforeMb = Math.round(process.memoryUsage.rss() / 1024 / 1024);
  const bridge = await run(mqttUrl, slowPubsub, base, topic);
  rss.reset();
  const sent = await flood(mqttUrl, `${base}/d1/t`, FLOOD_SECONDS);
  const peakMb = rss.peakMb();
  const acked = bridge.acked();
  await bridge.stop();
  return { peakMb, beforeMb, sent, acked };
}

async function main(): Promise<void> {
  let emulatorHost = process.env['PUBSUB_EMULATOR_HOST'];
  if (emulatorHost === undefined || emulatorHost === '') {
    const emulator = await startPubSubEmulator();
    stops.push(() => emulator.stop());
    emulatorHost = emulator.hostPort;
  }
  let mqttUrl = process.env['BENCH_MQTT_URL'];
  if (mqttUrl === undefined || mqttUrl === '') {
    const broker = await startPrivateMosquitto();
    stops.push(() => broker.stop());
    mqttUrl = broker.url;
  }
  const pubsub = new PubSub({ projectId: project, apiEndpoint: emulatorHost });
  const [topic] = await pubsub.createTopic(uniqueName('bench'));
  const topicId = topic.name.slice(topic.name.lastIndexOf('/') + 1);
  const rss = rssSampler();
  const load = loadavg()[0]?.toFixed(1) ?? '?';

  // Alternate to spread the machine's noise over both.
  const raw1 = await throughput('raw', runRaw, mqttUrl, pubsub, topicId);
  const ours1 = await throughput('ours', runOurs, mqttUrl, pubsub, topicId);
  const raw2 = await throughput('raw', runRaw, mqttUrl, pubsub, topicId);
  const ours2 = await throughput('ours', runOurs, mqttUrl, pubsub, topicId);
  const ours = Math.max(ours1, ours2);
  const raw = Math.max(raw1, raw2);
  report({
    name: 'ingestion MQTT QoS1 -> Pub/Sub throughput',
    value: ours,
    unit: 'msg/s',
    baseline: raw,
    ratio: Number((ours / raw).toFixed(2)),
    target: '>= 0.9',
    peakRssMb: rss.peakMb(),
    notes: `${MESSAGES} msgs x ${PAYLOAD.length} B, best of 2 (ours ${ours1}/${ours2}, raw ${raw1}/${raw2}); raw acks before publishing, same attributes; load avg ${load} on ${String(availableParallelism())} cores`,
  });

  const proxy = await slowProxy(emulatorHost, 100);
  const slow = new PubSub({ projectId: project, apiEndpoint: proxy.hostPort });
  const oursFlood = await floodRss('ours', runOurs, mqttUrl, slow, topicId, rss);
  await sleep(1_000);
  const rawFlood = await floodRss('raw', runRaw, mqttUrl, slow, topicId, rss);
  report({
    name: 'ingestion peak RSS, QoS1 flood into a slow emulator',
    value: oursFlood.peakMb,
    unit: 'MB',
    baseline: rawFlood.peakMb,
    ratio: Number((oursFlood.peakMb / rawFlood.peakMb).toFixed(2)),
    target: 'flat (bounded by MAX_IN_FLIGHT_MESSAGES)',
    peakRssMb: oursFlood.peakMb,
    notes:
      `${FLOOD_SECONDS} s flood, proxy delays every chunk 100 ms; ours: RSS ${oursFlood.beforeMb} -> peak ${oursFlood.peakMb} MB, ` +
      `${oursFlood.acked} of ${oursFlood.sent} published (the broker holds or drops the rest); raw: ${rawFlood.beforeMb} -> ${rawFlood.peakMb} MB, ` +
      `${rawFlood.acked} of ${rawFlood.sent} published`,
  });
  rss.stop();
  await topic.delete().catch(() => undefined);
  await slow.close();
  await pubsub.close();
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
