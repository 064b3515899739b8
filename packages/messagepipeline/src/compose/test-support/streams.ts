/** Stream helpers for the composition tests. */
import { iteratorOf } from '../channel.js';

/** Reads a plain iterable as an async one. */
export function asAsync<T>(items: Iterable<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => iteratorOf(items) };
}

/** A lazy source of `count` numbers (from `start`) that records how far it was pulled. */
export function countingSource(count: number, start = 0) {
  const state = { pulled: 0, finished: false, returned: false };
  function* generate(): Generator<number> {
    try {
      for (let index = 0; index < count; index += 1) {
        state.pulled += 1;
        yield start + index;
      }
      state.finished = true;
    } finally {
      if (!state.finished) state.returned = true;
    }
  }
  return { state, iterable: generate() };
}

interface Entry<T> {
  readonly item?: T;
  readonly end?: true;
  readonly error?: Error;
  readonly taken: () => void;
}

/** A source whose items, end and failure the test drives. `push` resolves when it was pulled. */
export function controlledSource<T>() {
  const queue: Entry<T>[] = [];
  let waiter: (() => void) | undefined;
  const state = { returned: false };
  const put = (entry: Omit<Entry<T>, 'taken'>): Promise<void> =>
    new Promise((resolve) => {
      queue.push({ ...entry, taken: resolve });
      waiter?.();
    });
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<T>> {
          while (queue.length === 0) await new Promise<void>((resolve) => (waiter = resolve));
          const entry = queue.shift()!;
          entry.taken();
          if (entry.error !== undefined) throw entry.error;
          if (entry.end === true) return { done: true, value: undefined };
          return { done: false, value: entry.item as T };
        },
        return(): Promise<IteratorResult<T>> {
          state.returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
  return {
    iterable,
    state,
    push: (item: T) => put({ item }),
    end: () => put({ end: true }),
    fail: (error: Error) => put({ error }),
  };
}

/** Collects a stream into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Lets pending promise callbacks and a few event-loop turns run. */
export async function settle(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}
