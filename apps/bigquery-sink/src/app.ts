import {
  bigQuerySinkStatsDescription,
  loadRowMappingFile,
  loadSchemaFile,
} from '@tributary/bqstore';
import type { BigQuery } from '@google-cloud/bigquery';
import { isTributaryError, type Transport } from '@tributary/messagepipeline';
import {
  ConfigInvalidError,
  createPipelineMetrics,
  type AppContext,
  type ComposedApp,
} from '@tributary/runtime';
import type { BigQuerySinkConfig } from './config.js';
import { createSinkMetrics } from './metrics.js';
import { buildBigQuerySink, type BigQuerySinkApp } from './pipeline.js';

/** What {@link composeBigQuerySink} needs besides the config. */
export interface BigQuerySinkAppDeps extends AppContext {
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
  /** @defaultValue a client for the dataset's project (honours `BIGQUERY_EMULATOR_HOST`) */
  readonly bigquery?: BigQuery | undefined;
}

/** The composed app, with its parts for callers that watch them. */
export interface ComposedBigQuerySink extends ComposedApp {
  readonly app: BigQuerySinkApp;
}

/**
 * The BigQuery sink app: the schema (`SCHEMA_FILE`) and row mapping (`MAPPING_FILE`), the sink and
 * its dead-letter producer, on `deps.transport`.
 * @throws {@link ConfigInvalidError} naming the variable of a file that cannot be used, or
 * `DEDUP_VIEW` when the mapping has no message id column to de-duplicate on.
 */
export async function composeBigQuerySink(
  config: BigQuerySinkConfig,
  deps: BigQuerySinkAppDeps,
): Promise<ComposedBigQuerySink> {
  const { logger, registry, transport } = deps;
  const schema = await readConfigFile('SCHEMA_FILE', config.SCHEMA_FILE, loadSchemaFile);
  const mapping = await readConfigFile('MAPPING_FILE', config.MAPPING_FILE, loadRowMappingFile);
  if (config.DEDUP_VIEW !== undefined && mapping?.messageIdColumn === undefined) {
    // Without the column there is nothing to de-duplicate on; the view would silently not exist.
    throw new ConfigInvalidError([
      {
        variable: 'DEDUP_VIEW',
        problem:
          'needs a MAPPING_FILE with messageIdColumn (the view keeps one row per message id)',
      },
    ]);
  }
  const metrics = createSinkMetrics(registry);
  const app = buildBigQuerySink(config, {
    logger,
    schema,
    mapping,
    transport,
    bigquery: deps.bigquery,
    observer: createPipelineMetrics(registry),
    onEvent: metrics.onEvent,
    onRequest: metrics.onRequest,
    onAppend: metrics.onAppend,
  });
  const { sink } = app;
  return {
    app,
    // Started in this order, stopped in reverse: the sink stops pulling and flushes its open
    // batches (every message acked or nacked), then the writer's connections close, then the
    // dead-letter producer flushes.
    services: {
      transport,
      deadLetterProducer: app.deadLetterProducer,
      writer: app.writerService,
      sink,
    },
    stats: [
      {
        prefix: 'bigquery_sink',
        stats: () => sink.stats(),
        description: bigQuerySinkStatsDescription,
      },
      ...transport.statsSources(),
    ],
  };
}

/** Reads a file the configuration names; a bad one is a problem of that variable. */
async function readConfigFile<T>(
  variable: string,
  path: string | undefined,
  read: (path: string) => Promise<T>,
): Promise<T | undefined> {
  if (path === undefined) return undefined;
  try {
    return await read(path);
  } catch (error) {
    if (!isTributaryError(error) || error.code !== 'CONFIG_INVALID') throw error;
    throw new ConfigInvalidError([{ variable, problem: error.message }]);
  }
}
