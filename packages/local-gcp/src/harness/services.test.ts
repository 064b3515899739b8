import { BigQuery } from '@google-cloud/bigquery';
import { managedwriter } from '@google-cloud/bigquery-storage';
import type { Timestamp } from '@google-cloud/firestore';
import grpc from '@grpc/grpc-js';
import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { Redis } from 'ioredis';
import { connectAsync } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { jsonWriterFor } from '../bigquery/test-support/write-client.js';
import { testEnv } from './test-env.js';
import { uniqueName } from './unique-name.js';

// Round trips through the services the globalSetup provides, reached only through the standard
// variables, the way every other package's tests reach them.
const env = testEnv();

describe('local services from the harness environment', () => {
  it('Pub/Sub emulator: create topic and subscription, publish with attributes, receive, ack', async () => {
    const pubsub = new PubSub({ projectId: env.GOOGLE_CLOUD_PROJECT });
    onTestFinished(() => pubsub.close());
    const [topic] = await pubsub.createTopic(uniqueName('harness-topic'));
    const [subscription] = await topic.createSubscription(uniqueName('harness-sub'));
    onTestFinished(async () => {
      await subscription.close();
      await subscription.delete();
      await topic.delete();
    });

    const received = new Promise<Message>((resolve, reject) => {
      subscription.on('message', resolve);
      subscription.on('error', reject);
    });
    const id = await topic.publishMessage({
      data: Buffer.from('{"temp":21.5}'),
      attributes: { deviceId: 'd1', kind: 'reading' },
    });
    const message = await received;
    expect(message.id).toBe(id);
    expect(message.data.toString()).toBe('{"temp":21.5}');
    expect(message.attributes).toEqual({ deviceId: 'd1', kind: 'reading' });
    expect(await message.ackWithResponse()).toBe('SUCCESS');
  });

  it('Firestore emulator: set and get a document', async () => {
    const db = new Firestore({ projectId: env.GOOGLE_CLOUD_PROJECT });
    onTestFinished(() => db.terminate());
    const doc = db.collection(uniqueName('devices')).doc('d1');
    await doc.set({ site: 'north', updatedAt: new Date('2026-01-01T00:00:00Z') });
    const snapshot = await doc.get();
    expect(snapshot.exists).toBe(true);
    expect(snapshot.get('site')).toBe('north');
    expect((snapshot.get('updatedAt') as Timestamp).toDate().toISOString()).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect((await db.collection(uniqueName('devices')).doc('none').get()).exists).toBe(false);
  });

  it('BigQuery server: a row appended at BIGQUERY_STORAGE_EMULATOR_HOST is read over REST', async () => {
    const bq = new BigQuery({ projectId: env.GOOGLE_CLOUD_PROJECT });
    const datasetId = uniqueName('harness', '_');
    const [dataset] = await bq.createDataset(datasetId);
    onTestFinished(() => dataset.delete({ force: true }).then(() => undefined));
    const [table] = await dataset.createTable('rows', { schema: [{ name: 'id', type: 'STRING' }] });
    const [, host = '', port = ''] = /^(.+):(\d+)$/.exec(env.BIGQUERY_STORAGE_EMULATOR_HOST) ?? [];
    const client = new managedwriter.WriterClient({
      projectId: env.GOOGLE_CLOUD_PROJECT,
      servicePath: host,
      port: Number(port),
      sslCreds: grpc.credentials.createInsecure(),
      universeDomain: 'googleapis.com',
    });
    onTestFinished(() => {
      client.close();
    });
    const streamId = `projects/${env.GOOGLE_CLOUD_PROJECT}/datasets/${datasetId}/tables/rows/streams/_default`;
    const { writer } = await jsonWriterFor(client, streamId);
    const result = await writer.appendRows([{ id: 'a' }]).getResult();
    writer.close();
    expect(result.error).toBeFalsy();
    const [rows] = await table.getRows();
    expect(rows).toEqual([{ id: 'a' }]);
  });

  it('Redis: set and get', async () => {
    const redis = new Redis(env.REDIS_URL, { lazyConnect: true });
    onTestFinished(() => {
      redis.disconnect();
    });
    await redis.connect();
    const key = uniqueName('harness-key');
    await redis.set(key, 'v1', 'EX', 60);
    expect(await redis.get(key)).toBe('v1');
    await redis.del(key);
  });

  it('Mosquitto: subscribe and publish at QoS 1', async () => {
    const client = await connectAsync(env.MQTT_URL, { protocolVersion: 5, reconnectPeriod: 0 });
    onTestFinished(() => client.endAsync());
    const topic = `${uniqueName('harness')}/devices/d1/telemetry`;
    await client.subscribeAsync(topic, { qos: 1 });
    const received = new Promise<[string, string]>((resolve) => {
      client.on('message', (t, payload) => {
        resolve([t, payload.toString()]);
      });
    });
    await client.publishAsync(topic, '{"temp":21.5}', { qos: 1 });
    expect(await received).toEqual([topic, '{"temp":21.5}']);
  });
});
