import type { Bucket } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
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

const KMS_KEY = 'projects/test-proj/locations/us/keyRings/ring/cryptoKeys/key';

describe.each(clientModes)('GCS limits and refusals ($mode)', ({ make }) => {
  async function newBucket(label: string): Promise<Bucket> {
    const [bucket] = await make(server.url).createBucket(uniqueBucket(label));
    return bucket;
  }

  // The client library's system test "should throw original error message on non JSON
  // response on large metadata" sends exactly this against GCS.
  it('answers a 2.1 MB metadata part with a plain-text 400 "Metadata part is too large."', async () => {
    const bucket = await newBucket('meta-part');
    const file = bucket.file('large-metadata-error-test');
    const huge = { metadata: { custom: 'a'.repeat(2.1e6) } };
    const multipart = await caught(() => file.save('test', { resumable: false, metadata: huge }));
    expect(multipart.message).toMatch(/Metadata part is too large/);
    expect(errorCode(multipart)).toBe(400);
    const resumable = await caught(() => file.save('test', { resumable: true, metadata: huge }));
    expect(errorCode(resumable)).toBe(400);
    const [exists] = await file.exists();
    expect(exists).toBe(false);
  });

  // "Quotas & limits": custom metadata keys and values may total 8 KiB per object.
  it('refuses more than 8 KiB of custom metadata with 400, on upload and on patch', async () => {
    const bucket = await newBucket('meta-8k');
    const file = bucket.file('o.txt');
    const over = { metadata: { k: 'v'.repeat(8 * 1024) } };
    const atLimit = { metadata: { k: 'v'.repeat(8 * 1024 - 1) } };
    for (const resumable of [false, true]) {
      const error = await caught(() => file.save('x', { resumable, metadata: over }));
      expect([resumable, errorCode(error)]).toEqual([resumable, 400]);
    }
    await file.save('x', { resumable: false, metadata: atLimit });
    const patch = await caught(() => file.setMetadata({ metadata: { k2: 'w'.repeat(9000) } }));
    expect(errorCode(patch)).toBe(400);
    const [metadata] = await file.getMetadata();
    expect(Object.keys(metadata.metadata ?? {})).toEqual(['k']);
  });

  it('refuses customer-supplied encryption keys with 501 instead of storing plaintext', async () => {
    const bucket = await newBucket('csek');
    const encrypted = bucket.file('secret.txt', { encryptionKey: randomBytes(32) });
    for (const resumable of [false, true]) {
      const error = await caught(() => encrypted.save('secret data', { resumable }));
      expect([resumable, errorCode(error)]).toEqual([resumable, 501]);
      // A resumable session's error reaches the caller as gaxios's generic message.
      if (!resumable)
        expect(error.message).toMatch(/Customer-supplied encryption keys are refused/);
    }
    const [exists] = await bucket.file('secret.txt').exists();
    expect(exists).toBe(false);
  });

  it('refuses Cloud KMS keys (object kmsKeyName, bucket defaultKmsKeyName) with 501', async () => {
    const bucket = await newBucket('kms');
    const file = bucket.file('kms.txt', { kmsKeyName: KMS_KEY });
    for (const resumable of [false, true]) {
      const error = await caught(() => file.save('secret data', { resumable }));
      expect([resumable, errorCode(error)]).toEqual([resumable, 501]);
      if (!resumable) expect(error.message).toMatch(/Cloud KMS keys are refused/);
    }
    const bucketError = await caught(() =>
      make(server.url).createBucket(uniqueBucket('kms-bucket'), {
        encryption: { defaultKmsKeyName: KMS_KEY },
      } as Parameters<ReturnType<typeof make>['createBucket']>[1]),
    );
    expect(errorCode(bucketError)).toBe(501);
  });

  it('answers 501 notImplemented for JSON API methods it does not serve', async () => {
    const bucket = await newBucket('not-implemented');
    const error = await caught(() => bucket.getNotifications());
    expect(errorCode(error)).toBe(501);
    expect(error.message).toMatch(/is not implemented by the local GCS server$/);
  });
});
