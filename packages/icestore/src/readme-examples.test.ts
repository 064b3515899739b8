// The example of this package's README, run as written there against the Pub/Sub emulator and
// the shared local GCS server (the client's `new Storage()` finds it through
// STORAGE_EMULATOR_HOST, as in production it finds Google); only the names differ (the README's
// project, subscription and bucket become this test's unique ones). If the example changes,
// change it here too.
import { gunzipSync } from 'node:zlib';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { encodeEnvelope } from '@tributary/messagepipeline';
import { createPubSubConsumer } from '@tributary/messagepipeline/pubsub';
import { afterEach, describe, expect, it } from 'vitest';
import { createArchiveSink, createGcsUploader } from './index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function until(condition: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('README example', () => {
  it('the sink: one object per day and location, missing location under _unknown', async () => {
    const projectId = testEnv().GOOGLE_CLOUD_PROJECT;
    const admin = new PubSub({ projectId });
    cleanups.push(() => admin.close());
    const [topic] = await admin.createTopic(uniqueName('ice-readme'));
    const [subscription] = await topic.createSubscription(uniqueName('ice-readme'));
    cleanups.push(
      () => topic.delete(),
      () => subscription.delete(),
    );
    const bucketName = uniqueName('ice-readme');
    const storage = new Storage();
    await storage.createBucket(bucketName);
    cleanups.push(() =>
      storage
        .bucket(bucketName)
        .deleteFiles({ force: true })
        .then(() => storage.bucket(bucketName).delete()),
    );

    // ---- the README example, with this test's names ----
    const pubsub = new PubSub({ projectId });
    const sink = createArchiveSink({
      consumer: createPubSubConsumer({ pubsub, subscriptionName: subscription.name }), // any MessageConsumer
      uploader: createGcsUploader({ bucket: new Storage().bucket(bucketName), prefix: 'raw' }),
      keys: { template: '{yyyy}/{MM}/{dd}/{enrichment.device.location}' },
      maxWaitMs: 60_000,
      maxBufferedBytes: 128 * 1024 * 1024,
      maxOpenKeys: 1_000,
    });
    await sink.start(); // checks the bucket first: missing or refused -> rejects, naming it
    // ---- end of the example (its shutdown line runs below) ----
    cleanups.push(
      () => sink.stop(),
      () => pubsub.close(),
    );

    // An enriched message (envelope v1, as apps/enrichment publishes it) and a plain one.
    const enriched = encodeEnvelope({
      data: new TextEncoder().encode('{"temp":21.5}'),
      attributes: { deviceId: 'd1' },
      enrichment: { device: { location: 'north' } },
    });
    const ids = await Promise.all([
      topic.publishMessage({
        data: Buffer.from(enriched.data),
        attributes: { ...enriched.attributes },
      }),
      topic.publishMessage({ data: Buffer.from('{"temp":19}'), attributes: { deviceId: 'd2' } }),
    ]);
    // Both keys open; the batches wait for maxWaitMs (60 s) unless the shutdown writes them.
    await until(
      () => sink.stats().openKeys === 2,
      () => JSON.stringify(sink.stats()),
    );
    await sink.stop();

    const [files] = await storage.bucket(bucketName).getFiles();
    expect(files).toHaveLength(2);
    const rows = new Map<string, Record<string, unknown>>();
    for (const file of files) {
      const [raw] = await file.download({ decompress: false });
      const lines = gunzipSync(raw).toString('utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      const row = JSON.parse(lines[0]!) as Record<string, unknown> & { publishTime: string };
      // raw/<yyyy>/<MM>/<dd>/<location>/<object>, the date from the message's publish time.
      const day = row.publishTime.slice(0, 10).replaceAll('-', '/');
      expect(file.name.startsWith(`raw/${day}/`)).toBe(true);
      rows.set(file.name.split('/')[4]!, row);
    }
    expect([...rows.keys()].sort()).toEqual(['_unknown', 'north']);
    expect(rows.get('north')).toMatchObject({
      id: ids[0],
      payload: { temp: 21.5 },
      attributes: { deviceId: 'd1' },
      enrichment: { device: { location: 'north' } },
    });
    expect(rows.get('_unknown')).toMatchObject({ id: ids[1], payload: { temp: 19 } });
    expect(sink.stats()).toMatchObject({ objectsWritten: 2, recordsWritten: 2, openKeys: 0 });
  });
});
