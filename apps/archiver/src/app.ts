import type { Storage } from '@google-cloud/storage';
import { archiveSinkStatsDescription } from '@tributary/icestore';
import { isTributaryError, type Transport } from '@tributary/messagepipeline';
import {
  ConfigInvalidError,
  createPipelineMetrics,
  type AppContext,
  type ComposedApp,
} from '@tributary/runtime';
import type { ArchiverConfig } from './config.js';
import { buildArchiver, type ArchiverApp } from './pipeline.js';

/** What {@link composeArchiver} needs besides the config. */
export interface ArchiverAppDeps extends AppContext {
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
  /** @defaultValue `new Storage()` (honours `STORAGE_EMULATOR_HOST`) */
  readonly storage?: Storage | undefined;
}

/** The composed app, with its parts for callers that watch them. */
export interface ComposedArchiver extends ComposedApp {
  readonly app: ArchiverApp;
}

/**
 * The archiver app: its subscription on `deps.transport`, then the archive sink.
 * @throws {@link ConfigInvalidError} naming `KEY_TEMPLATE` when the key template is invalid.
 */
export function composeArchiver(
  config: ArchiverConfig,
  deps: ArchiverAppDeps,
): Promise<ComposedArchiver> {
  const { logger, registry, transport } = deps;
  let app: ArchiverApp;
  try {
    app = buildArchiver(config, {
      logger,
      transport,
      storage: deps.storage,
      observer: createPipelineMetrics(registry),
    });
  } catch (error) {
    if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
      throw error;
    }
    throw new ConfigInvalidError([{ variable: 'KEY_TEMPLATE', problem: error.message }]);
  }
  const { sink } = app;
  return Promise.resolve({
    app,
    // The sink checks the bucket first (a missing bucket or a refusal fails startup), and on
    // SIGTERM stops pulling and flushes every key's open batch; the transport closes last.
    services: { transport, sink },
    stats: [
      { prefix: 'archiver', stats: () => sink.stats(), description: archiveSinkStatsDescription },
      ...transport.statsSources(),
    ],
  });
}
