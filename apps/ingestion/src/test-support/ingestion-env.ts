import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { loadConfig } from '@tributary/runtime';
import { IngestionEnv, type IngestionConfig } from '../config.js';

/** One route of a test routes file. */
export interface TestRoute {
  readonly name: string;
  readonly topic: string;
  readonly destination: string;
  readonly qos?: 0 | 1 | 2 | undefined;
}

/** Writes a routes file into a fresh temporary directory; returns its path. */
export async function writeRoutesFile(routes: readonly TestRoute[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ingestion-routes-'));
  const file = join(dir, 'routes.yaml');
  const lines = ['routes:'];
  for (const r of routes) {
    lines.push(
      `  - name: ${r.name}`,
      `    topic: "${r.topic}"`,
      `    destination: ${r.destination}`,
    );
    lines.push(`    qos: ${r.qos ?? 1}`);
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** The environment for an ingestion run against the harness's services. */
export function ingestionEnvironment(
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const stack = testEnv();
  return {
    PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    MQTT_URL: stack.MQTT_URL,
    MQTT_CLIENT_ID: uniqueName('ingestion'),
    PORT: '0',
    LOG_LEVEL: 'warn',
    MQTT_RECONNECT_MIN_MS: '200',
    MQTT_RECONNECT_MAX_MS: '2000',
    ...overrides,
  };
}

/** Parses an ingestion configuration from {@link ingestionEnvironment}. */
export function ingestionConfig(overrides: Readonly<Record<string, string>>): IngestionConfig {
  return loadConfig(IngestionEnv, ingestionEnvironment(overrides));
}
