import { describe, expect, it } from 'vitest';
import { deferred, type Deferred } from '../kernel/deferred.js';
import { mapConcurrent } from './workers.js';
import { collect, countingSource, settle } from './test-support/streams.js';

describe('mapConcurrent', () => {
  it('maps every item', async () => {
    const results = await collect(
      mapConcurrent([1, 2, 3, 4, 5], (n) => n * 10, { concurrency: 3 }),
    );
    expect(results.sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50]);
  });

  it('runs at most `concurrency` calls at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await collect(
      mapConcurrent(
        countingSource(50).iterable,
        async (n) => {
          running += 1;
          peak = Math.max(peak, running);
          await settle(1);
          running -= 1;
          return n;
        },
        { concurrency: 4 },
      ),
    );
    expect(results).toHaveLength(50);
    expect(peak).toBe(4);
  });

  it('emits results as they are ready when unordered, in input order when ordered', async () => {
    const gates = new Map<number, Deferred<undefined>>(
      [1, 2, 3].map((n) => [n, deferred<undefined>()]),
    );
    const fn = async (n: number): Promise<number> => {
      await gates.get(n)?.promise;
      return n;
    };
    const release = async (): Promise<void> => {
      for (const n of [3, 1, 2]) {
        gates.get(n)?.resolve(undefined);
        await settle(2);
      }
    };
    const unordered = collect(mapConcurrent([1, 2, 3], fn, { concurrency: 3 }));
    await release();
    expect(await unordered).toEqual([3, 1, 2]);

    for (const n of [1, 2, 3]) gates.set(n, deferred<undefined>());
    const inOrder = collect(mapConcurrent([1, 2, 3], fn, { concurrency: 3, ordered: true }));
    await release();
    expect(await inOrder).toEqual([1, 2, 3]);
  });

  it('stops pulling the source while results are not taken (backpressure)', async () => {
    for (const ordered of [false, true]) {
      const source = countingSource(1_000);
      const iterator = mapConcurrent(source.iterable, (n) => n, {
        concurrency: 2,
        bufferSize: 2,
        ordered,
      })[Symbol.asyncIterator]();
      await iterator.next();
      await settle(20);
      // Buffered results + one per blocked worker + the item taken.
      expect(source.state.pulled).toBeLessThanOrEqual(2 + 2 + 1);
      await iterator.return?.();
      await settle();
      expect(source.state.returned).toBe(true);
    }
  });

  it('fails the stream when a call throws, after aborting the others', async () => {
    const signals: AbortSignal[] = [];
    const run = collect(
      mapConcurrent(
        countingSource(100).iterable,
        async (n, signal) => {
          signals.push(signal);
          await settle(1);
          if (n === 5) throw new Error('bad item 5');
          return n;
        },
        { concurrency: 3 },
      ),
    );
    await expect(run).rejects.toThrow('bad item 5');
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  it('fails the stream in ordered mode too', async () => {
    const run = collect(
      mapConcurrent(
        [1, 2, 3],
        (n) => {
          if (n === 2) throw new Error('bad item 2');
          return n;
        },
        { concurrency: 2, ordered: true },
      ),
    );
    await expect(run).rejects.toThrow('bad item 2');
  });

  it('propagates a source error', async () => {
    function* broken(): Generator<number> {
      yield 1;
      throw new Error('source broke');
    }
    await expect(collect(mapConcurrent(broken(), (n) => n, { concurrency: 2 }))).rejects.toThrow(
      'source broke',
    );
  });

  it('hands undeliverable results to onDiscard when the consumer stops early', async () => {
    const source = countingSource(100);
    const discarded: number[] = [];
    const taken: number[] = [];
    for await (const n of mapConcurrent(source.iterable, (n) => n, {
      concurrency: 3,
      onDiscard: (n) => discarded.push(n),
    })) {
      taken.push(n);
      if (taken.length === 2) break;
    }
    await settle(20);
    expect(taken.length + discarded.length).toBe(source.state.pulled);
  });

  it('rejects an invalid concurrency', () => {
    expect(() => mapConcurrent([], (n) => n, { concurrency: 0 })).toThrow(/concurrency/);
  });
});
