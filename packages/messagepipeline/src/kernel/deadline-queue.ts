import { Deque } from './deque.js';

/** One wait of a {@link DeadlineQueue}; `cancel()` once what it guards has settled. */
export interface QueuedDeadline {
  cancel(): void;
}

class Entry implements QueuedDeadline {
  readonly at: number;
  onExpire: (() => void) | undefined;

  constructor(at: number, onExpire: () => void) {
    this.at = at;
    this.onExpire = onExpire;
  }

  cancel(): void {
    this.onExpire = undefined;
  }
}

/**
 * Deadlines of one length served by one timer, for a wait per request where a timer each (what
 * `within()` arms) would cost more than the wait itself. Deadlines of equal length expire in
 * the order they were added, so they queue FIFO and the timer is armed for the oldest only.
 * Cancelled waits keep no callback and leave the queue from its head, when a later one is added
 * or the timer fires: the queue holds the waits since the oldest one still pending.
 */
export class DeadlineQueue {
  readonly #ms: number;
  readonly #queue = new Deque<Entry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (;;) {
      const head = this.#queue.peek();
      if (head === undefined) return;
      if (head.onExpire !== undefined && head.at > now) break;
      this.#queue.shift();
      const onExpire = head.onExpire;
      head.onExpire = undefined;
      onExpire?.();
    }
    this.#arm();
  };

  /** @param ms - the length of every deadline, in ms (finite) */
  constructor(ms: number) {
    this.#ms = Math.max(0, ms);
  }

  /** Calls `onExpire` once `ms` have passed, unless the returned wait is cancelled first. */
  add(onExpire: () => void): QueuedDeadline {
    let head = this.#queue.peek();
    while (head !== undefined && head.onExpire === undefined) {
      this.#queue.shift();
      head = this.#queue.peek();
    }
    const entry = new Entry(performance.now() + this.#ms, onExpire);
    this.#queue.push(entry);
    if (this.#timer === undefined) this.#arm();
    return entry;
  }

  /** Waits queued, cancelled ones not yet dropped included. */
  get length(): number {
    return this.#queue.length;
  }

  #arm(): void {
    const head = this.#queue.peek();
    if (head === undefined) return;
    // Only for deadlines: a pending one must not keep the process alive on its own.
    this.#timer = setTimeout(this.#fire, Math.max(0, head.at - performance.now()));
    this.#timer.unref();
  }
}
