import type { Bucket } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
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

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('base64');

describe.each(clientModes)('objects through the official client ($mode)', ({ make }) => {
  async function newBucket(label: string): Promise<Bucket> {
    const [bucket] = await make(server.url).createBucket(uniqueBucket(label));
    return bucket;
  }

  it('saves with a multipart upload (resumable:false) and reads back bytes and metadata', async () => {
    const bucket = await newBucket('multipart');
    const file = bucket.file('dev/d1/2026/a.json');
    await file.save('{"a":1}', {
      resumable: false,
      metadata: { contentType: 'application/json', metadata: { deviceId: 'd1' } },
    });
    const [bytes] = await file.download();
    expect(bytes.toString()).toBe('{"a":1}');
    const [metadata] = await file.getMetadata();
    expect(metadata).toMatchObject({
      kind: 'storage#object',
      name: 'dev/d1/2026/a.json',
      bucket: bucket.name,
      id: `${bucket.name}/dev/d1/2026/a.json/${String(metadata.generation)}`,
      contentType: 'application/json',
      size: '7',
      md5Hash: 'u2y1xo30ZSlByvZSo2by2A==',
      crc32c: 'z/fVag==',
      metageneration: '1',
      storageClass: 'STANDARD',
      metadata: { deviceId: 'd1' },
    });
    expect(metadata.selfLink).toBe(
      `${server.url}/storage/v1/b/${bucket.name}/o/${encodeURIComponent('dev/d1/2026/a.json')}`,
    );
    expect(metadata.mediaLink).toContain(`/download/storage/v1/b/${bucket.name}/o/`);
    expect(typeof metadata.etag).toBe('string');
    expect(metadata.timeCreated).toBe(metadata.updated);
    expect(Number(metadata.generation)).toBeGreaterThan(0);
  });

  it('saves binary data with a resumable upload (single chunk) and keeps every byte', async () => {
    const bucket = await newBucket('resumable');
    const data = randomBytes(300 * 1024);
    const file = bucket.file('blob.bin');
    await file.save(data, { resumable: true });
    const [back] = await file.download();
    expect(back.equals(data)).toBe(true);
    expect((await file.getMetadata())[0].md5Hash).toBe(md5(data));
  });

  it('saves a 9 MiB object with a resumable upload', async () => {
    const bucket = await newBucket('big');
    const data = randomBytes(9 * 1024 * 1024);
    const file = bucket.file('big.bin');
    await file.save(data, { resumable: true });
    const [metadata] = await file.getMetadata();
    expect(metadata.size).toBe(String(data.length));
    expect(metadata.md5Hash).toBe(md5(data));
    expect((await file.download())[0].equals(data)).toBe(true);
  });

  it('uploads in several chunks with a small chunkSize (308 Resume Incomplete + Range)', async () => {
    const bucket = await newBucket('chunks');
    const data = randomBytes(1024 * 1024 + 1000);
    const chunkSize = 256 * 1024;
    const before = server.requestCount('object.upload.chunk');
    const file = bucket.file('chunked.bin');
    await file.save(data, { resumable: true, chunkSize });
    expect(server.requestCount('object.upload.chunk') - before).toBe(
      Math.ceil(data.length / chunkSize),
    );
    expect((await file.download())[0].equals(data)).toBe(true);
  });

  it('streams with createWriteStream (resumable and not)', async () => {
    const bucket = await newBucket('stream');
    for (const resumable of [true, false]) {
      const file = bucket.file(`streamed-${String(resumable)}.txt`);
      await pipeline(
        Readable.from(['line 1\n', 'line 2\n', 'line 3\n']),
        file.createWriteStream({ resumable, metadata: { contentType: 'text/plain' } }),
      );
      const [bytes] = await file.download();
      expect(bytes.toString()).toBe('line 1\nline 2\nline 3\n');
      expect((await file.getMetadata())[0].contentType).toBe('text/plain');
    }
  });

  it('gzip:true: stores gzip bytes with contentEncoding gzip; download decompresses unless decompress:false', async () => {
    const bucket = await newBucket('gzip-client');
    const text = 'hello gzip '.repeat(500);
    for (const resumable of [false, true]) {
      const file = bucket.file(`client-gzip-${String(resumable)}.txt`);
      await file.save(text, { gzip: true, resumable, contentType: 'text/plain' });
      const [metadata] = await file.getMetadata();
      expect(metadata.contentEncoding).toBe('gzip');
      expect(Number(metadata.size)).toBeLessThan(text.length);
      expect((await file.download())[0].toString()).toBe(text);
      const [raw] = await file.download({ decompress: false });
      expect(raw.length).toBe(Number(metadata.size));
      expect(raw[0]).toBe(0x1f);
      expect(raw[1]).toBe(0x8b);
      expect(gunzipSync(raw).toString()).toBe(text);
    }
  });

  it('pre-gzipped with contentEncoding gzip: raw with decompress:false, content by default', async () => {
    const bucket = await newBucket('gzip-pre');
    const jsonl = Array.from({ length: 100 }, (_, i) => JSON.stringify({ i, device: 'd1' })).join(
      '\n',
    );
    const gz = gzipSync(jsonl);
    const file = bucket.file('batch.jsonl.gz');
    await file.save(gz, {
      resumable: false,
      metadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
    });
    const [metadata] = await file.getMetadata();
    expect(metadata).toMatchObject({
      contentEncoding: 'gzip',
      contentType: 'application/x-ndjson',
      size: String(gz.length),
      md5Hash: md5(gz),
    });
    expect((await file.download())[0].toString()).toBe(jsonl);
    expect((await file.download({ decompress: false }))[0].equals(gz)).toBe(true);
  });

  it('serves byte ranges (start/end and a tail)', async () => {
    const bucket = await newBucket('range');
    const file = bucket.file('digits.txt');
    await file.save('0123456789', { resumable: false });
    expect((await file.download({ start: 2, end: 5 }))[0].toString()).toBe('2345');
    expect((await file.download({ start: 7 }))[0].toString()).toBe('789');
    expect((await file.download({ end: -3 }))[0].toString()).toBe('789');
  });

  it('setMetadata merges custom metadata, changes fields and bumps metageneration', async () => {
    const bucket = await newBucket('patch');
    const file = bucket.file('m.txt');
    await file.save('x', { resumable: false, metadata: { metadata: { a: '1', b: '2' } } });
    const [before] = await file.getMetadata();
    const [after] = await file.setMetadata({
      contentType: 'text/plain',
      cacheControl: 'no-store',
      metadata: { b: null, c: '3' },
    });
    expect(after).toMatchObject({
      contentType: 'text/plain',
      cacheControl: 'no-store',
      metadata: { a: '1', c: '3' },
      metageneration: '2',
      generation: before.generation,
    });
    expect(after.etag).not.toBe(before.etag);
    expect((await file.getMetadata())[0].metadata).toEqual({ a: '1', c: '3' });
  });

  it('overwriting makes a new generation', async () => {
    const bucket = await newBucket('overwrite');
    const file = bucket.file('o.txt');
    await file.save('one', { resumable: false });
    const [first] = await file.getMetadata();
    await file.save('two', { resumable: false });
    const [second] = await file.getMetadata();
    expect(BigInt(second.generation ?? 0)).toBeGreaterThan(BigInt(first.generation ?? 0));
    expect(second.metageneration).toBe('1');
    expect((await file.download())[0].toString()).toBe('two');
  });

  it('exists / delete (then 404 on every read)', async () => {
    const bucket = await newBucket('delete');
    const file = bucket.file('gone.txt');
    expect(await file.exists()).toEqual([false]);
    await file.save('x', { resumable: false });
    expect(await file.exists()).toEqual([true]);
    await file.delete();
    expect(await file.exists()).toEqual([false]);
    const metadataError = await file.getMetadata().catch((e: unknown) => e);
    expect(errorCode(metadataError)).toBe(404);
    expect((metadataError as Error).message).toBe(`No such object: ${bucket.name}/gone.txt`);
    expect(errorCode(await file.download().catch((e: unknown) => e))).toBe(404);
    expect(errorCode(await file.delete().catch((e: unknown) => e))).toBe(404);
    expect(await file.delete({ ignoreNotFound: true })).toBeDefined();
  });

  it('copies (rewrite), moves and combines (compose)', async () => {
    const bucket = await newBucket('copy');
    const other = await newBucket('copy-dest');
    const a = bucket.file('a.txt');
    await a.save('AAA', {
      resumable: false,
      metadata: { contentType: 'text/plain', metadata: { k: 'v' } },
    });
    await bucket.file('b.txt').save('BBB', { resumable: false });

    await a.copy(other.file('copied.txt'));
    const [copied] = await other.file('copied.txt').getMetadata();
    expect(copied).toMatchObject({ contentType: 'text/plain', metadata: { k: 'v' }, size: '3' });
    expect((await other.file('copied.txt').download())[0].toString()).toBe('AAA');

    await bucket.file('b.txt').move('moved.txt');
    expect(await bucket.file('b.txt').exists()).toEqual([false]);
    expect((await bucket.file('moved.txt').download())[0].toString()).toBe('BBB');

    await bucket.combine(['a.txt', 'moved.txt'], 'ab.txt');
    expect((await bucket.file('ab.txt').download())[0].toString()).toBe('AAABBB');
  });

  it('keeps names with spaces, unicode, slashes and percent signs', async () => {
    const bucket = await newBucket('names');
    const names = ['with space.txt', 'ünï/cødé ✓.txt', 'a%2Fb?c#d.txt', 'deep/er/and/deeper/x'];
    for (const name of names) await bucket.file(name).save(name, { resumable: false });
    for (const name of names) {
      expect((await bucket.file(name).download())[0].toString()).toBe(name);
    }
    const [files] = await bucket.getFiles();
    expect(files.map((f) => f.name).sort()).toEqual([...names].sort());
  });
});
