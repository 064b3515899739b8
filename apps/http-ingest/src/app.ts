import type { Transport, TransportProducer } from '@tributary/messagepipeline';
import type { AppContext, ComposedApp } from '@tributary/runtime';
import type { OAuth2Client } from 'google-auth-library';
import type { HttpIngestConfig } from './config.js';
import { httpIngestStatsDescription } from './ingest.js';
import { buildHttpIngest, type HttpIngestApp } from './pipeline.js';

/** What {@link composeHttpIngest} needs besides the config. */
export interface HttpIngestAppDeps<
  P extends TransportProducer = TransportProducer,
> extends AppContext {
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport<P>;
  /** Verifies ID tokens. @defaultValue one that fetches Google's certificates */
  readonly oauthClient?: OAuth2Client | undefined;
}

/** The composed app, with its parts for callers that watch them. */
export interface ComposedHttpIngest<
  P extends TransportProducer = TransportProducer,
> extends ComposedApp {
  readonly app: HttpIngestApp<P>;
}

/**
 * The http-ingest app: the producer for `TOPIC` on `deps.transport` and the HTTP API (its
 * routes served beside `/healthz`, `/readyz` and `/metrics`).
 * @throws {@link ConfigInvalidError} naming `API_KEYS_FILE` when that file cannot be used.
 */
export function composeHttpIngest<P extends TransportProducer>(
  config: HttpIngestConfig,
  deps: HttpIngestAppDeps<P>,
): Promise<ComposedHttpIngest<P>> {
  const { logger, registry, transport } = deps;
  if (config.AUTH_DISABLED) {
    logger.warn({}, 'AUTH_DISABLED: every request is accepted unauthenticated');
  }
  const app = buildHttpIngest(config, {
    logger,
    registry,
    transport,
    oauthClient: deps.oauthClient,
  });
  const { ingest, producer } = app;
  return Promise.resolve({
    app,
    // Started in this order, stopped in reverse: the API stops taking requests (503) and answers
    // those in flight once their publishes are confirmed; then the producer flushes; the
    // transport closes last.
    services: { transport, producer, ingest },
    routes: ingest.routes,
    stats: [
      {
        prefix: 'http_ingest',
        stats: () => ingest.stats(),
        description: httpIngestStatsDescription,
      },
      ...transport.statsSources(),
    ],
  });
}
