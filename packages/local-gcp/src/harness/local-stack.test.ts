import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../launchers/managed-process.js';
import { startLocalStack } from './local-stack.js';
import type { StackEnv } from './stack-env.js';
import { testEnv } from './test-env.js';

describe('startLocalStack', () => {
  it('starts nothing when every variable is already set, and passes the values through', async () => {
    const existing = { ...testEnv(), GOOGLE_CLOUD_PROJECT: 'laptop-proj' };
    const stack = await startLocalStack({ existingEnv: existing, sdkRoot: '/nonexistent' });
    expect(stack.env).toEqual(existing);
    expect(stack.services.map((service) => service.origin)).toEqual(Array(6).fill('external'));
    await stack.stop();
    await stack.stop();
  });

  it('fails with one error naming what is missing', async () => {
    const rest: Partial<Record<keyof StackEnv, string>> = { ...testEnv() };
    delete rest.PUBSUB_EMULATOR_HOST;
    delete rest.REDIS_URL;
    const lines: string[] = [];
    const error = await startLocalStack({
      existingEnv: rest,
      sdkRoot: '/nonexistent',
      log: (line) => lines.push(line),
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      name: 'LauncherError',
      code: 'MISSING_DEPENDENCY',
      message: expect.stringContaining(
        'PUBSUB_EMULATOR_HOST: Pub/Sub emulator jar not found under /nonexistent/platform/pubsub-emulator/lib: install the google-cloud-cli-pubsub-emulator package',
      ),
    });
    expect(lines).toEqual([]);
  });

  it('reuses the Redis and Mosquitto already running on their standard ports', async () => {
    const rest: Partial<Record<keyof StackEnv, string>> = { ...testEnv() };
    delete rest.REDIS_URL;
    delete rest.MQTT_URL;
    const stack = await startLocalStack({ existingEnv: rest });
    try {
      const byName = Object.fromEntries(stack.services.map((s) => [s.envName, s]));
      for (const [name, url] of [
        ['REDIS_URL', 'redis://127.0.0.1:6379'],
        ['MQTT_URL', 'mqtt://127.0.0.1:1883'],
      ] as const) {
        // When nothing runs on the standard port, the stack starts a private server instead.
        if (byName[name]?.origin === 'reused') expect(stack.env[name]).toBe(url);
        else expect(byName[name]?.origin).toBe('started');
      }
    } finally {
      await stack.stop();
    }
    for (const service of stack.services) {
      if (service.pid !== undefined) expect(isProcessAlive(service.pid)).toBe(false);
    }
  });
});
