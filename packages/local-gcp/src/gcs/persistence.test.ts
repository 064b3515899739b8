import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsServer } from './server.js';
import { apiEndpointClient, emulatorHostClient } from './test-support/clients.js';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-gcs-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('persistence to dataDir', () => {
  it('writes objects as plain files, reloads them with metadata on the next start', async () => {
    const first = await startGcsServer({ port: 0, dataDir });
    const storage = apiEndpointClient(first.url);
    const [bucket] = await storage.createBucket('archive', { labels: { env: 'local' } });
    const gz = gzipSync('{"a":1}\n{"a":2}\n');
    await bucket.file('dev/2026/11/22/batch-1.jsonl.gz').save(gz, {
      resumable: false,
      metadata: {
        contentType: 'application/x-ndjson',
        contentEncoding: 'gzip',
        metadata: { batch: '1' },
      },
    });
    await bucket.file('plain.txt').save('hello', { resumable: true });
    // A name that cannot be a file next to a folder of the same name, and one ending in '/'.
    await bucket.file('dev').save('clash', { resumable: false });
    await bucket.file('folder/').save('', { resumable: false });
    await bucket.file('to-delete.txt').save('bye', { resumable: false });
    await bucket.file('to-delete.txt').delete();
    const [before] = await bucket.file('dev/2026/11/22/batch-1.jsonl.gz').getMetadata();
    await first.stop();

    // A person can open the files.
    expect(await readFile(join(dataDir, 'archive', 'dev/2026/11/22/batch-1.jsonl.gz'))).toEqual(gz);
    expect(await readFile(join(dataDir, 'archive', 'plain.txt'), 'utf8')).toBe('hello');
    expect(await exists(join(dataDir, 'archive', 'to-delete.txt'))).toBe(false);

    const second = await startGcsServer({ port: 0, dataDir });
    try {
      const again = emulatorHostClient(second.url).bucket('archive');
      expect((await again.getMetadata())[0].labels).toEqual({ env: 'local' });
      const [files] = await again.getFiles();
      expect(files.map((f) => f.name).sort()).toEqual(
        ['dev', 'dev/2026/11/22/batch-1.jsonl.gz', 'folder/', 'plain.txt'].sort(),
      );
      const file = again.file('dev/2026/11/22/batch-1.jsonl.gz');
      const [after] = await file.getMetadata();
      for (const field of [
        'generation',
        'md5Hash',
        'crc32c',
        'contentEncoding',
        'contentType',
        'size',
      ] as const) {
        expect(after[field]).toBe(before[field]);
      }
      expect(after.metadata).toEqual({ batch: '1' });
      expect((await file.download())[0].toString()).toBe('{"a":1}\n{"a":2}\n');
      expect((await again.file('dev').download())[0].toString()).toBe('clash');
      expect((await again.file('folder/').download())[0].length).toBe(0);

      // Create-only still holds after the reload.
      const error = await file
        .save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })
        .catch((e: unknown) => e);
      expect((error as { code?: unknown }).code).toBe(412);

      // Updates and deletes reach the disk.
      await again.file('plain.txt').setMetadata({ metadata: { edited: 'yes' } });
      await again.file('plain.txt').save('hello again', { resumable: false });
      expect(await readFile(join(dataDir, 'archive', 'plain.txt'), 'utf8')).toBe('hello again');
      await again.file('dev').delete();
      await again.file('folder/').delete();
      await file.delete();
      expect(await exists(join(dataDir, 'archive', 'dev'))).toBe(false);
    } finally {
      await second.stop();
    }
  });

  it('picks up files copied into a bucket folder by hand, and deletes a bucket folder', async () => {
    await mkdir(join(dataDir, 'seeded', 'in'), { recursive: true });
    await writeFile(join(dataDir, 'seeded', 'in', 'a.json'), '{"seeded":true}');
    const server = await startGcsServer({ port: 0, dataDir });
    try {
      const bucket = apiEndpointClient(server.url).bucket('seeded');
      expect((await bucket.exists())[0]).toBe(true);
      const [metadata] = await bucket.file('in/a.json').getMetadata();
      expect(metadata.size).toBe('15');
      expect((await bucket.file('in/a.json').download())[0].toString()).toBe('{"seeded":true}');
      await bucket.file('in/a.json').delete();
      await bucket.delete();
      expect(await readdir(dataDir)).not.toContain('seeded');
    } finally {
      await server.stop();
    }
  });
});
