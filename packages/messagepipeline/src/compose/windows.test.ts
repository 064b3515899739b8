import { describe, expect, it } from 'vitest';
import { slidingWindows, tumblingWindows, type WindowResult } from './windows.js';
import { collect, controlledSource, settle } from './test-support/streams.js';

interface Reading {
  readonly sensor: string;
  readonly atMs: number;
  readonly value: number;
}

const r = (sensor: string, atMs: number, value = 1): Reading => ({ sensor, atMs, value });

const sumBySensor = {
  key: (item: Reading) => item.sensor,
  timestampMs: (item: Reading) => item.atMs,
  initial: () => 0,
  reduce: (total: number, item: Reading) => total + item.value,
};

const brief = (w: WindowResult<string, number>): string =>
  `${w.key}[${w.startMs},${w.endMs})=${w.value}/${w.count}`;

describe('tumblingWindows', () => {
  it('aggregates per key and window, in window-end then first-seen key order', async () => {
    const items = [r('a', 0, 1), r('b', 3, 10), r('a', 9, 2), r('a', 10, 4), r('b', 25, 7)];
    const results = await collect(tumblingWindows(items, { sizeMs: 10, ...sumBySensor }));
    expect(results.map(brief)).toEqual([
      'a[0,10)=3/2',
      'b[0,10)=10/1',
      'a[10,20)=4/1',
      'b[20,30)=7/1',
    ]);
  });

  it('emits a window exactly when the watermark reaches its end', async () => {
    const source = controlledSource<Reading>();
    const iterator = tumblingWindows(source.iterable, { sizeMs: 10, ...sumBySensor })[
      Symbol.asyncIterator
    ]();
    const emitted: string[] = [];
    const pump = (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        emitted.push(brief(next.value));
      }
    })();
    await source.push(r('a', 2));
    await source.push(r('a', 9));
    await settle();
    expect(emitted).toEqual([]);
    await source.push(r('a', 10)); // watermark 10 = end of [0,10)
    await settle();
    expect(emitted).toEqual(['a[0,10)=2/2']);
    await source.push(r('a', 19));
    await settle();
    expect(emitted).toHaveLength(1);
    await source.end(); // end of stream closes the rest
    await pump;
    expect(emitted).toEqual(['a[0,10)=2/2', 'a[10,20)=2/2']);
  });

  it('keeps a window open for allowedLatenessMs and routes later items to onLate', async () => {
    const late: Reading[] = [];
    const items = [r('a', 1), r('a', 12), r('a', 5), r('a', 16), r('a', 6), r('a', 30)];
    const results = await collect(
      tumblingWindows(items, {
        sizeMs: 10,
        allowedLatenessMs: 5,
        onLate: (item) => late.push(item),
        ...sumBySensor,
      }),
    );
    // 12 - 5 = 7 < 10: [0,10) still open for the item at 5; 16 - 5 = 11 closes it, so 6 is late.
    expect(results.map(brief)).toEqual(['a[0,10)=2/2', 'a[10,20)=2/2', 'a[30,40)=1/1']);
    expect(late).toEqual([r('a', 6)]);
  });

  it('releases items only after the consumer took every window containing them', async () => {
    const released: number[] = [];
    const iterator = tumblingWindows([r('a', 1), r('a', 2), r('a', 11), r('a', 25)], {
      sizeMs: 10,
      release: (item) => released.push(item.atMs),
      ...sumBySensor,
    })[Symbol.asyncIterator]();
    expect(brief((await iterator.next()).value as WindowResult<string, number>)).toBe(
      'a[0,10)=2/2',
    );
    expect(released).toEqual([]); // the consumer holds the result of [0,10)
    expect(brief((await iterator.next()).value as WindowResult<string, number>)).toBe(
      'a[10,20)=1/1',
    );
    expect(released).toEqual([1, 2]);
    await iterator.next();
    expect(released).toEqual([1, 2, 11]);
    expect((await iterator.next()).done).toBe(true);
    expect(released).toEqual([1, 2, 11, 25]);
  });

  it('discards retained items when the consumer stops early', async () => {
    const discarded: number[] = [];
    for await (const result of tumblingWindows([r('a', 1), r('a', 11), r('a', 12), r('a', 21)], {
      sizeMs: 10,
      release: () => undefined,
      onDiscard: (item) => discarded.push(item.atMs),
      ...sumBySensor,
    })) {
      expect(brief(result)).toBe('a[0,10)=1/1');
      break;
    }
    // The first result ([0,10)) is emitted when the item at 11 arrives; 12 is never pulled.
    expect(discarded.sort((a, b) => a - b)).toEqual([1, 11]);
  });

  it('closes the oldest window early when maxOpenGroups is exceeded', async () => {
    const items = [r('a', 1), r('b', 2), r('c', 3), r('a', 11), r('a', 4)];
    const late: Reading[] = [];
    const results = await collect(
      tumblingWindows(items, {
        sizeMs: 10,
        allowedLatenessMs: 100,
        maxOpenGroups: 3,
        onLate: (item) => late.push(item),
        ...sumBySensor,
      }),
    );
    expect(results.map(brief)).toEqual([
      'a[0,10)=1/1',
      'b[0,10)=1/1',
      'c[0,10)=1/1',
      'a[10,20)=1/1',
    ]);
    expect(late).toEqual([r('a', 4)]);
  });

  it('rejects a non-finite timestamp with a permanent INVALID_PAYLOAD', async () => {
    await expect(
      collect(tumblingWindows([r('a', Number.NaN)], { sizeMs: 10, ...sumBySensor })),
    ).rejects.toMatchObject({ code: 'INVALID_PAYLOAD', retriable: false });
  });

  it('validates its options', () => {
    expect(() => tumblingWindows([], { sizeMs: 0, ...sumBySensor })).toThrow(/sizeMs/);
    expect(() => slidingWindows([], { sizeMs: 10, slideMs: 20, ...sumBySensor })).toThrow(
      /slideMs/,
    );
  });
});

describe('slidingWindows', () => {
  it('counts each item in every window that contains it', async () => {
    const items = [r('a', 0, 1), r('a', 6, 2), r('a', 12, 4)];
    const results = await collect(
      slidingWindows(items, { sizeMs: 10, slideMs: 5, ...sumBySensor }),
    );
    // Windows: [-5,5) [0,10) [5,15) [10,20).
    expect(results.map(brief)).toEqual([
      'a[-5,5)=1/1',
      'a[0,10)=3/2',
      'a[5,15)=6/2',
      'a[10,20)=4/1',
    ]);
  });

  it('routes an item to onLate only when all its windows have closed', async () => {
    const late: Reading[] = [];
    const items = [r('a', 0), r('a', 10), r('a', 4), r('a', 3), r('a', 15)];
    const results = await collect(
      slidingWindows(items, {
        sizeMs: 10,
        slideMs: 5,
        onLate: (item) => late.push(item),
        ...sumBySensor,
      }),
    );
    // At 10, [-5,5) and [0,10) close, so 4 and 3 (whose windows are exactly those) are late.
    // At 15, [5,15) closes.
    expect(results.map(brief)).toEqual([
      'a[-5,5)=1/1',
      'a[0,10)=1/1',
      'a[5,15)=1/1',
      'a[10,20)=2/2',
      'a[15,25)=1/1',
    ]);
    expect(late).toEqual([r('a', 4), r('a', 3)]);
  });

  it('adds a partly late item to the windows still open', async () => {
    const items = [r('a', 0), r('a', 10), r('a', 7)];
    const results = await collect(
      slidingWindows(items, { sizeMs: 10, slideMs: 5, ...sumBySensor }),
    );
    // 7 belongs to [0,10) (closed at watermark 10) and [5,15) (open).
    expect(results.map(brief)).toEqual([
      'a[-5,5)=1/1',
      'a[0,10)=1/1',
      'a[5,15)=2/2',
      'a[10,20)=1/1',
    ]);
  });
});
