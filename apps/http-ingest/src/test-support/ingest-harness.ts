import type { PubSub } from '@google-cloud/pubsub';
import { type Message, type Topic } from '@google-cloud/pubsub';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { createPubSubTransport, type PubSubProducer } from '@tributary/messagepipeline/pubsub';
import {
  createLogger,
  createMetricsRegistry,
  loadConfig,
  runComposedApp,
  type ProcessHooks,
  type ServiceRun,
} from '@tributary/runtime';
import type { OAuth2Client } from 'google-auth-library';
import { hashApiKey } from '../auth.js';
import { composeHttpIngest } from '../app.js';
import { HttpIngestEnv } from '../config.js';
import type { HttpIngestApp } from '../pipeline.js';

/** The API key the tests use, and its digest for API_KEYS. */
export const API_KEY = 'test-key-7f3a9c';
export const API_KEY_HASH = hashApiKey(API_KEY);

/** Everything published to a topic, by the `event_id` attribute. */
export interface Collected {
  readonly topic: Topic;
  /** Every delivery, in arrival order. */
  readonly messages: Message[];
  /** Deliveries per event id. */
  count(id: string): number;
  close(): Promise<void>;
}

/** A uniquely named topic with a subscription that collects (and acks) what arrives. */
export async function collectTopic(pubsub: PubSub, prefix: string): Promise<Collected> {
  const [topic] = await pubsub.createTopic(uniqueName(prefix));
  const [subscription] = await topic.createSubscription(uniqueName(`${prefix}-sub`), {
    ackDeadlineSeconds: 60,
  });
  const messages: Message[] = [];
  subscription.on('message', (message: Message) => {
    messages.push(message);
    message.ack();
  });
  return {
    topic,
    messages,
    count: (id) => messages.filter((m) => m.attributes['event_id'] === id).length,
    async close() {
      await subscription.close();
      await subscription.delete().catch(() => undefined);
      await topic.delete().catch(() => undefined);
    },
  };
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Process hooks that never exit the test runner. */
const testHooks: ProcessHooks = {
  onSignal: () => () => undefined,
  onFatalError: () => () => undefined,
  exit: () => undefined,
};

/** A running http-ingest on a free port, in-process. */
export interface RunningIngest {
  readonly url: string;
  readonly app: HttpIngestApp<PubSubProducer>;
  readonly run: ServiceRun;
  /** Every log line written, as text. */
  logs(): string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

/** The environment for an http-ingest run against the harness's Pub/Sub emulator. */
export function ingestEnvironment(
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const stack = testEnv();
  return {
    PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...overrides,
  };
}

/** Starts the app as main.ts composes it, in-process, with its log lines captured. */
export async function startIngest(
  pubsub: PubSub,
  overrides: Readonly<Record<string, string>>,
  oauthClient?: OAuth2Client,
): Promise<RunningIngest> {
  const config = loadConfig(HttpIngestEnv, ingestEnvironment({ LOG_LEVEL: 'debug', ...overrides }));
  let logs = '';
  const logger = createLogger({
    service: 'http-ingest',
    level: config.LOG_LEVEL,
    destination: {
      write(line: string) {
        logs += line;
      },
    },
  });
  const registry = createMetricsRegistry();
  const composed = await composeHttpIngest(config, {
    logger,
    registry,
    transport: createPubSubTransport({ pubsub }),
    oauthClient,
  });
  const { app } = composed;
  const run = runComposedApp(composed, {
    name: 'http-ingest',
    logger,
    port: 0,
    host: '127.0.0.1',
    registry,
    process: testHooks,
  });
  await run.started;
  const url = run.server.url;
  return {
    url,
    app,
    run,
    logs: () => logs,
    post: (path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async stop() {
      await run.shutdown('test over');
    },
  };
}
