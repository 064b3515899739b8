import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { afterAll, describe, expect, it } from 'vitest';
import { readCompose } from './test-support/manifests.js';
import { deployableApps, root } from './test-support/workspace.js';

// docker/init-local.sh is plain sh + curl: run it here against the test's emulator and GCS server,
// in a project of its own, as the compose `setup` service runs it against theirs.
const project = uniqueName('compose').slice(0, 30);
const pubsub = new PubSub({ projectId: project });
afterAll(async () => {
  const [subscriptions] = await pubsub.getSubscriptions();
  await Promise.all(subscriptions.map((s) => s.delete()));
  const [topics] = await pubsub.getTopics();
  await Promise.all(topics.map((t) => t.delete()));
});

function runSetup(): { status: number | null; output: string } {
  const stack = testEnv();
  const run = spawnSync('sh', [join(root, 'docker', 'init-local.sh')], {
    encoding: 'utf8',
    env: {
      PATH: process.env['PATH'] ?? '',
      PROJECT: project,
      PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
      STORAGE_EMULATOR_HOST: stack.STORAGE_EMULATOR_HOST,
    },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('docker/init-local.sh (the compose setup)', () => {
  it('creates every topic and subscription the compose apps use, with dead-letter and retry policies, twice without failing', async () => {
    const first = runSetup();
    expect(first.status, first.output).toBe(0);
    const again = runSetup();
    expect(again.status, again.output).toBe(0);

    const { services } = readCompose();
    for (const app of await deployableApps()) {
      const env = services[app]!.environment ?? {};
      for (const name of ['SUBSCRIPTION', 'INPUT_SUBSCRIPTION']) {
        if (!(name in env)) continue;
        const [metadata] = await pubsub.subscription(String(env[name])).getMetadata();
        expect(metadata.deadLetterPolicy?.deadLetterTopic, app).toBe(
          `projects/${project}/topics/dead-letter`,
        );
        expect(metadata.deadLetterPolicy?.maxDeliveryAttempts, app).toBe(10);
        expect(metadata.retryPolicy?.minimumBackoff?.seconds, app).toBe('10');
        if ('MAX_DELIVERY_ATTEMPTS' in env) expect(String(env['MAX_DELIVERY_ATTEMPTS'])).toBe('10');
      }
      for (const name of ['TOPIC', 'OUTPUT_TOPIC', 'DEAD_LETTER_TOPIC']) {
        if (name in env)
          expect((await pubsub.topic(String(env[name])).exists())[0], app).toBe(true);
      }
    }
    const bucket = String(services['archiver']!.environment!['BUCKET']);
    const storage = new Storage({
      apiEndpoint: testEnv().STORAGE_EMULATOR_HOST,
      projectId: project,
    });
    expect((await storage.bucket(bucket).exists())[0]).toBe(true);
  });
});
