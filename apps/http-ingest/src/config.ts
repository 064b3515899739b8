import {
  configField,
  publishBatchingConfigShape,
  secret,
  standardConfigShape,
} from '@tributary/runtime';
import * as z from 'zod';
import { parseApiKeyHashes } from './auth.js';

const validHashes = (value: string | undefined): boolean => {
  if (value === undefined) return true;
  try {
    return parseApiKeyHashes(value).length > 0;
  } catch {
    return false;
  }
};

const HttpIngestFields = z.object({
  ...standardConfigShape(),
  GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
  TOPIC: configField.pubsubTopic().describe('Pub/Sub topic the events are published to (raw)'),
  API_KEYS: secret(
    z
      .string()
      .optional()
      .refine(
        validHashes,
        'expected SHA-256 hex digests of the keys (printf %s "$KEY" | sha256sum), separated by commas',
      ),
  ).describe('Accepted API keys (X-API-Key header), as SHA-256 hex digests, comma-separated'),
  API_KEYS_FILE: configField
    .readableFile()
    .optional()
    .describe('File of API key digests, one per line, # comments (a Secret Manager mount)'),
  OIDC_AUDIENCE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Accept Google-signed ID tokens (Authorization: Bearer) for this audience (the service URL)',
    ),
  OIDC_ALLOWED_EMAILS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((email) => email.trim())
        .filter((email) => email !== ''),
    )
    .describe('Comma-separated emails (service accounts) whose ID tokens may call; others get 403'),
  AUTH_DISABLED: configField
    .boolean(false)
    .describe('Accept requests without credentials (local runs only)'),
  MAX_BODY_BYTES: configField
    .bytes(1024 * 1024, { min: 1_024, max: 10_000_000 })
    .describe('Largest request body; larger ones get 413'),
  MAX_BATCH_EVENTS: configField
    .integer(500, { min: 1, max: 1_000 })
    .describe('Most events in one POST /events/batch'),
  MAX_IN_FLIGHT_REQUESTS: configField
    .integer(256, { min: 1 })
    .describe('Ingest requests handled at once; more get 429 (memory stays bounded)'),
  PUBLISH_TIMEOUT_MS: configField
    .durationMs(30_000, { min: 1 })
    .describe('Longest wait for Pub/Sub to confirm before answering 503'),
  IDEMPOTENCY_CACHE_SIZE: configField
    .integer(10_000, { min: 0 })
    .describe('Recent event ids whose publish a retry reuses instead of publishing again'),
  ...publishBatchingConfigShape(),
  PUBSUB_MAX_OUTSTANDING_MESSAGES: configField
    .integer(5_000, { min: 1 })
    .describe('Publishes not yet confirmed, at most; more wait'),
});

const always = { when: () => true };

/** Every variable the http-ingest app reads; `README.md` renders it with `configMarkdownTable`. */
export const HttpIngestEnv = HttpIngestFields.refine(
  (c) =>
    c.AUTH_DISABLED ||
    c.API_KEYS !== undefined ||
    c.API_KEYS_FILE !== undefined ||
    c.OIDC_AUDIENCE !== undefined,
  {
    path: ['API_KEYS'],
    message: 'set API_KEYS, API_KEYS_FILE or OIDC_AUDIENCE (or AUTH_DISABLED=true for local runs)',
    ...always,
  },
).refine((c) => c.OIDC_AUDIENCE === undefined || c.OIDC_ALLOWED_EMAILS.length > 0, {
  path: ['OIDC_ALLOWED_EMAILS'],
  message: 'required with OIDC_AUDIENCE',
  ...always,
});

/** The parsed configuration. */
export type HttpIngestConfig = z.infer<typeof HttpIngestEnv>;
