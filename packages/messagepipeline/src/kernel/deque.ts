/**
 * The one FIFO of the project: a growable ring buffer with O(1) push, unshift and shift at
 * either end. Arrays' `shift()` is O(n) once they leave V8's fast path, and queues here can hold
 * a whole backlog (the broker's, a consumer's buffer, waiters for flow-control credit).
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #mask: number;

  /** @param initialCapacity - rounded up to a power of two. */
  constructor(initialCapacity = 16) {
    let capacity = 4;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array<T | undefined>(capacity);
    this.#mask = capacity - 1;
  }

  get length(): number {
    return this.#length;
  }

  push(value: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = value;
    this.#length++;
  }

  unshift(value: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = value;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const value = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return value;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** The item at `index` from the front, or `undefined` past the end. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & this.#mask];
  }

  /** Removes every item, returning them first to last. */
  drain(): T[] {
    const items = this.toArray();
    this.#items = new Array<T | undefined>(this.#items.length);
    this.#head = 0;
    this.#length = 0;
    return items;
  }

  /** Removes and returns the items matching `predicate`, keeping the order of the rest. */
  remove(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (const item of this.drain()) (predicate(item) ? removed : kept).push(item);
    for (const item of kept) this.push(item);
    return removed;
  }

  /** A copy of the items, first to last. */
  toArray(): T[] {
    const out = new Array<T>(this.#length);
    for (let i = 0; i < this.#length; i++) {
      out[i] = this.#items[(this.#head + i) & this.#mask] as T;
    }
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const capacity = old.length * 2;
    const items = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}
