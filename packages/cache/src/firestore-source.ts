import {
  Firestore,
  type DocumentData,
  type DocumentReference,
  type DocumentSnapshot,
} from '@google-cloud/firestore';
import {
  InvalidArgumentError,
  TributaryError,
  type StatsDescription,
} from '@tributary/messagepipeline';
import { requireInteger, requireNumber, within } from '@tributary/messagepipeline/kernel';
import { Coalescer } from './coalescer.js';
import { classifyFirestoreError, isFirestoreNotFound } from './firestore-errors.js';
import type { CacheObserver, Fetcher, Lookup, Store } from './ports.js';
import { toPlain } from './plain.js';

/** Options for {@link createFirestoreSource}. */
export interface FirestoreSourceOptions<V> {
  /** The client; the caller owns and closes it. */
  readonly firestore: Firestore;
  /** The collection path, such as `devices` or `tenants/acme/devices`. */
  readonly collection: string;
  /** The document id, with `{key}` replaced by the key. @defaultValue `'{key}'` */
  readonly documentId?: string | undefined;
  /** Field paths to read (a projection); every field when unset. */
  readonly fields?: readonly string[] | undefined;
  /** @defaultValue 'firestore:<collection>' */
  readonly name?: string | undefined;
  /** Most documents of one `getAll`. @defaultValue 300 */
  readonly maxBatchSize?: number | undefined;
  /** A `getAll` unanswered after this long fails with a transient `TIMEOUT`. @defaultValue 10_000 */
  readonly timeoutMs?: number | undefined;
  /** Checks and converts the document data; throwing makes the lookup fail permanently. */
  readonly validate?: ((data: Record<string, unknown>) => V) | undefined;
  readonly observer?: CacheObserver | undefined;
}

/** The defaults of {@link FirestoreSourceOptions}. */
export const DEFAULT_FIRESTORE_SOURCE_OPTIONS = Object.freeze({
  documentId: '{key}',
  maxBatchSize: 300,
  timeoutMs: 10_000,
});

/** Counters of a Firestore source. */
export interface FirestoreSourceStats {
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
  /** `getAll` calls made (each one reads many documents). */
  readonly batches: number;
  /** Documents read. */
  readonly documentsRead: number;
}

/** What each {@link FirestoreSourceStats} field measures. */
export const firestoreSourceStatsDescription: StatsDescription<FirestoreSourceStats> = {
  hits: { kind: 'counter', help: 'Documents found' },
  misses: { kind: 'counter', help: 'Documents that do not exist' },
  errors: { kind: 'counter', help: 'Failed getAll calls' },
  batches: { kind: 'counter', help: 'getAll calls made' },
  documentsRead: { kind: 'counter', help: 'Documents asked for' },
};

/** Firestore as the source of truth: a fetcher, and a store for presence-cache use. */
export interface FirestoreSource<V> extends Fetcher<string, V>, Store<string, V> {
  stats(): FirestoreSourceStats;
}

/**
 * Creates a Firestore source: documents `<collection>/<documentId(key)>`, optionally projected to
 * `fields`; lookups of one event-loop turn are coalesced into one `getAll`. A document that does
 * not exist (or NOT_FOUND) is a miss; other errors are classified (UNAVAILABLE and
 * DEADLINE_EXCEEDED are transient). Timestamps become ISO strings, references their path.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createFirestoreSource<V = Record<string, unknown>>(
  options: FirestoreSourceOptions<V>,
): FirestoreSource<V> {
  return new FirestoreSourceImpl(options);
}

class FirestoreSourceImpl<V> implements FirestoreSource<V> {
  readonly name: string;
  readonly #firestore: Firestore;
  readonly #collection: string;
  readonly #documentId: string;
  readonly #fields: readonly string[] | undefined;
  readonly #timeoutMs: number;
  readonly #validate: ((data: Record<string, unknown>) => V) | undefined;
  readonly #observer: CacheObserver | undefined;
  readonly #coalescer: Coalescer<string, Lookup<V>>;
  #hits = 0;
  #misses = 0;
  #errors = 0;
  #documentsRead = 0;

  constructor(options: FirestoreSourceOptions<V>) {
    const d = DEFAULT_FIRESTORE_SOURCE_OPTIONS;
    if (!(options.firestore instanceof Firestore)) {
      throw InvalidArgumentError.for('firestore', 'must be a Firestore client');
    }
    if (typeof options.collection !== 'string' || options.collection === '') {
      throw InvalidArgumentError.for('collection', 'must be a non-empty collection path');
    }
    const segments = options.collection.split('/');
    if (segments.length % 2 === 0 || segments.some((s) => s === '')) {
      throw InvalidArgumentError.for(
        'collection',
        `'${options.collection}' is not a collection path (an odd number of non-empty segments)`,
      );
    }
    const documentId = options.documentId ?? d.documentId;
    if (!documentId.includes('{key}') || documentId.includes('/')) {
      throw InvalidArgumentError.for('documentId', "must contain '{key}' and no '/'");
    }
    if (options.fields?.some((field) => typeof field !== 'string' || field === '') === true) {
      throw InvalidArgumentError.for('fields', 'must be non-empty field paths');
    }
    this.#firestore = options.firestore;
    this.#collection = options.collection;
    this.#documentId = documentId;
    this.#fields = options.fields;
    this.name = options.name ?? `firestore:${options.collection}`;
    this.#timeoutMs = requireNumber('timeoutMs', options.timeoutMs ?? d.timeoutMs, 1);
    this.#validate = options.validate;
    this.#observer = options.observer;
    this.#coalescer = new Coalescer<string, Lookup<V>>(
      (keys) => this.#getAll(keys),
      requireInteger('maxBatchSize', options.maxBatchSize ?? d.maxBatchSize, 1),
    );
  }

  async get(key: string): Promise<V | undefined> {
    const lookup = await this.#coalescer.load(key);
    return lookup.found ? lookup.value : undefined;
  }

  async getMany(keys: readonly string[]): Promise<(V | undefined)[]> {
    const lookups = await this.#coalescer.loadMany(keys);
    return lookups.map((lookup) => (lookup.found ? lookup.value : undefined));
  }

  /** Writes the document (replacing it); Firestore keeps no TTL, so there are no set options. */
  async set(key: string, value: V): Promise<void> {
    try {
      await this.#ref(key).set(value as DocumentData);
    } catch (error) {
      throw classifyFirestoreError(error, `firestore set ${this.#path(key)}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#ref(key).delete();
    } catch (error) {
      if (isFirestoreNotFound(error)) return;
      throw classifyFirestoreError(error, `firestore delete ${this.#path(key)}`);
    }
  }

  stats(): FirestoreSourceStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      errors: this.#errors,
      batches: this.#coalescer.batches,
      documentsRead: this.#documentsRead,
    };
  }

  #path(key: string): string {
    return `${this.#collection}/${this.#documentId.replaceAll('{key}', key)}`;
  }

  #ref(key: string): DocumentReference {
    if (key === '' || key.includes('/')) {
      throw TributaryError.permanent(
        'INVALID_PAYLOAD',
        `'${key}' cannot be a Firestore document id (empty or contains '/')`,
      );
    }
    return this.#firestore.doc(this.#path(key));
  }

  async #getAll(keys: readonly string[]): Promise<(Lookup<V> | TributaryError)[]> {
    const startedAt = performance.now();
    const refs: DocumentReference[] = [];
    const at: number[] = [];
    const results: (Lookup<V> | TributaryError)[] = keys.map(() => ({ found: false }));
    for (const [index, key] of keys.entries()) {
      // A key that cannot name a document cannot have one: a miss.
      if (key === '' || key.includes('/') || key === '.' || key === '..') continue;
      refs.push(this.#firestore.doc(this.#path(key)));
      at.push(index);
    }
    if (refs.length === 0) return results;
    this.#documentsRead += refs.length;
    const reading =
      this.#fields === undefined
        ? this.#firestore.getAll(...refs)
        : this.#firestore.getAll(...refs, { fieldMask: [...this.#fields] });
    const settled = await within(reading, this.#timeoutMs);
    let snapshots: DocumentSnapshot[];
    if (settled.kind === 'ok') {
      snapshots = await reading;
    } else if (settled.kind === 'error' && isFirestoreNotFound(settled.error)) {
      snapshots = [];
    } else {
      this.#errors++;
      this.#observe('error', keys.length, startedAt);
      throw settled.kind === 'timeout'
        ? TributaryError.transient(
            'TIMEOUT',
            `firestore getAll of ${refs.length} documents in ${this.#collection} took over ${this.#timeoutMs} ms`,
          )
        : classifyFirestoreError(settled.error, `firestore getAll in ${this.#collection}`);
    }
    this.#observe('ok', keys.length, startedAt);
    snapshots.forEach((snapshot, i) => {
      const index = at[i] as number;
      const data = snapshot.exists ? snapshot.data() : undefined;
      if (data === undefined) {
        this.#misses++;
        return;
      }
      this.#hits++;
      const plain = toPlain(data) as Record<string, unknown>;
      results[index] = this.#convert(plain, keys[index] as string);
    });
    this.#misses += refs.length - snapshots.length;
    return results;
  }

  /** The lookup of a document, or the permanent error of one `validate` refuses. */
  #convert(data: Record<string, unknown>, key: string): Lookup<V> | TributaryError {
    if (this.#validate === undefined) return { found: true, value: data as V };
    try {
      return { found: true, value: this.#validate(data) };
    } catch (error) {
      return TributaryError.permanent(
        'SCHEMA_MISMATCH',
        `firestore document ${this.#path(key)} is invalid: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
  }

  #observe(outcome: 'ok' | 'error', keys: number, startedAt: number): void {
    this.#observer?.({
      layer: this.name,
      operation: 'read',
      outcome,
      keys,
      durationMs: performance.now() - startedAt,
    });
  }
}
