import { inject, describe, expect, it } from 'vitest';
import type {} from './provided-context.js';
import { STACK_ENV_NAMES } from './stack-env.js';
import { testEnv } from './test-env.js';

describe('globalSetup hands the local services to test workers', () => {
  it('sets every variable in the worker process environment', () => {
    for (const name of STACK_ENV_NAMES) expect(process.env[name], name).toBeTruthy();
    expect(process.env['METADATA_SERVER_DETECTION']).toBe('none');
    expect(process.env['PUBSUB_EMULATOR_HOST']).toMatch(/^[\w.-]+:\d+$/);
    expect(process.env['FIRESTORE_EMULATOR_HOST']).toMatch(/^[\w.-]+:\d+$/);
    expect(process.env['STORAGE_EMULATOR_HOST']).toMatch(/^http:\/\/[\w.-]+:\d+$/);
    expect(process.env['BIGQUERY_EMULATOR_HOST']).toMatch(/^http:\/\/[\w.-]+:\d+$/);
    expect(process.env['REDIS_URL']).toMatch(/^redis:\/\/[\w.-]+:\d+$/);
    expect(process.env['MQTT_URL']).toMatch(/^mqtt:\/\/[\w.-]+:\d+$/);
  });

  it('provides the same values through inject()', () => {
    expect(inject('tributaryLocalGcp')).toEqual(testEnv());
  });
});
