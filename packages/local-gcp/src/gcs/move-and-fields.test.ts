import type { Bucket, File } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../harness/test-support/caught.js';
import { startGcsServer, type GcsServer } from './server.js';
import { clientModes, errorCode, uniqueBucket } from './test-support/clients.js';

let server: GcsServer;

beforeAll(async () => {
  server = await startGcsServer({ port: 0 });
});

afterAll(async () => {
  await server.stop();
});

describe.each(clientModes)('moveFileAtomic and fields ($mode)', ({ make }) => {
  async function newBucket(label: string): Promise<Bucket> {
    const [bucket] = await make(server.url).createBucket(uniqueBucket(label));
    return bucket;
  }

  // objects.move in the JSON API reference: same bucket, new generation, metadata kept;
  // ifGenerationMatch applies to the destination, ifSourceGenerationMatch to the source.
  it('moves an object atomically (objects.move) and honours the destination precondition', async () => {
    const bucket = await newBucket('move');
    const source = bucket.file('in/a b.json');
    await source.save('{"a":1}', {
      resumable: false,
      metadata: { contentType: 'application/json', metadata: { deviceId: 'd1' } },
    });
    const [moved] = await source.moveFileAtomic('done/a b.json', {
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    expect((moved as File).name).toBe('done/a b.json');
    const [bytes] = await bucket.file('done/a b.json').download();
    expect(bytes.toString()).toBe('{"a":1}');
    const [metadata] = await bucket.file('done/a b.json').getMetadata();
    expect(metadata).toMatchObject({
      contentType: 'application/json',
      metadata: { deviceId: 'd1' },
    });
    const [sourceExists] = await source.exists();
    expect(sourceExists).toBe(false);

    const other = bucket.file('in/b.json');
    await other.save('{"b":2}', { resumable: false });
    const error = await caught(() =>
      other.moveFileAtomic('done/a b.json', { preconditionOpts: { ifGenerationMatch: 0 } }),
    );
    expect(errorCode(error)).toBe(412);
    const [stillThere] = await other.exists();
    expect(stillThere).toBe(true);
  });

  // Partial responses ("fields" system parameter of Google's JSON APIs).
  it('trims resources to the fields parameter, in lists and in gets', async () => {
    const bucket = await newBucket('fields');
    await bucket.file('a.txt').save('1', { resumable: false, metadata: { metadata: { k: 'v' } } });
    await bucket.file('b.txt').save('22', { resumable: false });
    // With `fields`, the client hands back the raw (trimmed) items instead of File objects.
    const [files] = await bucket.getFiles({ fields: 'items(name,size),nextPageToken' });
    expect(files as unknown[]).toEqual([
      { name: 'a.txt', size: '1' },
      { name: 'b.txt', size: '2' },
    ]);
    const [metadata] = await bucket.file('a.txt').getMetadata({ fields: 'name,metadata/k' });
    expect(metadata).toEqual({ name: 'a.txt', metadata: { k: 'v' } });
    const error = await caught(() => bucket.file('a.txt').getMetadata({ fields: 'name,(' }));
    expect(errorCode(error)).toBe(400);
  });
});
