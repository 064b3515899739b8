import { badRequest, GcsError, noSuchBucket, noSuchObject } from './errors.js';
import { checksums } from './hashes.js';
import {
  stringObjectFields,
  type ObjectFields,
  type StoredBucket,
  type StoredObject,
} from './model.js';
import type { Persistence } from './persistence.js';
import { checkPreconditions, type Preconditions } from './preconditions.js';

/** What a bucket is created with. */
export interface BucketInit {
  readonly name: string;
  readonly location?: string | undefined;
  readonly storageClass?: string | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** A metadata change: `null` removes a field, or one key of `metadata`. */
export type ObjectPatch = {
  readonly [K in (typeof stringObjectFields)[number]]?: string | null | undefined;
} & {
  readonly metadata?: Readonly<Record<string, string | null>> | null | undefined;
};

interface BucketEntry {
  bucket: StoredBucket;
  readonly objects: Map<string, StoredObject>;
  /** Object names in code-unit order; rebuilt lazily after a name is added or removed. */
  sorted: string[] | undefined;
}

const bucketNamePattern = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Buckets and objects in memory, with optional write-through {@link Persistence}. Every mutation
 * is applied in memory at once (so concurrent requests see a consistent order) and its disk write
 * is awaited before the method returns; writes to the same key are serialised.
 */
export class GcsStore {
  readonly #buckets = new Map<string, BucketEntry>();
  readonly #persistence: Persistence | undefined;
  readonly #writes = new Map<string, Promise<void>>();
  #lastGeneration = 0n;

  constructor(persistence?: Persistence) {
    this.#persistence = persistence;
  }

  /** Loads what the persistence holds. Call once, before serving. */
  async load(): Promise<void> {
    if (this.#persistence === undefined) return;
    const { buckets, objects } = await this.#persistence.load();
    for (const bucket of buckets) {
      this.#buckets.set(bucket.name, { bucket, objects: new Map(), sorted: undefined });
    }
    for (const object of objects) {
      const entry = this.#buckets.get(object.bucket);
      if (entry === undefined) continue;
      entry.objects.set(object.name, object);
      const generation = BigInt(object.generation);
      if (generation > this.#lastGeneration) this.#lastGeneration = generation;
    }
  }

  /** Waits for every pending disk write. */
  async flush(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  // --- buckets ---

  async createBucket(init: BucketInit): Promise<StoredBucket> {
    if (!bucketNamePattern.test(init.name) || init.name.includes('..')) {
      throw badRequest(`Invalid bucket name: '${init.name}'`);
    }
    if (this.#buckets.has(init.name)) {
      throw new GcsError(
        409,
        'conflict',
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    }
    const now = new Date().toISOString();
    const bucket: StoredBucket = {
      name: init.name,
      location: (init.location ?? 'US').toUpperCase(),
      storageClass: init.storageClass ?? 'STANDARD',
      labels: init.labels,
      metageneration: 1,
      timeCreated: now,
      updated: now,
    };
    this.#buckets.set(bucket.name, { bucket, objects: new Map(), sorted: undefined });
    await this.#write(`b:${bucket.name}`, (disk) => disk.writeBucket(bucket));
    return bucket;
  }

  bucket(name: string): StoredBucket {
    return this.#entry(name).bucket;
  }

  listBuckets(): StoredBucket[] {
    return [...this.#buckets.keys()]
      .sort()
      .map((name) => (this.#buckets.get(name) as BucketEntry).bucket);
  }

  async patchBucket(
    name: string,
    labels: Readonly<Record<string, string | null>> | null | undefined,
    replace = false,
  ): Promise<StoredBucket> {
    const entry = this.#entry(name);
    const merged: Record<string, string> =
      replace || labels === null ? {} : { ...entry.bucket.labels };
    for (const [key, value] of Object.entries(labels ?? {})) {
      if (value === null) Reflect.deleteProperty(merged, key);
      else merged[key] = value;
    }
    const bucket: StoredBucket = {
      ...entry.bucket,
      labels: Object.keys(merged).length === 0 ? undefined : merged,
      metageneration: entry.bucket.metageneration + 1,
      updated: new Date().toISOString(),
    };
    entry.bucket = bucket;
    await this.#write(`b:${name}`, (disk) => disk.writeBucket(bucket));
    return bucket;
  }

  async deleteBucket(name: string): Promise<void> {
    const entry = this.#entry(name);
    if (entry.objects.size > 0) {
      throw new GcsError(409, 'conflict', 'The bucket you tried to delete is not empty.');
    }
    this.#buckets.delete(name);
    await this.#write(`b:${name}`, (disk) => disk.deleteBucket(name));
  }

  // --- objects ---

  findObject(bucket: string, name: string): StoredObject | undefined {
    return this.#entry(bucket).objects.get(name);
  }

  object(bucket: string, name: string): StoredObject {
    const found = this.findObject(bucket, name);
    if (found === undefined) throw noSuchObject(bucket, name);
    return found;
  }

  /** Object names of a bucket, sorted by code unit, as GCS lists them. */
  sortedNames(bucket: string): readonly string[] {
    const entry = this.#entry(bucket);
    entry.sorted ??= [...entry.objects.keys()].sort();
    return entry.sorted;
  }

  /** Writes a new generation of an object, after checking `conditions` against the live one. */
  async putObject(
    bucket: string,
    name: string,
    data: Buffer,
    fields: ObjectFields,
    conditions: Preconditions,
  ): Promise<StoredObject> {
    validateObjectName(name);
    const entry = this.#entry(bucket);
    const current = entry.objects.get(name);
    checkPreconditions(current, conditions);
    const now = new Date().toISOString();
    const object: StoredObject = {
      ...pickFields(fields),
      contentType: fields.contentType ?? 'application/octet-stream',
      bucket,
      name,
      data,
      generation: this.#nextGeneration(),
      metageneration: 1,
      ...checksums(data),
      timeCreated: now,
      updated: now,
    };
    this.#set(entry, object);
    await this.#write(`o:${bucket}/${name}`, (disk) => disk.writeObject(object, true));
    return object;
  }

  /**
   * Changes metadata: `replace` (an `update`, PUT) resets every settable field to `patch`;
   * otherwise (a `patch`) only the fields present change and `metadata` keys merge.
   */
  async patchObject(
    bucket: string,
    name: string,
    patch: ObjectPatch,
    replace: boolean,
    conditions: Preconditions,
  ): Promise<StoredObject> {
    const entry = this.#entry(bucket);
    const current = entry.objects.get(name);
    if (current === undefined) throw noSuchObject(bucket, name);
    checkPreconditions(current, conditions);
    const next: Record<string, unknown> = { ...current };
    for (const field of stringObjectFields) {
      const value = patch[field];
      if (value === null || (replace && value === undefined)) Reflect.deleteProperty(next, field);
      else if (value !== undefined) next[field] = value;
    }
    const metadata: Record<string, string> =
      replace || patch.metadata === null ? {} : { ...current.metadata };
    for (const [key, value] of Object.entries(patch.metadata ?? {})) {
      if (value === null) Reflect.deleteProperty(metadata, key);
      else metadata[key] = value;
    }
    next['metadata'] = Object.keys(metadata).length === 0 ? undefined : metadata;
    next['contentType'] ??= 'application/octet-stream';
    const object = {
      ...next,
      metageneration: current.metageneration + 1,
      updated: new Date().toISOString(),
    } as StoredObject;
    this.#set(entry, object);
    await this.#write(`o:${bucket}/${name}`, (disk) => disk.writeObject(object, false));
    return object;
  }

  async deleteObject(bucket: string, name: string, conditions: Preconditions): Promise<void> {
    const entry = this.#entry(bucket);
    const current = entry.objects.get(name);
    if (current === undefined) throw noSuchObject(bucket, name);
    checkPreconditions(current, conditions);
    entry.objects.delete(name);
    entry.sorted = undefined;
    await this.#write(`o:${bucket}/${name}`, (disk) => disk.deleteObject(bucket, name));
  }

  #entry(bucket: string): BucketEntry {
    const entry = this.#buckets.get(bucket);
    if (entry === undefined) throw noSuchBucket();
    return entry;
  }

  #set(entry: BucketEntry, object: StoredObject): void {
    if (!entry.objects.has(object.name)) entry.sorted = undefined;
    entry.objects.set(object.name, object);
  }

  #nextGeneration(): string {
    const now = BigInt(Date.now()) * 1000n;
    this.#lastGeneration = now > this.#lastGeneration ? now : this.#lastGeneration + 1n;
    return this.#lastGeneration.toString();
  }

  async #write(key: string, work: (disk: Persistence) => Promise<void>): Promise<void> {
    const disk = this.#persistence;
    if (disk === undefined) return;
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const next = previous.then(
      () => work(disk),
      () => work(disk),
    );
    this.#writes.set(key, next);
    try {
      await next;
    } finally {
      if (this.#writes.get(key) === next) this.#writes.delete(key);
    }
  }
}

function pickFields(fields: ObjectFields): ObjectFields {
  const picked: Record<string, unknown> = {};
  for (const field of stringObjectFields) {
    const value = fields[field];
    if (value !== undefined) picked[field] = value;
  }
  if (fields.metadata !== undefined && Object.keys(fields.metadata).length > 0) {
    picked['metadata'] = { ...fields.metadata };
  }
  return picked;
}

function validateObjectName(name: string): void {
  if (name === '' || Buffer.byteLength(name) > 1024) {
    throw badRequest('Object name must be 1-1024 bytes of UTF-8.');
  }
  if (name === '.' || name === '..' || /[\r\n]/.test(name)) {
    throw badRequest(`Invalid object name: '${name}'`);
  }
}
