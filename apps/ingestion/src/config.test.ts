import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigInvalidError, loadConfig } from '@tributary/runtime';
import { describe, expect, it } from 'vitest';
import { IngestionEnv } from './config.js';

const minimal = {
  GOOGLE_CLOUD_PROJECT: 'test-proj',
  MQTT_URL: 'mqtt://127.0.0.1:1883',
  MQTT_CLIENT_ID: 'ingestion-0',
  ROUTES_FILE: 'routes.yaml',
  DEAD_LETTER_TOPIC: 'dead-letters',
};

describe('IngestionEnv', () => {
  it('applies the defaults', () => {
    const config = loadConfig(IngestionEnv, minimal);
    expect(config).toMatchObject({
      MAX_PAYLOAD_BYTES: 1_048_576,
      MAX_IN_FLIGHT_MESSAGES: 1_000,
      MQTT_SESSION_EXPIRY_SECONDS: 86_400,
      MQTT_TLS_REJECT_UNAUTHORIZED: true,
      CONCURRENCY: 500,
    });
    expect(config.MQTT_SHARED_GROUP).toBeUndefined();
  });

  it('parses units', () => {
    const config = loadConfig(IngestionEnv, {
      ...minimal,
      MAX_PAYLOAD_BYTES: '512KiB',
      MQTT_CONNECT_TIMEOUT_MS: '5s',
    });
    expect(config.MAX_PAYLOAD_BYTES).toBe(524_288);
    expect(config.MQTT_CONNECT_TIMEOUT_MS).toBe(5_000);
  });

  it.each([
    ['MQTT_URL', 'http://broker'],
    ['MAX_IN_FLIGHT_MESSAGES', 'many'],
    ['MAX_PAYLOAD_BYTES', '20MB'],
    ['MQTT_SHARED_GROUP', 'a/b'],
    ['MQTT_TLS_REJECT_UNAUTHORIZED', 'perhaps'],
    ['GOOGLE_CLOUD_PROJECT', 'X'],
    ['MQTT_URL', 'mqtt://host:99999'],
    ['DEAD_LETTER_TOPIC', 'dl'],
    ['DEAD_LETTER_TOPIC', 'goog-dead-letters'],
    ['MQTT_TLS_CA_FILE', '/nonexistent/ca.pem'],
    ['MQTT_TLS_CA_FILE', '/'],
  ])('names a bad %s', (name, value) => {
    expect(() => loadConfig(IngestionEnv, { ...minimal, [name]: value })).toThrow(
      expect.objectContaining({ message: expect.stringContaining(`${name}:`) }) as Error,
    );
  });

  it('names every missing required variable', () => {
    try {
      loadConfig(IngestionEnv, {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigInvalidError);
      for (const name of [
        'MQTT_URL',
        'MQTT_CLIENT_ID',
        'ROUTES_FILE',
        'DEAD_LETTER_TOPIC',
        'GOOGLE_CLOUD_PROJECT',
      ]) {
        expect((error as Error).message).toContain(`${name}:`);
      }
    }
  });

  it('lists every problem, naming each variable, the TLS files included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ingestion-config-'));
    const key = join(dir, 'key.pem');
    await writeFile(key, '-----BEGIN PRIVATE KEY-----\n');
    try {
      loadConfig(IngestionEnv, {
        ...minimal,
        PORT: 'abc',
        DEAD_LETTER_TOPIC: 'dl',
        MQTT_TLS_CA_FILE: dir,
        MQTT_TLS_CERT_FILE: join(dir, 'missing.pem'),
        MQTT_TLS_KEY_FILE: key,
      });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigInvalidError).problems).toEqual([
        { variable: 'PORT', problem: "expected an integer port, got 'abc'" },
        {
          variable: 'MQTT_TLS_CA_FILE',
          problem: `expected a readable file: '${dir}' is a directory, not a file`,
        },
        {
          variable: 'MQTT_TLS_CERT_FILE',
          problem: `expected a readable file: '${join(dir, 'missing.pem')}' does not exist`,
        },
        {
          variable: 'DEAD_LETTER_TOPIC',
          problem:
            "expected a Pub/Sub topic id or full name: 'dl' has 2 characters; a Pub/Sub id has 3 to 255",
        },
      ]);
    }
  });

  it('wants the client certificate and key together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ingestion-config-'));
    const pem = join(dir, 'cert.pem');
    await writeFile(pem, '-----BEGIN CERTIFICATE-----\n');
    expect(() => loadConfig(IngestionEnv, { ...minimal, MQTT_TLS_CERT_FILE: pem })).toThrow(
      'MQTT_TLS_KEY_FILE: required with MQTT_TLS_CERT_FILE',
    );
    expect(() => loadConfig(IngestionEnv, { ...minimal, MQTT_TLS_KEY_FILE: pem })).toThrow(
      'MQTT_TLS_CERT_FILE: required with MQTT_TLS_KEY_FILE',
    );
    // Also when another variable failed: every problem at once.
    expect(() =>
      loadConfig(IngestionEnv, { ...minimal, PORT: 'abc', MQTT_TLS_CERT_FILE: pem }),
    ).toThrow(/PORT: .*\n {2}MQTT_TLS_KEY_FILE: required with MQTT_TLS_CERT_FILE/);
    const config = loadConfig(IngestionEnv, {
      ...minimal,
      MQTT_TLS_CERT_FILE: pem,
      MQTT_TLS_KEY_FILE: pem,
    });
    expect(config.MQTT_TLS_CERT_FILE).toBe(pem);
  });
});
