import type { Bucket } from '@google-cloud/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearFaults, injectFault } from '../http/faults.js';
import { startGcsServer, type GcsServer } from './server.js';
import { clientModes, errorCode, uniqueBucket } from './test-support/clients.js';

let server: GcsServer;

beforeAll(async () => {
  server = await startGcsServer({ port: 0 });
});

afterEach(() => {
  server.faults.clear();
});

afterAll(async () => {
  await server.stop();
});

describe.each(clientModes)('preconditions through the official client ($mode)', ({ make }) => {
  let bucket: Bucket;

  beforeAll(async () => {
    [bucket] = await make(server.url).createBucket(uniqueBucket('pre'));
  });

  it('ifGenerationMatch:0 creates only once; the second create gets 412 (multipart and resumable)', async () => {
    for (const resumable of [false, true]) {
      const file = bucket.file(`create-only-${String(resumable)}.json`);
      const options = { resumable, preconditionOpts: { ifGenerationMatch: 0 } };
      await file.save('first', options);
      const error = await file.save('second', options).catch((e: unknown) => e);
      expect(errorCode(error)).toBe(412);
      expect((await file.download())[0].toString()).toBe('first');
    }
  });

  it('ifGenerationMatch on overwrite and delete: only the current generation passes', async () => {
    const file = bucket.file('gen.txt');
    await file.save('v1', { resumable: false });
    const [{ generation }] = await file.getMetadata();
    const current = Number(generation);

    const stale = await file
      .save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: current + 1 } })
      .catch((e: unknown) => e);
    expect(errorCode(stale)).toBe(412);
    await file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: current } });
    const [{ generation: second }] = await file.getMetadata();

    const deleteError = await file.delete({ ifGenerationMatch: current }).catch((e: unknown) => e);
    expect(errorCode(deleteError)).toBe(412);
    expect((deleteError as Error).message).toBe(
      'At least one of the pre-conditions you specified did not hold.',
    );
    expect(await file.exists()).toEqual([true]);
    await file.delete({ ifGenerationMatch: Number(second) });
    expect(await file.exists()).toEqual([false]);
  });

  it('ifGenerationNotMatch and ifMetagenerationMatch/NotMatch on delete and setMetadata', async () => {
    const file = bucket.file('meta.txt');
    await file.save('x', { resumable: false });
    const [{ generation }] = await file.getMetadata();
    expect(
      errorCode(
        await file.delete({ ifGenerationNotMatch: Number(generation) }).catch((e: unknown) => e),
      ),
    ).toBe(412);
    expect(
      errorCode(
        await file
          .setMetadata({ metadata: { a: '1' } }, { ifMetagenerationMatch: 2 })
          .catch((e: unknown) => e),
      ),
    ).toBe(412);
    const [patched] = await file.setMetadata(
      { metadata: { a: '1' } },
      { ifMetagenerationMatch: 1 },
    );
    expect(patched.metageneration).toBe('2');
    expect(
      errorCode(await file.delete({ ifMetagenerationNotMatch: 2 }).catch((e: unknown) => e)),
    ).toBe(412);
    await file.delete({ ifMetagenerationMatch: 2 });
  });

  it('ifGenerationMatch on getMetadata: 412 on mismatch', async () => {
    const file = bucket.file('read.txt');
    await file.save('x', { resumable: false });
    const [{ generation }] = await file.getMetadata();
    const [ok] = await file.getMetadata({ ifGenerationMatch: Number(generation) });
    expect(ok.generation).toBe(generation);
    expect(
      errorCode(await file.getMetadata({ ifGenerationMatch: 1 }).catch((e: unknown) => e)),
    ).toBe(412);
  });
});

describe('fault injection', () => {
  let bucketName: string;
  let bucket: Bucket;

  beforeAll(async () => {
    bucketName = uniqueBucket('faults');
    await clientModes[0].make(server.url).createBucket(bucketName);
  });

  // A fresh client per test: a save() without a precondition switches retries off on its
  // Storage instance (the client sets retryOptions.autoRetry = false and never restores it).
  beforeEach(() => {
    bucket = clientModes[0].make(server.url).bucket(bucketName);
  });

  it('an idempotent upload (ifGenerationMatch:0) is retried by the client past an injected 503', async () => {
    server.faults.inject({ kind: 'object.upload', status: 503, count: 1 });
    const before = server.requestCount('object.upload');
    await bucket
      .file('retried.json')
      .save('{"ok":true}', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(server.requestCount('object.upload') - before).toBe(2);
    expect((await bucket.file('retried.json').download())[0].toString()).toBe('{"ok":true}');
  });

  it('a non-idempotent upload (no precondition) surfaces the injected 503', async () => {
    await injectFault(server.url, { kind: 'object.upload', status: 503, count: 1 });
    const before = server.requestCount('object.upload');
    const error = await bucket
      .file('surfaced.json')
      .save('{}', { resumable: false })
      .catch((e: unknown) => e);
    expect(errorCode(error)).toBe(503);
    expect((error as Error).message).toBe('injected fault 503');
    expect(server.requestCount('object.upload') - before).toBe(1);
    expect(await bucket.file('surfaced.json').exists()).toEqual([false]);
  });

  it('answerAfterMs: the upload is stored at once and answered late (a lost response if the client dies first)', async () => {
    expect(() => {
      server.faults.inject({ kind: 'object.upload', status: 503, answerAfterMs: 10 });
    }).toThrow(RangeError);
    server.faults.inject({ kind: 'object.upload', answerAfterMs: 1_500, count: 1 });
    const started = Date.now();
    let answered = false;
    const saving = bucket
      .file('late.json')
      .save('{"late":true}', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })
      .then(() => (answered = true));
    // Another request sees the object while the upload still waits for its answer.
    while (!(await bucket.file('late.json').exists())[0]) {
      expect(answered).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answered).toBe(false);
    await saving;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect((await bucket.file('late.json').download())[0].toString()).toBe('{"late":true}');
  });

  it('reads are retried: getMetadata and download past 503 and 429', async () => {
    await bucket
      .file('read.json')
      .save('{}', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    server.faults.inject({ kind: 'object.get', status: 503, count: 1 });
    server.faults.inject({ kind: 'object.download', status: 429, count: 1 });
    expect((await bucket.file('read.json').getMetadata())[0].size).toBe('2');
    expect((await bucket.file('read.json').download())[0].toString()).toBe('{}');
  });

  it('a resumable upload is retried past a failed chunk PUT', async () => {
    server.faults.inject({ kind: 'object.upload.chunk', status: 503, count: 1 });
    await bucket.file('resumed.bin').save(Buffer.alloc(1000, 1), {
      resumable: true,
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    expect((await bucket.file('resumed.bin').getMetadata())[0].size).toBe('1000');
  });

  it('fails bucket creation with a permanent error, and clears rules over HTTP', async () => {
    await injectFault(server.url, { kind: 'bucket.create', status: 403, count: 5 });
    const storage = clientModes[1].make(server.url);
    expect(
      errorCode(await storage.createBucket(uniqueBucket('denied')).catch((e: unknown) => e)),
    ).toBe(403);
    await clearFaults(server.url);
    const [created] = await storage.createBucket(uniqueBucket('allowed'));
    expect((await created.exists())[0]).toBe(true);
  });
});
