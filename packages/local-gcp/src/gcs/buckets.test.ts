import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsServer, type GcsServer } from './server.js';
import { clientModes, errorCode, uniqueBucket } from './test-support/clients.js';

let server: GcsServer;

beforeAll(async () => {
  server = await startGcsServer({ port: 0 });
});

afterAll(async () => {
  await server.stop();
});

describe.each(clientModes)('buckets through the official client ($mode)', ({ make }) => {
  it('creates a bucket, sees it exist and reads its metadata', async () => {
    const storage = make(server.url);
    const name = uniqueBucket('create');
    const [bucket, apiResponse] = await storage.createBucket(name, { labels: { team: 'data' } });
    expect(bucket.name).toBe(name);
    expect(apiResponse).toMatchObject({ kind: 'storage#bucket', name, id: name });

    expect(await bucket.exists()).toEqual([true]);
    const [metadata] = await bucket.getMetadata();
    expect(metadata).toMatchObject({
      name,
      location: 'US',
      storageClass: 'STANDARD',
      metageneration: '1',
      labels: { team: 'data' },
    });
    expect(Date.parse(metadata.timeCreated ?? '')).not.toBeNaN();
  });

  it('answers 409 to a second create of the same name', async () => {
    const storage = make(server.url);
    const name = uniqueBucket('dup');
    await storage.createBucket(name);
    const error = await storage.createBucket(name).catch((e: unknown) => e);
    expect(errorCode(error)).toBe(409);
    expect((error as Error).message).toMatch(/already own it/);
  });

  it('answers 404 for a missing bucket: exists is false, getMetadata and delete fail', async () => {
    const bucket = make(server.url).bucket(uniqueBucket('missing'));
    expect(await bucket.exists()).toEqual([false]);
    const metadataError = await bucket.getMetadata().catch((e: unknown) => e);
    expect(errorCode(metadataError)).toBe(404);
    expect((metadataError as Error).message).toBe('The specified bucket does not exist.');
    expect(errorCode(await bucket.delete().catch((e: unknown) => e))).toBe(404);
    expect(
      errorCode(
        await bucket
          .file('x')
          .save('x', { resumable: false })
          .catch((e: unknown) => e),
      ),
    ).toBe(404);
  });

  it('lists buckets, with paging', async () => {
    const storage = make(server.url);
    const prefix = uniqueBucket('ls');
    const names = ['a', 'b', 'c'].map((suffix) => `${prefix}-${suffix}`);
    for (const name of names) await storage.createBucket(name);
    const [all] = await storage.getBuckets();
    expect(all.map((b) => b.name)).toEqual(expect.arrayContaining(names));

    const [firstPage, nextQuery] = await storage.getBuckets({
      prefix,
      maxResults: 2,
      autoPaginate: false,
    });
    expect(firstPage.map((b) => b.name)).toEqual(names.slice(0, 2));
    expect(nextQuery).toMatchObject({ pageToken: expect.any(String) });
    const [rest, last] = await storage.getBuckets({ ...nextQuery, autoPaginate: false });
    expect(rest.map((b) => b.name)).toEqual(names.slice(2));
    expect(last).toBeNull();
  });

  it('patches labels (metageneration + 1)', async () => {
    const storage = make(server.url);
    const [bucket] = await storage.createBucket(uniqueBucket('labels'), { labels: { a: '1' } });
    const [metadata] = await bucket.setMetadata({ labels: { b: '2' } });
    expect(metadata.labels).toEqual({ a: '1', b: '2' });
    expect(metadata.metageneration).toBe('2');
  });

  it('deletes an empty bucket, refuses a non-empty one with 409', async () => {
    const storage = make(server.url);
    const [bucket] = await storage.createBucket(uniqueBucket('delete'));
    await bucket.file('keep.txt').save('x', { resumable: false });
    const error = await bucket.delete().catch((e: unknown) => e);
    expect(errorCode(error)).toBe(409);
    expect((error as Error).message).toBe('The bucket you tried to delete is not empty.');

    await bucket.file('keep.txt').delete();
    await bucket.delete();
    expect(await bucket.exists()).toEqual([false]);
  });

  it('rejects an invalid bucket name with 400', async () => {
    const error = await make(server.url)
      .createBucket('Bad_Name!')
      .catch((e: unknown) => e);
    expect(errorCode(error)).toBe(400);
  });
});
