import { describe, expect, it } from 'vitest';
import { merge } from './merge.js';
import { collect, controlledSource, countingSource, settle } from './test-support/streams.js';

describe('merge', () => {
  it('delivers every item of every source and ends when all sources end', async () => {
    const a = countingSource(5, 0);
    const b = countingSource(3, 100);
    const items = await collect(merge([a.iterable, b.iterable]));
    expect(items.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 100, 101, 102]);
    expect(a.state.finished && b.state.finished).toBe(true);
  });

  it('ends at once with no sources', async () => {
    expect(await collect(merge<number>([]))).toEqual([]);
  });

  it('emits in arrival order across sources', async () => {
    const a = controlledSource<string>();
    const b = controlledSource<string>();
    const iterator = merge([a.iterable, b.iterable])[Symbol.asyncIterator]();
    void b.push('b1');
    expect((await iterator.next()).value).toBe('b1');
    void a.push('a1');
    expect((await iterator.next()).value).toBe('a1');
    void b.push('b2');
    expect((await iterator.next()).value).toBe('b2');
    void a.end();
    void b.end();
    expect((await iterator.next()).done).toBe(true);
  });

  it('stops pulling a source when the buffer is full (backpressure)', async () => {
    const a = countingSource(1_000);
    const b = countingSource(1_000);
    const iterator = merge([a.iterable, b.iterable], { bufferSize: 4 })[Symbol.asyncIterator]();
    await iterator.next();
    await settle(20);
    // 4 buffered in total, plus at most one item per source blocked in send, plus the one taken.
    expect(a.state.pulled + b.state.pulled).toBeLessThanOrEqual(4 + 2 + 1);
    await iterator.return?.();
  });

  it('propagates a source error after the buffered items and stops the other sources', async () => {
    const a = controlledSource<number>();
    const b = controlledSource<number>();
    const seen: number[] = [];
    const run = (async () => {
      for await (const item of merge([a.iterable, b.iterable])) seen.push(item);
    })();
    await a.push(1);
    await b.fail(new Error('source b broke'));
    await expect(run).rejects.toThrow('source b broke');
    expect(seen).toEqual([1]);
    expect(a.state.returned).toBe(true);
  });

  it('stops every source and discards buffered items when the consumer stops early', async () => {
    const a = countingSource(100);
    const b = countingSource(100, 1_000);
    const discarded: number[] = [];
    const taken: number[] = [];
    for await (const item of merge([a.iterable, b.iterable], {
      bufferSize: 2,
      onDiscard: (item) => discarded.push(item),
    })) {
      taken.push(item);
      if (taken.length === 3) break;
    }
    await settle(20);
    expect(a.state.returned && b.state.returned).toBe(true);
    // Nothing is lost: every pulled item was either taken or discarded.
    expect(taken.length + discarded.length).toBe(a.state.pulled + b.state.pulled);
  });

  it('rejects an invalid bufferSize', () => {
    expect(() => merge([], { bufferSize: 0 })).toThrow(/bufferSize/);
  });
});
