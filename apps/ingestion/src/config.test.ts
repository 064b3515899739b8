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
});
