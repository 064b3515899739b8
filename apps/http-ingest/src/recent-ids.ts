import { Deque } from '@tributary/messagepipeline/kernel';

/**
 * The publishes of the most recent given event ids, at most `capacity` (the oldest go first): a
 * retry of an id still here gets the first publish's message id instead of a second message. A
 * failed publish is forgotten, so its retry publishes. Other instances do not share it:
 * downstream sinks de-duplicate on the id (BigQuery `insertId`, the SQL primary key).
 */
export class RecentIds {
  readonly #capacity: number;
  readonly #publishes = new Map<string, Promise<string>>();
  /** Ids in the order they were remembered, for eviction (no Map iteration on the hot path). */
  readonly #order = new Deque<{ readonly id: string; readonly publish: Promise<string> }>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The publish of `id` if it is recent (settled or still in flight). */
  get(id: string): Promise<string> | undefined {
    return this.#publishes.get(id);
  }

  /** Remembers the publish of `id`; forgets it again if it fails. */
  remember(id: string, publish: Promise<string>): void {
    if (this.#capacity === 0) return;
    this.#publishes.set(id, publish);
    this.#order.push({ id, publish });
    while (this.#order.length > this.#capacity) {
      const oldest = this.#order.shift();
      // Only if the id still maps to that publish: a failed one was deleted, a later one stays.
      if (oldest !== undefined && this.#publishes.get(oldest.id) === oldest.publish) {
        this.#publishes.delete(oldest.id);
      }
    }
    publish.catch(() => {
      if (this.#publishes.get(id) === publish) this.#publishes.delete(id);
    });
  }

  get size(): number {
    return this.#publishes.size;
  }
}
