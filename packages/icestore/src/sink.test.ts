import { gunzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, testEnv, uniqueName, type GcsServer } from '@tributary/local-gcp';
import {
  createMessage,
  encodeEnvelope,
  TributaryError,
  type FlushReason,
  type Message,
} from '@tributary/messagepipeline';
import { createInMemoryBroker, type InMemoryBroker } from '@tributary/messagepipeline/broker';
import { afterEach, describe, expect, it } from 'vitest';
import { createGcsUploader, objectNameFor } from './gcs-uploader.js';
import { readJsonPayload } from './json-line.js';
import { createArchiveSink, type ArchiveSinkOptions } from './sink.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sharedStorage(): Storage {
  const host = testEnv().STORAGE_EMULATOR_HOST;
  const apiEndpoint = host.startsWith('http') ? host : `http://${host}`;
  return new Storage({ apiEndpoint, projectId: 'test-proj' });
}

async function newBucket(storage: Storage): Promise<string> {
  const name = uniqueName('ice');
  await storage.createBucket(name);
  cleanups.push(() =>
    storage
      .bucket(name)
      .deleteFiles({ force: true })
      .then(() => storage.bucket(name).delete()),
  );
  return name;
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function harness(
  storage: Storage,
  bucket: string,
  options: Partial<ArchiveSinkOptions> = {},
  ackDeadlineMs = 500,
) {
  const broker: InMemoryBroker = createInMemoryBroker();
  broker.createTopic('in');
  broker.createSubscription('in-sub', { topic: 'in', ackDeadlineMs });
  const reasons: FlushReason[] = [];
  const sink = createArchiveSink({
    consumer: broker.consumer('in-sub'),
    uploader: createGcsUploader({ bucket: storage.bucket(bucket), prefix: 'archive' }),
    keys: { template: '{yyyy}/{attributes.location}' },
    maxWaitMs: 60_000,
    retry: { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50 },
    observer: (event) => {
      if (event.type === 'batch-flushed') reasons.push(event.reason);
    },
    ...options,
  });
  cleanups.push(() => sink.stop().then(() => broker.close()));
  const producer = broker.producer('in');
  const publish = async (location: string | undefined, body: string) => {
    await producer.publish({
      data: new TextEncoder().encode(body),
      attributes: location === undefined ? {} : { location },
    });
  };
  return { broker, sink, publish, reasons };
}

async function objects(storage: Storage, bucket: string) {
  const [files] = await storage.bucket(bucket).getFiles();
  return files;
}

async function lines(
  storage: Storage,
  bucket: string,
  name: string,
): Promise<Record<string, unknown>[]> {
  const [raw] = await storage.bucket(bucket).file(name).download({ decompress: false });
  return gunzipSync(raw)
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('archive sink on our GCS server', () => {
  it('unwraps an enriched message (envelope v1): keyed by its enrichment, its payload archived', async () => {
    const storage = sharedStorage();
    const bucket = await newBucket(storage);
    const { sink, broker } = harness(storage, bucket, {
      keys: { template: '{enrichment.device.site}' },
    });
    await sink.start();
    const producer = broker.producer('in');
    await producer.publish(
      encodeEnvelope({
        data: new TextEncoder().encode('{"seq":7}'),
        attributes: { deviceId: 'd1' },
        enrichment: { device: { site: 'north' } },
      }),
    );
    await until(() => sink.stats().openKeys === 1);
    await sink.stop();
    const files = await objects(storage, bucket);
    expect(files.map((f) => f.name.split('/').slice(0, 2).join('/'))).toEqual(['archive/north']);
    const rows = await lines(storage, bucket, files[0]!.name);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      payload: { seq: 7 },
      enrichment: { device: { site: 'north' } },
      attributes: { deviceId: 'd1' },
    });
  });

  it('mixed keys, one with no location: one object per key, placeholder used, lines in order', async () => {
    const storage = sharedStorage();
    const bucket = await newBucket(storage);
    const { sink, publish, broker } = harness(storage, bucket);
    await sink.start();
    await publish('north', '{"n":1}');
    await publish('south', '{"n":2}');
    await publish('north', 'not json');
    await publish(undefined, '{"n":4}');
    await until(() => sink.stats().openKeys === 3);
    await sink.stop();
    expect(broker.subscriptionStats('in-sub').backlogMessages).toBe(0);
    const files = await objects(storage, bucket);
    const year = String(new Date().getUTCFullYear());
    expect(files.map((f) => f.name.split('/').slice(0, 3).join('/')).sort()).toEqual([
      `archive/${year}/_unknown`,
      `archive/${year}/north`,
      `archive/${year}/south`,
    ]);
    const north = files.find((f) => f.name.includes('/north/'))!;
    expect(north.name).toMatch(/^archive\/\d{4}\/north\/\d{8}T\d{9}Z-[0-9a-f]{16}\.jsonl\.gz$/);
    const rows = await lines(storage, bucket, north.name);
    expect(rows.map((r) => [r['payload'], r['payloadBase64']])).toEqual([
      [{ n: 1 }, undefined],
      [undefined, Buffer.from('not json').toString('base64')],
    ]);
    expect(rows[0]).toMatchObject({ attributes: { location: 'north' }, enrichment: {} });
    const [metadata] = await storage.bucket(bucket).file(north.name).getMetadata();
    expect(metadata.contentType).toBe('application/x-ndjson');
    expect(metadata.contentEncoding).toBe('gzip');
    expect(metadata.metadata).toMatchObject({
      records: '2',
      firstPublishTime: rows[0]!['publishTime'],
      lastPublishTime: rows[1]!['publishTime'],
      writerVersion: 'tributary-icestore/1',
    });
    // Decompressive transcoding: the client's default download gunzips.
    const [plain] = await storage.bucket(bucket).file(north.name).download();
    expect(plain.toString('utf8').split('\n')).toHaveLength(3);
    expect(sink.stats()).toMatchObject({ objectsWritten: 3, recordsWritten: 4, openKeys: 0 });
    expect(sink.stats().bytesCompressed).toBeGreaterThan(0);
  });

  it('hostile locations all stay under the prefix', async () => {
    const storage = sharedStorage();
    const bucket = await newBucket(storage);
    const { sink, publish } = harness(storage, bucket);
    await sink.start();
    const hostile = ['../../etc', 'a/b', '%2e%2e', 'x'.repeat(5_000)];
    for (const location of hostile) await publish(location, '{}');
    await until(() => sink.stats().openKeys === 4);
    await sink.stop();
    const files = await objects(storage, bucket);
    expect(files).toHaveLength(4);
    for (const file of files) {
      const segments = file.name.split('/');
      expect(segments).toHaveLength(4);
      expect(segments[0]).toBe('archive');
      expect(segments.some((s) => s === '..' || s === '.')).toBe(false);
      expect(segments[2]!.length).toBeLessThanOrEqual(128);
    }
  });

  it('a 412 on a retried upload is acked: the batch is already written, never twice', async () => {
    const storage = sharedStorage();
    const bucket = await newBucket(storage);
    const uploader = createGcsUploader({ bucket: storage.bucket(bucket), prefix: 'p' });
    const message = createMessage({ id: 'm-1', data: new TextEncoder().encode('{"a":1}') });
    const records = [{ message, json: readJsonPayload(message.data).json }];
    const first = await uploader.upload('k', records);
    const again = await uploader.upload('k', records);
    expect(first).toMatchObject({ created: true, objectName: objectNameFor('p', 'k', records) });
    expect(again).toMatchObject({ created: false, objectName: first.objectName });
    expect(await objects(storage, bucket)).toHaveLength(1);
  });

  it('10,000 distinct keys under a 16 KiB budget: flushed by pressure, within the budget, nothing lost', async () => {
    const storage = sharedStorage();
    const bucket = await newBucket(storage);
    const budget = 16 * 1024;
    let peakBytes = 0;
    const { sink, publish, broker, reasons } = harness(
      storage,
      bucket,
      {
        keys: { template: '{attributes.location}' },
        maxBufferedBytes: budget,
        maxBytes: 4 * 1024,
        maxOpenKeys: 20_000, // the byte budget is what binds here
        maxConcurrentFlushes: 8,
        maxWaitMs: 120_000, // no age flush within the test: pressure (and stop) only
      },
      120_000,
    );
    await sink.start();
    const keys = 10_000;
    // Every key once, then the first 1,000 again: those were flushed by pressure meanwhile, so
    // their second message opens a new batch (and object) in the same folder.
    const messages: { k: number; pass: number }[] = [];
    for (let k = 0; k < keys; k++) messages.push({ k, pass: 0 });
    for (let k = 0; k < 1_000; k++) messages.push({ k, pass: 1 });
    for (const message of messages) {
      await publish(`loc${message.k}`, JSON.stringify(message));
      peakBytes = Math.max(peakBytes, sink.stats().bufferedBytes);
    }
    const total = messages.length;
    await until(() => {
      const sub = broker.subscriptionStats('in-sub');
      return sub.delivered === total && sub.pendingMessages + sub.prefetchedMessages === 0;
    });
    await sink.stop();
    // Every message acked once: none expired, nacked or redelivered.
    expect(broker.subscriptionStats('in-sub')).toMatchObject({
      backlogMessages: 0,
      delivered: total,
      acked: total,
      nacked: 0,
      expired: 0,
    });
    const stats = sink.stats();
    expect(stats.recordsWritten).toBe(total);
    // Nearly every key is flushed by pressure; the ones open at the end by stop.
    expect(stats.pressureFlushes).toBeGreaterThan(keys);
    expect(reasons.filter((r) => r === 'pressure')).toHaveLength(stats.pressureFlushes);
    expect(reasons.filter((r) => r !== 'pressure' && r !== 'stop')).toEqual([]);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(budget);
    // Every record is in an object of its own key: list every object and read its lines.
    const files = await objects(storage, bucket);
    expect(files).toHaveLength(stats.objectsWritten);
    const seen = new Map<string, number>();
    for (let i = 0; i < files.length; i += 64) {
      await Promise.all(
        files.slice(i, i + 64).map(async (file) => {
          const folder = file.name.split('/')[1];
          for (const row of await lines(storage, bucket, file.name)) {
            const { k, pass } = row['payload'] as { k: number; pass: number };
            expect(folder).toBe(`loc${k}`);
            const id = `${k}/${pass}`;
            seen.set(id, (seen.get(id) ?? 0) + 1);
          }
        }),
      );
    }
    expect(seen.size).toBe(total);
    const folders = new Set(files.map((file) => file.name.split('/')[1]));
    expect(folders.size).toBe(keys);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    process.stdout.write(
      `10,000 keys: ${stats.objectsWritten} objects, ${stats.pressureFlushes} pressure flushes, peak ${peakBytes} of ${budget} budget bytes\n`,
    );
  }, 240_000);

  it('a missing bucket: fatal at startup with a clear error; at runtime held, not ready', async () => {
    const storage = sharedStorage();
    const missing = uniqueName('nobucket');
    const uploader = createGcsUploader({ bucket: storage.bucket(missing), prefix: 'p' });
    const failure = await uploader.checkBucket().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TributaryError);
    expect(failure).toMatchObject({ code: 'NOT_FOUND', destination: true });
    expect((failure as Error).message).toContain(missing);

    const refused = harness(storage, missing);
    await expect(refused.sink.start()).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const { sink, publish, broker } = harness(storage, missing, {
      maxItems: 1,
      checkBucket: false,
    });
    await sink.start();
    await publish('north', '{}');
    await until(() => !sink.health().ready);
    expect(sink.health().detail).toContain('NOT_FOUND');
    expect(broker.subscriptionStats('in-sub').backlogMessages).toBe(1);
  });
});

describe('archive sink under faults (own GCS server)', () => {
  let gcs: GcsServer;
  let bucket = '';
  async function ownServer(): Promise<Storage> {
    gcs = await startGcsServer({ port: 0 });
    cleanups.push(() => gcs.stop());
    // Our service retries; the client does not, so each fault is seen once.
    // The client prefers STORAGE_EMULATOR_HOST (the shared server) for uploads when it is set.
    const shared = process.env['STORAGE_EMULATOR_HOST'];
    delete process.env['STORAGE_EMULATOR_HOST'];
    const storage = new Storage({
      apiEndpoint: gcs.url,
      projectId: 'test-proj',
      retryOptions: { autoRetry: false },
    });
    process.env['STORAGE_EMULATOR_HOST'] = shared;
    bucket = uniqueName('faults');
    await storage.createBucket(bucket);
    return storage;
  }

  it('503 twice, then success: one object, nothing duplicated, everything acked', async () => {
    const storage = await ownServer();
    const { sink, publish, broker } = harness(storage, bucket, { maxItems: 3 });
    gcs.faults.inject({ kind: 'object.upload', status: 503, count: 2 });
    await sink.start();
    for (let i = 0; i < 3; i++) await publish('north', JSON.stringify({ i }));
    await until(() => sink.stats().objectsWritten === 1);
    await sink.stop();
    const files = await objects(storage, bucket);
    expect(files).toHaveLength(1);
    expect((await lines(storage, bucket, files[0]!.name)).map((r) => r['payload'])).toEqual([
      { i: 0 },
      { i: 1 },
      { i: 2 },
    ]);
    expect(broker.subscriptionStats('in-sub').backlogMessages).toBe(0);
  });

  it('an upload answered too late: the retry gets a real 412 from the server and is acked, one object', async () => {
    const storage = await ownServer();
    // The first upload is held by the server for 2.5 s, then written; the uploader gives up on it
    // at 2 s (a lost response, from its side). The retry is held 1.2 s, so it reaches the store
    // after the first one was written: GCS's ifGenerationMatch=0 answers 412, which means
    // "already written" and is acked.
    gcs.faults.inject({ kind: 'object.upload', hangMs: 2_500, count: 1 });
    gcs.faults.inject({ kind: 'object.upload', hangMs: 1_200, count: 1 });
    const { sink, publish, broker } = harness(
      storage,
      bucket,
      {
        maxItems: 2,
        uploader: createGcsUploader({
          bucket: storage.bucket(bucket),
          prefix: 'archive',
          uploadTimeoutMs: 2_000,
        }),
      },
      60_000,
    ); // no redelivery while the batch is retried

    await sink.start();
    await publish('east', '{"x":1}');
    await publish('east', '{"x":2}');
    await until(() => sink.stats().objectsAlreadyWritten === 1);
    await sink.stop();
    expect(sink.stats()).toMatchObject({ objectsWritten: 0, objectsAlreadyWritten: 1 });
    const files = await objects(storage, bucket);
    expect(files).toHaveLength(1);
    expect((await lines(storage, bucket, files[0]!.name)).map((r) => r['payload'])).toEqual([
      { x: 1 },
      { x: 2 },
    ]);
    expect(broker.subscriptionStats('in-sub').backlogMessages).toBe(0);
  });

  it('a redelivered batch whose object exists: the upload itself gets a real 412, acked, no second object', async () => {
    const storage = await ownServer();
    // The server's fault rules can answer 412 but cannot make the object exist, and acking a
    // batch on a 412 for an object that is not there would lose it. So the object is made the
    // way a lost response leaves it: an earlier delivery of these messages was written as one
    // batch and never acked (a crash, or its acks lost). Read them once and nack them to learn
    // their ids and publish times, then write that batch's object under its deterministic name.
    // The nacked messages come back in the reverse order: the name must not depend on it.
    const { sink, publish, broker } = harness(storage, bucket, {
      keys: { template: '{attributes.location}' },
      maxItems: 2,
    });
    await publish('east', '{"x":1}');
    await publish('east', '{"x":2}');
    const earlier = broker.consumer('in-sub');
    await earlier.start();
    const delivered: Message[] = [];
    for await (const message of earlier) {
      delivered.push(message);
      if (delivered.length === 2) break;
    }
    const records = delivered.map((message) => ({
      message,
      json: readJsonPayload(message.data).json,
    }));
    const previous = createGcsUploader({ bucket: storage.bucket(bucket), prefix: 'archive' });
    const written = await previous.upload('east', records);
    expect(written).toMatchObject({
      created: true,
      objectName: objectNameFor('archive', 'east', records),
    });
    for (const message of delivered) message.nack();
    await earlier.stop();
    const file = storage.bucket(bucket).file(written.objectName);
    const [before] = await file.getMetadata();
    const uploadsBefore = gcs.requestCount('object.upload');

    await sink.start();
    await until(() => sink.stats().objectsAlreadyWritten + sink.stats().objectsWritten === 1);
    await until(() => broker.subscriptionStats('in-sub').backlogMessages === 0);
    await sink.stop();
    // One upload, answered 412 by the server's precondition check: counted, acked, not retried.
    expect(gcs.requestCount('object.upload') - uploadsBefore).toBe(1);
    expect(sink.stats()).toMatchObject({
      objectsWritten: 0,
      objectsAlreadyWritten: 1,
      recordsWritten: 2,
    });
    expect(broker.subscriptionStats('in-sub')).toMatchObject({ acked: 2, nacked: 2 });
    const files = await objects(storage, bucket);
    expect(files.map((f) => f.name)).toEqual([written.objectName]);
    const [after] = await file.getMetadata();
    expect(after.generation).toBe(before.generation);
    expect((await lines(storage, bucket, written.objectName)).map((r) => r['id'])).toEqual(
      delivered.map((message) => message.id),
    );
  });

  it('a lost response: the retried upload gets 412 and the batch is acked, one object', async () => {
    const storage = await ownServer();
    const real = createGcsUploader({ bucket: storage.bucket(bucket), prefix: 'archive' });
    let calls = 0;
    const { sink, publish, broker } = harness(storage, bucket, {
      maxItems: 2,
      uploader: {
        checkBucket: () => real.checkBucket(),
        upload: async (key, records) => {
          const result = await real.upload(key, records);
          if (++calls === 1) throw TributaryError.transient('TIMEOUT', 'response lost');
          return result;
        },
      },
    });
    await sink.start();
    await publish('east', '{"x":1}');
    await publish('east', '{"x":2}');
    await until(() => sink.stats().objectsAlreadyWritten === 1);
    await sink.stop();
    expect(calls).toBe(2);
    expect(sink.stats().objectsWritten).toBe(0);
    const files = await objects(storage, bucket);
    expect(files).toHaveLength(1);
    expect(await lines(storage, bucket, files[0]!.name)).toHaveLength(2);
    expect(broker.subscriptionStats('in-sub').backlogMessages).toBe(0);
  });
});
