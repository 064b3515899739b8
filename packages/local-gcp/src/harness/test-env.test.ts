import { describe, expect, it } from 'vitest';
import { STACK_ENV_NAMES } from './stack-env.js';
import { testEnv } from './test-env.js';

describe('testEnv', () => {
  it('returns the variables typed', () => {
    const source = Object.fromEntries(STACK_ENV_NAMES.map((name) => [name, `v-${name}`]));
    expect(testEnv({ ...source, UNRELATED: 'x' })).toEqual(source);
  });

  it('names every missing variable', () => {
    expect(() => testEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /^missing PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, STORAGE_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST, MQTT_URL, GOOGLE_CLOUD_PROJECT, METADATA_SERVER_DETECTION: /,
    );
  });
});
