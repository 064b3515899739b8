import { createServer, type AddressInfo, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { composeArchiver, type ComposedArchiver } from '@tributary/archiver/app';
import { ArchiverEnv } from '@tributary/archiver/config';
import { composeBigQuerySink, type ComposedBigQuerySink } from '@tributary/bigquery-sink/app';
import { BigQuerySinkEnv } from '@tributary/bigquery-sink/config';
import { composeEnrichment, type EnrichmentApp } from '@tributary/enrichment-app/app';
import { EnrichmentEnv } from '@tributary/enrichment-app/config';
import { composeIngestion, type IngestionApp } from '@tributary/ingestion/app';
import { IngestionEnv } from '@tributary/ingestion/config';
import {
  startBigQueryServer,
  startGcsServer,
  type BigQueryServer,
  type GcsServer,
  type RowsWrittenEvent,
} from '@tributary/local-gcp';
import type { Logger, Transport } from '@tributary/messagepipeline';
import {
  createBrokerTransport,
  createInMemoryBroker,
  type InMemoryBroker,
} from '@tributary/messagepipeline/broker';
import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import {
  createMetricsRegistry,
  loadConfig,
  runComposedApp,
  type ComposedApp,
  type ProcessHooks,
  type Registry,
  type ServiceRun,
} from '@tributary/runtime';
import { Aedes } from 'aedes';
import type { Device } from './devices.js';
import { flowNames, writeFlowFiles, type FlowNames, type RegistrySource } from './flow-files.js';
import { countDeadLetters, type DeadLetterCounts } from './dead-letters.js';

/** How to run the flow. */
export interface LocalFlowOptions {
  /** Where the embedded BigQuery and GCS keep their data, and the run's files. */
  readonly dataDir: string;
  /** The standard variables that replace an embedded part (`PUBSUB_EMULATOR_HOST`, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly devices: readonly Device[];
  readonly logger: Logger;
  /** The ingestion's payload bound: larger payloads are dead-lettered. */
  readonly maxPayloadBytes: number;
  /** How long the sink and the archiver hold a batch open, at most. */
  readonly batchMaxWaitMs: number;
  readonly projectId?: string | undefined;
}

/** One embedded part and what stands in for it in this run. */
export interface FlowPart {
  readonly part: string;
  readonly using: string;
}

/** An app of the flow, running in this process on its own port. */
export interface FlowApp {
  readonly name: string;
  /** Its `/healthz`, `/readyz` and `/metrics`. */
  readonly url: string;
  readonly registry: Registry;
  readonly run: ServiceRun;
}

/** The running flow. */
export interface LocalFlow {
  readonly runId: string;
  readonly parts: readonly FlowPart[];
  readonly names: FlowNames;
  readonly mqttUrl: string;
  /** Where the devices publish: `<prefix>devices/<id>/telemetry`. */
  readonly topicPrefix: string;
  readonly projectId: string;
  readonly datasetId: string;
  readonly tableId: string;
  readonly bucket: string;
  /** The archive's object prefix in the bucket. */
  readonly archivePrefix: string;
  /** Where the archive's objects can be opened as files, when the embedded GCS holds them. */
  readonly archiveDir: string | undefined;
  readonly apps: readonly FlowApp[];
  readonly ingestion: IngestionApp;
  readonly enrichment: EnrichmentApp;
  readonly sink: ComposedBigQuerySink;
  readonly archiver: ComposedArchiver;
  readonly bigquery: BigQuery;
  readonly storage: Storage;
  readonly deadLetters: DeadLetterCounts;
  /** Device → row latency of each row, in ms, measured when the embedded BigQuery stored it. */
  readonly rowLatenciesMs: number[] | undefined;
  /** Apps that ended on their own, with their exit code (a failure). */
  readonly failures: Map<string, number>;
  /**
   * Stops the apps (ingestion first: each drains into the next), then the dead-letter count;
   * the embedded parts keep running, so the results can still be read.
   */
  stopApps(): Promise<void>;
  /** Stops everything still running, the embedded parts last. Idempotent. */
  close(): Promise<void>;
  /**
   * Stops one app (a drain, as on SIGTERM) and starts it again from its composition: what a
   * rolling restart does. Its messages wait in its subscription meanwhile.
   */
  restart(name: string): Promise<void>;
}

const DATASET = 'tributary';

/**
 * Starts the whole flow in this process: simulated devices' MQTT broker → ingestion → raw →
 * enrichment → enriched → bigquery-sink and archiver, every dead letter to one counted topic.
 * Each app is built by its own composition function, as its `main.ts` builds it; only the
 * transport and the endpoints differ. Each embedded part gives way to the real one when its
 * standard variable is set.
 */
export async function startLocalFlow(options: LocalFlowOptions): Promise<LocalFlow> {
  const { env, logger } = options;
  // Unique among runs sharing an emulator or a broker: names of topics, tables and prefixes.
  const runId = `${new Date()
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 14)}${randomBytes(3).toString('hex')}`;
  const projectId = options.projectId ?? env['GOOGLE_CLOUD_PROJECT'] ?? 'tributary-local';
  const cleanups: (() => Promise<void>)[] = [];
  const appCleanups: (() => Promise<void>)[] = [];
  const runAll = async (list: (() => Promise<void>)[]): Promise<void> => {
    for (const cleanup of list.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => {
        logger.warn({ err: error }, 'cleanup failed');
      });
    }
  };
  const stopApps = (): Promise<void> => runAll(appCleanups);
  const stopAll = async (): Promise<void> => {
    await stopApps();
    await runAll(cleanups);
  };
  try {
    const parts: FlowPart[] = [];
    const useEmulatorPubSub = env['PUBSUB_EMULATOR_HOST'] !== undefined;
    const names = flowNames(useEmulatorPubSub ? `-${runId}` : '');

    // MQTT: aedes on a free loopback port, or the broker MQTT_URL names (under a topic prefix of
    // this run's own there, since others may use it too).
    let mqttUrl = env['MQTT_URL'];
    const topicPrefix = mqttUrl === undefined ? '' : `tributary-${runId}/`;
    if (mqttUrl === undefined) {
      const aedes = await Aedes.createBroker();
      const server: Server = createServer(aedes.handle);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      mqttUrl = `mqtt://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
      cleanups.push(async () => {
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
      });
      parts.push({ part: 'MQTT', using: `embedded aedes broker (${mqttUrl})` });
    } else parts.push({ part: 'MQTT', using: `MQTT_URL ${mqttUrl}` });

    // The bus: the in-memory broker, or Pub/Sub (the emulator PUBSUB_EMULATOR_HOST names).
    let broker: InMemoryBroker | undefined;
    let pubsub: PubSub | undefined;
    if (useEmulatorPubSub) {
      pubsub = new PubSub({ projectId });
      const client = pubsub;
      cleanups.push(async () => {
        await client.close();
      });
      await createPubSubResources(pubsub, names, cleanups);
      parts.push({
        part: 'Pub/Sub',
        using: `PUBSUB_EMULATOR_HOST ${String(env['PUBSUB_EMULATOR_HOST'])}`,
      });
    } else {
      broker = createInMemoryBroker({ logger });
      const owned = broker;
      cleanups.push(() => owned.close());
      createBrokerResources(broker, names);
      parts.push({ part: 'Pub/Sub', using: 'embedded in-memory broker' });
    }
    const transport = (): Transport =>
      broker === undefined
        ? createPubSubTransport({ pubsub, logger })
        : createBrokerTransport(broker);

    // BigQuery: our local server on DuckDB under dataDir, or BIGQUERY_EMULATOR_HOST.
    const embeddedBigQuery = env['BIGQUERY_EMULATOR_HOST'] === undefined;
    let rowLatenciesMs: number[] | undefined;
    let bigqueryEndpoint: string;
    // The sink's writer: the Storage Write API (its default) wherever a Write API server is known.
    let sinkWriterEnv: Record<string, string>;
    const tableId = embeddedBigQuery ? 'telemetry' : `telemetry_${runId}`;
    if (embeddedBigQuery) {
      const dir = join(options.dataDir, 'bigquery');
      await rm(dir, { recursive: true, force: true });
      const latencies: number[] = [];
      rowLatenciesMs = latencies;
      const server: BigQueryServer = await startBigQueryServer({
        host: '127.0.0.1',
        port: 0,
        dataDir: dir,
        onRowsWritten: (event: RowsWrittenEvent) => {
          if (event.tableId !== tableId) return;
          const now = Date.now();
          for (const row of event.rows) {
            const ts = typeof row['ts'] === 'string' ? Date.parse(row['ts']) : Number.NaN;
            if (Number.isFinite(ts)) latencies.push(now - ts);
          }
        },
        writeApi: { host: '127.0.0.1', port: 0 },
      });
      cleanups.push(() => server.stop());
      bigqueryEndpoint = server.apiEndpoint;
      sinkWriterEnv = { BIGQUERY_STORAGE_EMULATOR_HOST: server.writeApi?.emulatorHost ?? '' };
      parts.push({
        part: 'BigQuery',
        using: `embedded local BigQuery on DuckDB (${dir}), rows through its Storage Write API`,
      });
    } else {
      bigqueryEndpoint = String(env['BIGQUERY_EMULATOR_HOST']);
      const writeApiHost = env['BIGQUERY_STORAGE_EMULATOR_HOST'];
      sinkWriterEnv =
        writeApiHost === undefined || writeApiHost === ''
          ? { WRITER: 'insertAll' }
          : { BIGQUERY_STORAGE_EMULATOR_HOST: writeApiHost };
      parts.push({
        part: 'BigQuery',
        using: `BIGQUERY_EMULATOR_HOST ${bigqueryEndpoint}, ${
          sinkWriterEnv['WRITER'] === undefined
            ? `Storage Write API at BIGQUERY_STORAGE_EMULATOR_HOST ${String(writeApiHost)}`
            : 'insertAll (no BIGQUERY_STORAGE_EMULATOR_HOST)'
        }`,
      });
    }
    const bigquery = new BigQuery({ projectId, apiEndpoint: bigqueryEndpoint });

    // GCS: our local server persisting to a folder, or STORAGE_EMULATOR_HOST.
    const bucket = 'tributary-archive';
    const archivePrefix =
      env['STORAGE_EMULATOR_HOST'] === undefined ? 'telemetry' : `telemetry/run=${runId}`;
    let archiveDir: string | undefined;
    let storageEndpoint: string;
    if (env['STORAGE_EMULATOR_HOST'] === undefined) {
      const dir = join(options.dataDir, 'gcs');
      await rm(dir, { recursive: true, force: true });
      const server: GcsServer = await startGcsServer({ host: '127.0.0.1', port: 0, dataDir: dir });
      cleanups.push(() => server.stop());
      storageEndpoint = server.url;
      archiveDir = join(dir, bucket);
      parts.push({ part: 'Cloud Storage', using: `embedded local GCS, files under ${dir}` });
    } else {
      storageEndpoint = env['STORAGE_EMULATOR_HOST'];
      parts.push({ part: 'Cloud Storage', using: `STORAGE_EMULATOR_HOST ${storageEndpoint}` });
    }
    const storage = new Storage({ projectId, apiEndpoint: storageEndpoint });
    const [exists] = await storage.bucket(bucket).exists();
    if (!exists) await storage.createBucket(bucket);

    // The registry: a file (the static source) or Firestore; Redis in front when REDIS_URL is set.
    const registry: RegistrySource =
      env['FIRESTORE_EMULATOR_HOST'] === undefined
        ? { kind: 'file' }
        : { kind: 'firestore', collection: `tributary-devices-${runId}` };
    if (registry.kind === 'firestore') {
      await seedFirestore(projectId, registry.collection, options.devices);
      parts.push({
        part: 'Device registry',
        using: `FIRESTORE_EMULATOR_HOST ${String(env['FIRESTORE_EMULATOR_HOST'])}`,
      });
    } else
      parts.push({ part: 'Device registry', using: "LRU + static source (the simulator's fleet)" });
    const redisUrl = env['REDIS_URL'];
    parts.push({
      part: 'Redis',
      using: redisUrl === undefined ? 'none (LRU only)' : `REDIS_URL ${redisUrl}`,
    });

    const files = await writeFlowFiles(
      join(options.dataDir, 'run'),
      names,
      topicPrefix,
      options.devices,
      registry,
    );

    // The apps, each from its own config schema and composition function.
    const failures = new Map<string, number>();
    const apps: FlowApp[] = [];
    const restarts = new Map<string, () => Promise<void>>();
    const common = { GOOGLE_CLOUD_PROJECT: projectId, PORT: '0', LOG_LEVEL: 'info' };
    const run = async <A extends ComposedApp>(
      name: string,
      compose: (context: {
        logger: Logger;
        registry: Registry;
        transport: Transport;
      }) => Promise<A>,
    ): Promise<A> => {
      const appLogger = logger.child({ service: name });
      const start = async (
        port: number,
      ): Promise<{ app: A; serviceRun: ServiceRun; registry: Registry }> => {
        // A new registry per start: counters begin at 0 again, as after a process restart.
        const registry = createMetricsRegistry({
          defaultLabels: { service: name },
          defaultMetrics: false,
        });
        const app = await compose({ logger: appLogger, registry, transport: transport() });
        const serviceRun = runComposedApp(app, {
          name,
          logger: appLogger,
          registry,
          port,
          host: '127.0.0.1',
          process: inProcessHooks((code) => {
            if (code !== 0) failures.set(name, code);
          }),
        });
        await serviceRun.started;
        return { app, serviceRun, registry };
      };
      const first = await start(0);
      let current = first.serviceRun;
      const entry = { name, url: current.server.url, registry: first.registry, run: current };
      apps.push(entry);
      appCleanups.push(async () => {
        await current.shutdown('the local run ended');
      });
      restarts.set(name, async () => {
        await current.shutdown('restart');
        // The same port, so whoever watches the app's /metrics keeps watching it.
        const next = await start(current.server.port);
        current = next.serviceRun;
        Object.assign(entry, { run: current, registry: next.registry });
      });
      return first.app;
    };

    // Started downstream first, so nothing waits on a consumer that is not there yet; stopped in
    // reverse (ingestion first), so each drains into the next.
    const archiver = await run('archiver', (context) =>
      composeArchiver(
        loadConfig(ArchiverEnv, {
          ...common,
          SUBSCRIPTION: names.archiverSubscription,
          BUCKET: bucket,
          PREFIX: archivePrefix,
          KEY_TEMPLATE: '{yyyy}/{MM}/{dd}/{enrichment.device.site}',
          BATCH_MAX_WAIT_MS: String(options.batchMaxWaitMs),
        }),
        { ...context, storage },
      ),
    );
    const sink = await run('bigquery-sink', (context) =>
      composeBigQuerySink(
        loadConfig(BigQuerySinkEnv, {
          ...common,
          SUBSCRIPTION: names.sinkSubscription,
          DEAD_LETTER_TOPIC: names.deadLetter,
          BIGQUERY_DATASET: DATASET,
          BIGQUERY_TABLE: tableId,
          SCHEMA_FILE: files.schema,
          MAPPING_FILE: files.mapping,
          PARTITION_TYPE: 'DAY',
          PARTITION_FIELD: 'ts',
          CLUSTERING_FIELDS: 'deviceId',
          BATCH_MAX_WAIT_MS: String(options.batchMaxWaitMs),
          ...sinkWriterEnv,
        }),
        { ...context, bigquery },
      ),
    );
    const enrichment = await run('enrichment', (context) =>
      composeEnrichment(
        loadConfig(EnrichmentEnv, {
          ...common,
          INPUT_SUBSCRIPTION: names.enrichmentSubscription,
          OUTPUT_TOPIC: names.enriched,
          DEAD_LETTER_TOPIC: names.deadLetter,
          LOOKUPS_FILE: files.lookups,
          REDIS_URL: redisUrl,
        }),
        context,
      ),
    );
    const ingestion = await run('ingestion', (context) =>
      composeIngestion(
        loadConfig(IngestionEnv, {
          ...common,
          MQTT_URL: mqttUrl,
          MQTT_CLIENT_ID: `tributary-ingestion-${runId}`,
          MQTT_SESSION_EXPIRY_SECONDS: '0',
          // aedes speaks MQTT 3.1.1; a broker MQTT_URL names gets MQTT 5.
          MQTT_PROTOCOL_VERSION: env['MQTT_URL'] === undefined ? '4' : '5',
          ROUTES_FILE: files.routes,
          DEAD_LETTER_TOPIC: names.deadLetter,
          MAX_PAYLOAD_BYTES: String(options.maxPayloadBytes),
        }),
        context,
      ),
    );

    // The dead-letter topic, counted by stage and reason; stopped after every app.
    const counter = transport();
    const deadLetters = countDeadLetters(
      counter.consumer({ subscription: names.deadLetterSubscription }),
      logger,
    );
    await counter.start();
    await deadLetters.start();
    appCleanups.unshift(async () => {
      await deadLetters.stop();
      await counter.stop();
    });

    return {
      runId,
      parts,
      names,
      mqttUrl,
      topicPrefix,
      projectId,
      datasetId: DATASET,
      tableId,
      bucket,
      archivePrefix,
      archiveDir,
      apps,
      ingestion,
      enrichment,
      sink,
      archiver,
      bigquery,
      storage,
      deadLetters,
      rowLatenciesMs,
      failures,
      stopApps,
      close: stopAll,
      restart: async (name) => {
        const restart = restarts.get(name);
        if (restart === undefined) throw new Error(`no app named '${name}'`);
        await restart();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Process hooks for an app that shares this process: the command owns signals and exit. */
function inProcessHooks(onExit: (code: number) => void): ProcessHooks {
  return {
    onSignal: () => () => undefined,
    onFatalError: () => () => undefined,
    exit: onExit,
  };
}

/**
 * A subscription's backlog counts what is delivered and not yet acked, and the sinks ack a batch
 * only once it is written (after up to `batchMaxWaitMs`): the broker's default bound (2,000)
 * would cap the flow at 2,000 messages per batch window. Pub/Sub keeps its backlog on the
 * server; here it is bounded still, by count and bytes. The broker does not extend leases as the
 * Pub/Sub client does, so the ack deadline is ten minutes, well past the archiver's default
 * 60 s batch age plus its upload: a batch waiting its full age is not redelivered meanwhile.
 */
const SUBSCRIPTION_BOUNDS = {
  maxBacklogMessages: 100_000,
  maxBacklogBytes: 256 * 1024 * 1024,
  ackDeadlineMs: 600_000,
};

function createBrokerResources(broker: InMemoryBroker, names: FlowNames): void {
  for (const topic of [names.raw, names.enriched, names.deadLetter]) broker.createTopic(topic);
  const subscriptions: [string, string][] = [
    [names.enrichmentSubscription, names.raw],
    [names.sinkSubscription, names.enriched],
    [names.archiverSubscription, names.enriched],
    [names.deadLetterSubscription, names.deadLetter],
  ];
  for (const [name, topic] of subscriptions) {
    broker.createSubscription(name, { topic, ...SUBSCRIPTION_BOUNDS });
  }
}

async function createPubSubResources(
  pubsub: PubSub,
  names: FlowNames,
  cleanups: (() => Promise<void>)[],
): Promise<void> {
  for (const topic of [names.raw, names.enriched, names.deadLetter]) {
    const [created] = await pubsub.createTopic(topic);
    cleanups.push(async () => {
      await created.delete();
    });
  }
  const subscriptions: [string, string][] = [
    [names.enrichmentSubscription, names.raw],
    [names.sinkSubscription, names.enriched],
    [names.archiverSubscription, names.enriched],
    [names.deadLetterSubscription, names.deadLetter],
  ];
  for (const [name, topic] of subscriptions) {
    const [created] = await pubsub
      .topic(topic)
      .createSubscription(name, { ackDeadlineSeconds: 60 });
    cleanups.push(async () => {
      await created.delete();
    });
  }
}

async function seedFirestore(
  projectId: string,
  collection: string,
  devices: readonly Device[],
): Promise<void> {
  const { Firestore } = await import('@google-cloud/firestore');
  const firestore = new Firestore({ projectId });
  try {
    const writer = firestore.bulkWriter();
    for (const device of devices) {
      void writer.set(firestore.collection(collection).doc(device.id), { ...device });
    }
    await writer.close();
  } finally {
    await firestore.terminate();
  }
}
