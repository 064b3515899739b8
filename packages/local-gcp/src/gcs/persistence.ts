import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { checksums } from './hashes.js';
import type { StoredBucket, StoredObject } from './model.js';

/** Where the store keeps its state between runs. */
export interface Persistence {
  load(): Promise<{ buckets: StoredBucket[]; objects: StoredObject[] }>;
  writeBucket(bucket: StoredBucket): Promise<void>;
  deleteBucket(name: string): Promise<void>;
  /** `dataChanged` is false for metadata-only updates, which rewrite only the sidecar. */
  writeObject(object: StoredObject, dataChanged: boolean): Promise<void>;
  deleteObject(bucket: string, name: string): Promise<void>;
}

/** Sidecar content: the object without its bytes, plus where the bytes are. */
type ObjectRecord = Omit<StoredObject, 'data'> & { readonly dataFile: string };

/** Hidden folder for sidecars; bucket names cannot start with a dot, so it never collides. */
const META_DIR = '.tributary-gcs';

/**
 * Keeps objects as plain files a person can open: `<dataDir>/<bucket>/<object name>`. Metadata
 * lives in `<dataDir>/.tributary-gcs/`: `buckets/<bucket>.json` and
 * `objects/<bucket>/<sha256 of name>.json`. Names that cannot be a path (`a/../b`, `dir/`, or
 * `a` next to `a/b`) keep their bytes next to the sidecar instead. Files put into a bucket
 * folder by hand are picked up as objects on the next start; folders named like buckets become
 * buckets.
 */
export function createDiskPersistence(dataDir: string): Persistence {
  return new DiskPersistence(dataDir);
}

class DiskPersistence implements Persistence {
  readonly #root: string;
  readonly #meta: string;

  constructor(root: string) {
    this.#root = root;
    this.#meta = join(root, META_DIR);
  }

  async load(): Promise<{ buckets: StoredBucket[]; objects: StoredObject[] }> {
    await mkdir(join(this.#meta, 'tmp'), { recursive: true });
    const buckets = new Map<string, StoredBucket>();
    for (const file of await listDir(join(this.#meta, 'buckets'))) {
      if (!file.endsWith('.json')) continue;
      const bucket = JSON.parse(
        await readFile(join(this.#meta, 'buckets', file), 'utf8'),
      ) as StoredBucket;
      buckets.set(bucket.name, bucket);
    }
    for (const dir of await listDir(this.#root)) {
      if (dir.startsWith('.') || buckets.has(dir) || !/^[a-z0-9][a-z0-9._-]+$/.test(dir)) continue;
      const now = new Date().toISOString();
      const bucket: StoredBucket = {
        name: dir,
        location: 'US',
        storageClass: 'STANDARD',
        metageneration: 1,
        timeCreated: now,
        updated: now,
      };
      buckets.set(dir, bucket);
      await this.writeBucket(bucket);
    }
    const objects: StoredObject[] = [];
    for (const bucket of buckets.values()) objects.push(...(await this.#loadObjects(bucket.name)));
    return { buckets: [...buckets.values()], objects };
  }

  async writeBucket(bucket: StoredBucket): Promise<void> {
    await mkdir(join(this.#root, bucket.name), { recursive: true });
    await this.#atomicWrite(
      join(this.#meta, 'buckets', `${bucket.name}.json`),
      JSON.stringify(bucket, null, 2),
    );
  }

  async deleteBucket(name: string): Promise<void> {
    await rm(join(this.#meta, 'buckets', `${name}.json`), { force: true });
    await rm(join(this.#meta, 'objects', name), { recursive: true, force: true });
    await rm(join(this.#root, name), { recursive: true, force: true });
  }

  async writeObject(object: StoredObject, dataChanged: boolean): Promise<void> {
    const sidecar = this.#sidecarPath(object.bucket, object.name);
    const previous = await readRecord(sidecar);
    let dataFile = previous?.dataFile;
    if (dataChanged || dataFile === undefined) {
      dataFile = await this.#writeData(object);
      if (previous !== undefined && previous.dataFile !== dataFile) {
        await this.#removeData(object.bucket, previous.dataFile);
      }
    }
    const record: ObjectRecord = { ...withoutData(object), dataFile };
    await this.#atomicWrite(sidecar, JSON.stringify(record, null, 2));
  }

  async deleteObject(bucket: string, name: string): Promise<void> {
    const sidecar = this.#sidecarPath(bucket, name);
    const previous = await readRecord(sidecar);
    await rm(sidecar, { force: true });
    if (previous !== undefined) await this.#removeData(bucket, previous.dataFile);
  }

  async #loadObjects(bucket: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    const known = new Set<string>();
    const dir = join(this.#meta, 'objects', bucket);
    for (const file of await listDir(dir)) {
      if (!file.endsWith('.json')) continue;
      const record = await readRecord(join(dir, file));
      if (record === undefined) continue;
      const data = await readFile(join(this.#root, record.dataFile)).catch(() => undefined);
      if (data === undefined) continue;
      known.add(record.dataFile);
      const loaded: Record<string, unknown> = { ...record, data, ...checksums(data) };
      Reflect.deleteProperty(loaded, 'dataFile');
      objects.push(loaded as unknown as StoredObject);
    }
    // Files copied into the bucket folder by hand become objects.
    for (const path of await walk(join(this.#root, bucket))) {
      const dataFile = relative(this.#root, path);
      if (known.has(dataFile)) continue;
      const data = await readFile(path);
      const now = new Date().toISOString();
      const object: StoredObject = {
        bucket,
        name: relative(join(this.#root, bucket), path).split(sep).join('/'),
        data,
        contentType: 'application/octet-stream',
        generation: (BigInt(Date.now()) * 1000n + BigInt(objects.length)).toString(),
        metageneration: 1,
        ...checksums(data),
        timeCreated: now,
        updated: now,
      };
      await this.#atomicWrite(
        this.#sidecarPath(bucket, object.name),
        JSON.stringify({ ...withoutData(object), dataFile }, null, 2),
      );
      objects.push(object);
    }
    return objects;
  }

  /** Writes the bytes under their natural path if possible; returns the path used. */
  async #writeData(object: StoredObject): Promise<string> {
    if (isPathSafe(object.name)) {
      const natural = join(object.bucket, ...object.name.split('/'));
      try {
        await mkdir(dirname(join(this.#root, natural)), { recursive: true });
        await this.#atomicWrite(join(this.#root, natural), object.data);
        return natural;
      } catch (error) {
        if (!isPathConflict(error)) throw error;
      }
    }
    const fallback = relative(
      this.#root,
      this.#sidecarPath(object.bucket, object.name).replace(/\.json$/, '.data'),
    );
    await this.#atomicWrite(join(this.#root, fallback), object.data);
    return fallback;
  }

  async #removeData(bucket: string, dataFile: string): Promise<void> {
    const path = join(this.#root, dataFile);
    await rm(path, { force: true });
    // Remove folders the object name implied, up to (not including) the bucket folder.
    const stop = join(this.#root, bucket);
    for (let dir = dirname(path); dir.startsWith(stop + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  #sidecarPath(bucket: string, name: string): string {
    const hash = createHash('sha256').update(name).digest('hex');
    return join(this.#meta, 'objects', bucket, `${hash}.json`);
  }

  async #atomicWrite(path: string, content: string | Buffer): Promise<void> {
    const tmp = join(this.#meta, 'tmp', randomUUID());
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, content);
    try {
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
}

function withoutData(object: StoredObject): Omit<StoredObject, 'data'> {
  const copy: Record<string, unknown> = { ...object };
  Reflect.deleteProperty(copy, 'data');
  return copy as Omit<StoredObject, 'data'>;
}

function isPathSafe(name: string): boolean {
  const segments = name.split('/');
  return segments.every(
    (segment) =>
      segment !== '' &&
      segment !== '.' &&
      segment !== '..' &&
      !segment.includes('\0') &&
      Buffer.byteLength(segment) <= 200,
  );
}

function isPathConflict(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY';
}

async function readRecord(path: string): Promise<ObjectRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ObjectRecord;
  } catch {
    return undefined;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return files;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
