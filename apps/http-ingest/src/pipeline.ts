import { readFileSync } from 'node:fs';
import {
  type Logger,
  type Transport,
  type TransportProducer,
  type TransportProducerOptions,
} from '@tributary/messagepipeline';
import { ConfigInvalidError, type Registry } from '@tributary/runtime';
import type { OAuth2Client } from 'google-auth-library';
import { createAuthenticator, parseApiKeyHashes } from './auth.js';
import type { HttpIngestConfig } from './config.js';
import { createHttpIngest, type HttpIngest } from './ingest.js';
import { openApiDocument } from './openapi.js';

/** The wired parts of the http-ingest app. */
export interface HttpIngestApp<P extends TransportProducer = TransportProducer> {
  readonly producer: P;
  readonly ingest: HttpIngest;
}

/** Collaborators the composition root passes in. */
export interface HttpIngestDeps<P extends TransportProducer = TransportProducer> {
  readonly logger: Logger;
  readonly registry?: Registry | undefined;
  /** Where the events go: Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport<P>;
  /** Verifies ID tokens. @defaultValue one that fetches Google's certificates */
  readonly oauthClient?: OAuth2Client | undefined;
}

/**
 * The accepted API key digests: `API_KEYS` and the lines of `API_KEYS_FILE`.
 * @throws `ConfigInvalidError` naming `API_KEYS_FILE` when it holds something else
 */
export function loadApiKeyHashes(config: HttpIngestConfig): Buffer[] {
  const hashes = config.API_KEYS === undefined ? [] : parseApiKeyHashes(config.API_KEYS);
  if (config.API_KEYS_FILE !== undefined) {
    try {
      hashes.push(...parseApiKeyHashes(readFileSync(config.API_KEYS_FILE, 'utf8')));
    } catch (error) {
      throw new ConfigInvalidError([
        {
          variable: 'API_KEYS_FILE',
          problem: error instanceof Error ? error.message : String(error),
        },
      ]);
    }
  }
  return hashes;
}

/** The producer's options: topic, batching and the bound on unconfirmed publishes. */
function producerOptions(config: HttpIngestConfig, logger: Logger): TransportProducerOptions {
  return {
    topic: config.TOPIC,
    batching: {
      maxMessages: config.PUBSUB_BATCH_MAX_MESSAGES,
      maxMilliseconds: config.PUBSUB_BATCH_MAX_MS,
    },
    maxOutstandingMessages: config.PUBSUB_MAX_OUTSTANDING_MESSAGES,
    logger,
  };
}

/** A producer for `TOPIC` on `deps.transport` and the HTTP API publishing through it. */
export function buildHttpIngest<P extends TransportProducer>(
  config: HttpIngestConfig,
  deps: HttpIngestDeps<P>,
): HttpIngestApp<P> {
  const { logger, transport } = deps;
  const producer = transport.producer(producerOptions(config, logger));
  const apiKeyHashes = loadApiKeyHashes(config);
  const authenticate = createAuthenticator({
    apiKeyHashes,
    oidcAudience: config.OIDC_AUDIENCE,
    oidcAllowedEmails: config.OIDC_ALLOWED_EMAILS,
    oauthClient: deps.oauthClient,
    disabled: config.AUTH_DISABLED,
  });
  const ingest = createHttpIngest({
    producer,
    authenticate,
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxBatchEvents: config.MAX_BATCH_EVENTS,
    maxInFlightRequests: config.MAX_IN_FLIGHT_REQUESTS,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    idempotencyCacheSize: config.IDEMPOTENCY_CACHE_SIZE,
    openApi: openApiDocument({
      maxEvents: config.MAX_BATCH_EVENTS,
      maxBodyBytes: config.MAX_BODY_BYTES,
      apiKeys: apiKeyHashes.length > 0,
      oidc: config.OIDC_AUDIENCE !== undefined,
    }),
    registry: deps.registry,
    logger,
  });
  return { producer, ingest };
}
