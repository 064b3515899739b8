import { randomBytes } from 'node:crypto';

/**
 * The broker the tests use: `MQTT_URL`, which the root vitest globalSetup (local-gcp harness)
 * sets. This package may not depend on the harness (module boundaries), so it reads the variable.
 */
export function mqttUrl(): string {
  const url = process.env['MQTT_URL'];
  if (url === undefined || url === '') {
    throw new Error('MQTT_URL is not set: run the tests through the root vitest config');
  }
  return url;
}

let counter = 0;

/** A name no other test or run uses: `prefix-<pid>-<n>-<random>`. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return [
    prefix,
    process.pid.toString(36),
    counter.toString(36),
    randomBytes(3).toString('hex'),
  ].join('-');
}
