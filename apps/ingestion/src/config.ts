import {
  configField,
  publishBatchingConfigShape,
  secret,
  standardConfigShape,
} from '@tributary/runtime';
import * as z from 'zod';

const optionalFile = (description: string) =>
  configField.readableFile().optional().describe(description);

const MQTT_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ssl:', 'ws:', 'wss:']);

const IngestionFields = z.object({
  ...standardConfigShape(),
  GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
  MQTT_URL: z
    .string()
    .refine((value) => {
      const url = URL.parse(value);
      return url !== null && url.host !== '' && MQTT_PROTOCOLS.has(url.protocol);
    }, 'expected a URL like mqtt://host:1883 or mqtts://host:8883')
    .describe('MQTT broker URL (mqtt://, mqtts://, tcp://, tls://, ws://, wss://)'),
  MQTT_CLIENT_ID: z
    .string()
    .min(1)
    .max(256)
    .describe(
      'Stable MQTT client id: the broker keeps the persistent session under it; unique per instance (a pod name)',
    ),
  MQTT_USERNAME: z.string().optional().describe('MQTT username'),
  MQTT_PASSWORD: secret(z.string().optional()).describe('MQTT password'),
  MQTT_TLS_CA_FILE: optionalFile('PEM file of the CA that signed the broker certificate'),
  MQTT_TLS_CERT_FILE: optionalFile(
    'PEM client certificate for mutual TLS (with MQTT_TLS_KEY_FILE)',
  ),
  MQTT_TLS_KEY_FILE: optionalFile('PEM private key of MQTT_TLS_CERT_FILE'),
  MQTT_TLS_REJECT_UNAUTHORIZED: configField
    .boolean(true)
    .describe('Verify the broker certificate (turn off only for tests)'),
  MQTT_SHARED_GROUP: z
    .string()
    .regex(/^[^/+#]+$/, "expected a name without '/', '+' or '#'")
    .optional()
    .describe('Subscribe as $share/<group>/<filter> so instances split the messages (MQTT 5)'),
  MQTT_PROTOCOL_VERSION: z
    .enum(['4', '5'])
    .default('5')
    .transform((v) => (v === '4' ? 4 : 5))
    .describe('MQTT version: 5, or 4 (3.1.1) for brokers without MQTT 5 (no shared subscriptions)'),
  MQTT_SESSION_EXPIRY_SECONDS: configField
    .integer(86_400, { min: 0, max: 0xffff_ffff })
    .describe('How long the broker keeps the session and queues messages while the app is away'),
  MQTT_KEEPALIVE_SECONDS: configField
    .integer(30, { min: 0, max: 65_535 })
    .describe('MQTT keepalive'),
  MQTT_CONNECT_TIMEOUT_MS: configField
    .durationMs(10_000, { min: 1 })
    .describe('Longest wait for CONNACK'),
  MQTT_RECONNECT_MIN_MS: configField
    .durationMs(500, { min: 1 })
    .describe('First reconnect delay bound (exponential backoff with jitter)'),
  MQTT_RECONNECT_MAX_MS: configField
    .durationMs(30_000, { min: 1 })
    .describe('Largest reconnect delay'),
  ROUTES_FILE: z.string().min(1).describe('YAML routes file (see routes.example.yaml)'),
  DEAD_LETTER_TOPIC: configField
    .pubsubTopic()
    .describe('Pub/Sub topic for oversized and unroutable messages (with error.* attributes)'),
  MAX_PAYLOAD_BYTES: configField
    .bytes(1024 * 1024, { min: 1, max: 10_000_000 })
    .describe('Larger MQTT payloads are dead-lettered (PAYLOAD_TOO_LARGE), truncated to this size'),
  MAX_IN_FLIGHT_MESSAGES: configField
    .integer(1_000, { min: 1 })
    .describe(
      'MQTT messages received and not yet acknowledged; at the limit the app stops reading',
    ),
  MAX_IN_FLIGHT_BYTES: configField
    .bytes(64 * 1024 * 1024, { min: 1 })
    .describe('Payload bytes of those messages'),
  CONCURRENCY: configField
    .integer(500, { min: 1 })
    .describe('Messages published to Pub/Sub at once'),
  ...publishBatchingConfigShape(),
  CHECK_TOPICS: configField
    .boolean(true)
    .describe(
      'Check at startup that the topics exist: a missing DEAD_LETTER_TOPIC fails startup, a missing route topic turns /readyz 503 until it exists. Needs pubsub.topics.get; without it the check is skipped. false turns it off',
    ),
  STALL_AFTER_MS: configField
    .durationMs(60_000, { min: 1 })
    .describe(
      '/readyz turns 503 when the oldest unacknowledged MQTT message is older than this, or reading has been paused at the in-flight limit this long',
    ),
});

// Mutual TLS needs both halves (the consumer would refuse one alone). `when`: checked even when
// other variables failed, so every problem is listed at once.
const always = { when: () => true };

/** Every variable the ingestion app reads; `README.md` renders it with `configMarkdownTable`. */
export const IngestionEnv = IngestionFields.refine(
  (c) => c.MQTT_TLS_CERT_FILE === undefined || c.MQTT_TLS_KEY_FILE !== undefined,
  { path: ['MQTT_TLS_KEY_FILE'], message: 'required with MQTT_TLS_CERT_FILE', ...always },
).refine((c) => c.MQTT_TLS_KEY_FILE === undefined || c.MQTT_TLS_CERT_FILE !== undefined, {
  path: ['MQTT_TLS_CERT_FILE'],
  message: 'required with MQTT_TLS_KEY_FILE',
  ...always,
});

/** The parsed configuration. */
export type IngestionConfig = z.infer<typeof IngestionEnv>;
