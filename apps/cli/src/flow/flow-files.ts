import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Device } from './devices.js';

/** The topic and subscription ids of the flow. */
export interface FlowNames {
  readonly raw: string;
  readonly enriched: string;
  readonly deadLetter: string;
  readonly enrichmentSubscription: string;
  readonly sinkSubscription: string;
  readonly archiverSubscription: string;
  readonly deadLetterSubscription: string;
}

/** Names of the flow's topics and subscriptions, with `suffix` (unique per run on a shared bus). */
export function flowNames(suffix = ''): FlowNames {
  return {
    raw: `raw${suffix}`,
    enriched: `enriched${suffix}`,
    deadLetter: `dead-letter${suffix}`,
    enrichmentSubscription: `enrichment${suffix}`,
    sinkSubscription: `bigquery-sink${suffix}`,
    archiverSubscription: `archiver${suffix}`,
    deadLetterSubscription: `dead-letter-count${suffix}`,
  };
}

/** The files the apps read, as the same variables name them in production. */
export interface FlowFiles {
  readonly routes: string;
  readonly devices: string;
  readonly lookups: string;
  readonly schema: string;
  readonly mapping: string;
}

/** Where the enrichment's device registry comes from. */
export type RegistrySource =
  { readonly kind: 'file' } | { readonly kind: 'firestore'; readonly collection: string };

/** The columns of the table the sink creates: the simulator's telemetry plus the enrichment. */
export const TABLE_SCHEMA = [
  { name: 'deviceId', type: 'STRING', mode: 'REQUIRED' },
  { name: 'seq', type: 'INT64', mode: 'REQUIRED' },
  { name: 'ts', type: 'TIMESTAMP', mode: 'REQUIRED' },
  { name: 'temperature', type: 'FLOAT64' },
  { name: 'humidity', type: 'FLOAT64' },
  { name: 'battery', type: 'FLOAT64' },
  {
    name: 'readings',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'name', type: 'STRING' },
      { name: 'value', type: 'FLOAT64' },
    ],
  },
  {
    name: 'enrichment',
    type: 'RECORD',
    fields: [
      {
        name: 'device',
        type: 'RECORD',
        fields: [
          { name: 'name', type: 'STRING' },
          { name: 'site', type: 'STRING' },
          { name: 'model', type: 'STRING' },
        ],
      },
    ],
  },
] as const;

/**
 * Writes the routes, device registry, lookups, table schema and row mapping into `dir`: the
 * same files, in the same formats, a deployment gives the apps through `ROUTES_FILE`,
 * `LOOKUPS_FILE`, `SCHEMA_FILE` and `MAPPING_FILE`.
 */
export async function writeFlowFiles(
  dir: string,
  names: FlowNames,
  topicPrefix: string,
  devices: readonly Device[],
  registry: RegistrySource,
): Promise<FlowFiles> {
  await mkdir(dir, { recursive: true });
  const files: FlowFiles = {
    routes: join(dir, 'routes.json'),
    devices: join(dir, 'devices.json'),
    lookups: join(dir, 'lookups.json'),
    schema: join(dir, 'schema.json'),
    mapping: join(dir, 'mapping.json'),
  };
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(
    files.routes,
    json({
      routes: [
        {
          name: 'telemetry',
          topic: `${topicPrefix}devices/{deviceId}/telemetry`,
          destination: names.raw,
          qos: 1,
        },
      ],
    }),
  );
  await writeFile(files.devices, json(devices));
  await writeFile(
    files.lookups,
    json({
      fetchers: {
        devices: {
          source:
            registry.kind === 'file'
              ? { file: 'devices.json', keyField: 'id' }
              : {
                  firestore: { collection: registry.collection, fields: ['name', 'site', 'model'] },
                },
          lru: { maxEntries: 100_000, ttlMs: 60_000 },
          redis: { namespace: `tributary-devices${names.raw.slice(3)}`, ttlMs: 3_600_000 },
          negativeTtlMs: 30_000,
        },
      },
      lookups: [
        {
          name: 'device',
          fetcher: 'devices',
          key: { attribute: 'deviceId' },
          fields: ['name', 'site', 'model'],
          attributes: { site: 'site' },
          onMissingKey: 'dead-letter',
          onMiss: 'dead-letter',
        },
      ],
    }),
  );
  await writeFile(files.schema, json(TABLE_SCHEMA));
  await writeFile(
    files.mapping,
    json({
      messageIdColumn: 'message_id',
      publishTimeColumn: 'publish_time',
      ingestTimeColumn: 'ingest_time',
      enrichment: { mode: 'record', column: 'enrichment' },
    }),
  );
  return files;
}
