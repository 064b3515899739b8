// The measured process of memory.bench.ts: the archiver's composition (or the ack-only
// baseline) over the in-memory broker, flooded when the parent says go. Compiled on its own
// (scripts/bench.mjs builds a bench's `.child.ts` beside it), so the process loads what the
// archiver loads and not the parent's local GCS server (about 30 MB of RSS more, measured).
import { setTimeout as sleep } from 'node:timers/promises';
import { Storage } from '@google-cloud/storage';
import { silentLogger, type MessageConsumer } from '@tributary/messagepipeline';
import { createBrokerTransport, createInMemoryBroker } from '@tributary/messagepipeline/broker';
import { createMetricsRegistry, loadConfig } from '@tributary/runtime';
import { composeArchiver } from '../src/app.js';
import { ArchiverEnv } from '../src/config.js';

export const FLOOD = Number(process.env['BENCH_FLOOD'] ?? 1_000_000);
export const KEYS = 10_000;
/** Messages published and not yet delivered, at most (see the publish loop). */
const PENDING = 5_000;
export const PROJECT = 'bench-proj';
const MB = 1024 * 1024;
/** The archiver's variables besides the names (the rest are the app's defaults). */
export const ARCHIVER_ENV: Record<string, string> = {
  KEY_TEMPLATE: '{yyyy}/{MM}/{dd}/{attributes.device}',
  MAX_OPEN_KEYS: String(KEYS),
};
/**
 * The subscription bound of the local flow (apps/cli's startLocalFlow), which counts delivered
 * but unacked messages too, and a long ack deadline: the in-memory broker does not extend leases
 * as the Pub/Sub client does, and a batch may wait BATCH_MAX_WAIT_MS (60 s) for its key.
 */
export const SUBSCRIPTION = {
  maxBacklogMessages: 100_000,
  maxBacklogBytes: 256 * MB,
  ackDeadlineMs: 600_000,
};

export type Mode = 'archiver' | 'ack-only';
export type ToParent =
  | { type: 'ready' }
  | { type: 'progress'; acked: number; heapMb: number; externalMb: number }
  | { type: 'done'; acked: number; stats: Record<string, number> };

/** ~200 B of telemetry JSON for message `i`. */
function payload(i: number): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      device_id: `dev-${String(i % KEYS).padStart(5, '0')}`,
      ts: new Date(1_767_225_600_000 + i * 10).toISOString(),
      seq: i,
      value: Math.round((15 + (i % 200) / 10) * 100) / 100,
      readings: ['t', 'h', 'p'].map((name, k) => ({ name, value: (i % 50) + k / 10 })),
    }),
  );
}

export async function child(
  mode: Mode,
  gcsUrl: string,
  bucket: string,
  window: string,
): Promise<void> {
  const send = (message: ToParent): void => {
    process.send?.(message);
  };
  const broker = createInMemoryBroker();
  broker.createTopic('in');
  broker.createSubscription('archive', { topic: 'in', ...SUBSCRIPTION });
  let stop: () => Promise<void>;
  let stats: () => Record<string, number> = () => ({});
  if (mode === 'archiver') {
    const storage = new Storage({ apiEndpoint: gcsUrl, projectId: PROJECT });
    const app = await composeArchiver(
      loadConfig(ArchiverEnv, {
        GOOGLE_CLOUD_PROJECT: PROJECT,
        SUBSCRIPTION: 'archive',
        BUCKET: bucket,
        ...ARCHIVER_ENV,
        MAX_IN_FLIGHT_MESSAGES: window,
      }),
      {
        logger: silentLogger,
        registry: createMetricsRegistry(),
        transport: createBrokerTransport(broker),
        storage,
      },
    );
    const services = Object.values(app.services);
    for (const service of services) await service.start();
    stop = async () => {
      for (const service of services.reverse()) await service.stop({ timeoutMs: 30_000 });
    };
    stats = () => {
      const s = app.app.sink.stats();
      return {
        objectsWritten: s.objectsWritten,
        recordsWritten: s.recordsWritten,
        pressureFlushes: s.pressureFlushes,
        bytesUncompressed: s.bytesUncompressed,
        bytesCompressed: s.bytesCompressed,
      };
    };
  } else {
    // The same broker, subscription and prefetch bound, no archiver: ack on arrival.
    const consumer: MessageConsumer = broker.consumer('archive', { maxPrefetchMessages: 1_000 });
    await consumer.start();
    const loop = (async () => {
      for await (const message of consumer) message.ack();
    })();
    stop = async () => {
      await consumer.stop();
      await loop;
    };
  }
  send({ type: 'ready' });
  await new Promise<void>((resolve) =>
    process.once('message', () => {
      resolve();
    }),
  );

  const acked = (): number => broker.subscriptionStats('archive').acked;
  const progress = setInterval(() => {
    const usage = process.memoryUsage();
    send({
      type: 'progress',
      acked: acked(),
      heapMb: Math.round(usage.heapUsed / MB),
      externalMb: Math.round(usage.external / MB),
    });
  }, 100);
  const producer = broker.producer('in');
  await producer.start();
  for (let i = 0; i < FLOOD; i++) {
    // Pub/Sub keeps a backlog on its servers; the in-memory broker keeps it in this process. Held
    // to PENDING messages here, so the figure is the archiver's, not a 100,000-message backlog's.
    if (i % 100 === 0) {
      while (broker.subscriptionStats('archive').pendingMessages > PENDING) await sleep(1);
    }
    await producer.publish({
      data: payload(i),
      attributes: { device: `dev-${String(i % KEYS).padStart(5, '0')}` },
    });
  }
  while (acked() < FLOOD) await sleep(50);
  clearInterval(progress);
  send({ type: 'done', acked: acked(), stats: stats() });
  await producer.stop();
  await stop();
  await broker.close();
}

if (process.argv[2] === 'child') {
  // The client prefers STORAGE_EMULATOR_HOST to apiEndpoint: the private server is meant.
  delete process.env['STORAGE_EMULATOR_HOST'];
  const [mode, gcsUrl, bucket, window] = process.argv.slice(3);
  await child(mode as Mode, gcsUrl ?? '', bucket ?? '', window ?? '');
  process.exit(0);
}
