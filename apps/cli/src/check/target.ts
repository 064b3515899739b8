import { readFile } from 'node:fs/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import type { Logger } from '@tributary/messagepipeline';
import { z } from 'zod';
import { createFleet } from '../flow/devices.js';
import { startLocalFlow } from '../flow/local-flow.js';

/** What the checks run against: where to publish, which apps to watch, where the results land. */
export interface CheckTarget {
  readonly description: string;
  readonly mqttUrl: string;
  /** MQTT 4 (3.1.1) or 5. */
  readonly mqttProtocolVersion: 4 | 5;
  /** Put before `devices/<id>/telemetry`. */
  readonly topicPrefix: string;
  /** A device the registry knows. */
  readonly knownDeviceId: string;
  /** Payloads above this are dead-lettered by the ingestion. */
  readonly maxPayloadBytes: number;
  /** Every app's base URL (`/readyz`, `/metrics`). */
  readonly apps: ReadonlyMap<string, string>;
  readonly bigquery: BigQuery;
  /** The table, as SQL names it (backquoted). */
  readonly table: string;
  readonly storage: Storage;
  readonly bucket: string;
  readonly prefix: string;
  /** Restarts an app, where the command controls the processes. */
  readonly restart?: ((app: string) => Promise<void>) | undefined;
  close(): Promise<void>;
}

/** The flow on embedded defaults, started by the command itself (`--env local`). */
export async function localTarget(dataDir: string, logger: Logger): Promise<CheckTarget> {
  const devices = createFleet(10);
  const maxPayloadBytes = 64 * 1024;
  const flow = await startLocalFlow({
    dataDir,
    env: {},
    devices,
    logger,
    maxPayloadBytes,
    batchMaxWaitMs: 500,
  });
  return {
    description: `the flow on embedded defaults (${dataDir})`,
    mqttUrl: flow.mqttUrl,
    mqttProtocolVersion: 4,
    topicPrefix: flow.topicPrefix,
    knownDeviceId: devices[0]?.id ?? 'dev-0001',
    maxPayloadBytes,
    apps: new Map(flow.apps.map((a) => [a.name, a.url])),
    bigquery: flow.bigquery,
    table: `\`${flow.projectId}.${flow.datasetId}.${flow.tableId}\``,
    storage: flow.storage,
    bucket: flow.bucket,
    prefix: flow.archivePrefix,
    restart: (app) => flow.restart(app),
    close: () => flow.close(),
  };
}

/** The format of a `tributary check --target` file. */
export const targetFileSchema = z.object({
  mqttUrl: z.url(),
  mqttProtocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
  topicPrefix: z.string().default(''),
  knownDeviceId: z.string().min(1),
  maxPayloadBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  apps: z.record(z.string(), z.url()),
  projectId: z.string().min(1),
  dataset: z.string().min(1),
  table: z.string().min(1),
  bucket: z.string().min(1),
  prefix: z.string().default(''),
});

/**
 * A deployed flow (a compose stack, Google Cloud), described by a JSON file; the clients honour
 * `BIGQUERY_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST` and the usual Google credentials.
 */
export async function remoteTarget(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CheckTarget> {
  let parsed;
  try {
    parsed = targetFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    throw new Error(
      `${file}: not a valid target file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const bigqueryHost = env['BIGQUERY_EMULATOR_HOST'];
  const storageHost = env['STORAGE_EMULATOR_HOST'];
  return {
    description: `the flow described by ${file}`,
    mqttUrl: parsed.mqttUrl,
    mqttProtocolVersion: parsed.mqttProtocolVersion,
    topicPrefix: parsed.topicPrefix,
    knownDeviceId: parsed.knownDeviceId,
    maxPayloadBytes: parsed.maxPayloadBytes,
    apps: new Map(Object.entries(parsed.apps)),
    bigquery: new BigQuery({
      projectId: parsed.projectId,
      ...(bigqueryHost === undefined ? {} : { apiEndpoint: bigqueryHost }),
    }),
    table: `\`${parsed.projectId}.${parsed.dataset}.${parsed.table}\``,
    storage: new Storage({
      projectId: parsed.projectId,
      ...(storageHost === undefined ? {} : { apiEndpoint: storageHost }),
    }),
    bucket: parsed.bucket,
    prefix: parsed.prefix,
    close: () => Promise.resolve(),
  };
}
