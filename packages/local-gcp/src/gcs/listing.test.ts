import type { Bucket, GetFilesOptions } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsServer, type GcsServer } from './server.js';
import { clientModes, uniqueBucket } from './test-support/clients.js';

let server: GcsServer;

beforeAll(async () => {
  server = await startGcsServer({ port: 0 });
});

afterAll(async () => {
  await server.stop();
});

const names = [
  'dev/d1/2026/a.json',
  'dev/d1/2026/b.ndjson.gz',
  'dev/d2/x.json',
  'dev/d3/',
  'dev/d3/y.json',
  'dev/top.json',
  'other/z.json',
  'root.txt',
];

describe.each(clientModes)('listing through the official client ($mode)', ({ make }) => {
  let bucket: Bucket;

  beforeAll(async () => {
    [bucket] = await make(server.url).createBucket(uniqueBucket('list'));
    for (const name of names) await bucket.file(name).save(name, { resumable: false });
  });

  async function list(query: GetFilesOptions): Promise<{ files: string[]; prefixes: string[] }> {
    const [files, , response] = await bucket.getFiles({ ...query, autoPaginate: false });
    const prefixes = (response as { prefixes?: string[] } | undefined)?.prefixes ?? [];
    return { files: files.map((f) => f.name), prefixes };
  }

  it('lists everything in name order', async () => {
    const [files] = await bucket.getFiles();
    expect(files.map((f) => f.name)).toEqual([...names].sort());
  });

  it('filters by prefix', async () => {
    expect((await list({ prefix: 'dev/d1/' })).files).toEqual([
      'dev/d1/2026/a.json',
      'dev/d1/2026/b.ndjson.gz',
    ]);
  });

  it('groups by delimiter into prefixes[]', async () => {
    expect(await list({ prefix: 'dev/', delimiter: '/' })).toEqual({
      files: ['dev/top.json'],
      prefixes: ['dev/d1/', 'dev/d2/', 'dev/d3/'],
    });
    expect(await list({ delimiter: '/' })).toEqual({
      files: ['root.txt'],
      prefixes: ['dev/', 'other/'],
    });
  });

  it('includeTrailingDelimiter also returns the object named like a prefix', async () => {
    expect(await list({ prefix: 'dev/', delimiter: '/', includeTrailingDelimiter: true })).toEqual({
      files: ['dev/d3/', 'dev/top.json'],
      prefixes: ['dev/d1/', 'dev/d2/', 'dev/d3/'],
    });
  });

  it('pages with maxResults, autoPaginate:false and pageToken', async () => {
    const seen: string[] = [];
    let query: GetFilesOptions | null = { maxResults: 3, autoPaginate: false };
    let pages = 0;
    while (query !== null) {
      const [files, nextQuery]: [{ name: string }[], GetFilesOptions | null, unknown] =
        (await bucket.getFiles(query)) as never;
      expect(files.length).toBeLessThanOrEqual(3);
      seen.push(...files.map((f) => f.name));
      query = nextQuery;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...names].sort());
  });

  it('pages through prefixes without repeating them', async () => {
    const first = await bucket.getFiles({
      delimiter: '/',
      prefix: 'dev/',
      maxResults: 2,
      autoPaginate: false,
    });
    const firstPrefixes = (first[2] as { prefixes?: string[] }).prefixes ?? [];
    expect(firstPrefixes).toEqual(['dev/d1/', 'dev/d2/']);
    expect(first[1]).toMatchObject({ pageToken: expect.any(String) });
    const second = await bucket.getFiles({ ...first[1], autoPaginate: false });
    expect((second[2] as { prefixes?: string[] }).prefixes).toEqual(['dev/d3/']);
    expect(second[0].map((f) => f.name)).toEqual(['dev/top.json']);
    expect(second[1]).toBeNull();
  });

  it('honours startOffset / endOffset and matchGlob', async () => {
    expect((await list({ startOffset: 'dev/d2', endOffset: 'dev/top.json' })).files).toEqual([
      'dev/d2/x.json',
      'dev/d3/',
      'dev/d3/y.json',
    ]);
    expect((await list({ matchGlob: '**/*.json' })).files).toEqual([
      'dev/d1/2026/a.json',
      'dev/d2/x.json',
      'dev/d3/y.json',
      'dev/top.json',
      'other/z.json',
    ]);
    expect((await list({ matchGlob: 'dev/*/*.json' })).files).toEqual([
      'dev/d2/x.json',
      'dev/d3/y.json',
    ]);
    expect((await list({ matchGlob: '{root,other/z}.txt' })).files).toEqual(['root.txt']);
  });

  it('lists an empty result for an unknown prefix', async () => {
    expect(await list({ prefix: 'nothing/' })).toEqual({ files: [], prefixes: [] });
  });
});

describe('listing past one server page', () => {
  it('autoPaginate follows nextPageToken past the 1000-item page limit', async () => {
    const storage = clientModes[0].make(server.url);
    const [bucket] = await storage.createBucket(uniqueBucket('many'));
    const count = 1005;
    const pending = Array.from({ length: count }, (_, i) => `obj-${String(i).padStart(5, '0')}`);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
          await bucket.file(name).save('x', { resumable: false });
        }
      }),
    );
    const before = server.requestCount('object.list');
    const [files] = await bucket.getFiles();
    expect(files).toHaveLength(count);
    expect(server.requestCount('object.list') - before).toBe(2);
  }, 90_000);
});
