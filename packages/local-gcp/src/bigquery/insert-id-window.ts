/** Bounds of the insertId de-duplication window. */
export interface InsertIdWindowOptions {
  /** How long an accepted insertId is remembered, in milliseconds. @defaultValue 600_000 (10 min) */
  readonly windowMs?: number | undefined;
  /** At most this many insertIds are remembered per table; the oldest are forgotten first. @defaultValue 100_000 */
  readonly maxIds?: number | undefined;
}

/** {@link InsertIdWindowOptions} with every bound set. */
export type ResolvedInsertIdWindowOptions = Readonly<Record<keyof InsertIdWindowOptions, number>>;

export const DEFAULT_INSERT_ID_WINDOW = Object.freeze({
  windowMs: 600_000,
  maxIds: 100_000,
}) satisfies ResolvedInsertIdWindowOptions;

/**
 * The recent insertIds accepted for one table. BigQuery de-duplicates best effort for about a
 * minute; this keeps ids for `windowMs` or until `maxIds` newer ones push them out, whichever
 * comes first, so memory stays bounded.
 */
export class InsertIdWindow {
  readonly #windowMs: number;
  readonly #maxIds: number;
  readonly #now: () => number;
  /** insertId to the time it was accepted; Map iteration order is acceptance order. */
  readonly #ids = new Map<string, number>();

  constructor(options: ResolvedInsertIdWindowOptions, now: () => number = Date.now) {
    this.#windowMs = options.windowMs;
    this.#maxIds = options.maxIds;
    this.#now = now;
  }

  /** Whether `insertId` was accepted within the window. */
  has(insertId: string): boolean {
    const acceptedAt = this.#ids.get(insertId);
    return acceptedAt !== undefined && this.#now() - acceptedAt <= this.#windowMs;
  }

  /** Remembers accepted ids, forgetting expired and surplus ones. */
  addAll(insertIds: Iterable<string>): void {
    const now = this.#now();
    for (const id of insertIds) {
      this.#ids.delete(id);
      this.#ids.set(id, now);
    }
    for (const [id, acceptedAt] of this.#ids) {
      if (this.#ids.size <= this.#maxIds && now - acceptedAt <= this.#windowMs) break;
      this.#ids.delete(id);
    }
  }

  /** Forgets ids again (their write failed). */
  deleteAll(insertIds: Iterable<string>): void {
    for (const id of insertIds) this.#ids.delete(id);
  }

  get size(): number {
    return this.#ids.size;
  }
}
