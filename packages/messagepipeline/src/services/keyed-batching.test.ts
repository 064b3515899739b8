import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import type { PipelineEvent } from '../observer.js';
import type { BatchProcessor, ItemFailure } from '../processor.js';
import { createInMemoryBroker } from '../broker/broker.js';
import { emit } from '../transformer.js';
import { createBatchingService, type BatchingServiceOptions } from './batching-service.js';
import { FakeConsumer, trackedMessage, turn, until } from './test-support/fake-consumer.js';

interface KeyedFlush {
  readonly key: string | undefined;
  readonly ids: string[];
  readonly gate: Deferred<readonly ItemFailure[]>;
}

/** Message ids are `<key>:<n>`; the key function takes the part before the colon. */
function setup(options: Partial<BatchingServiceOptions<string>> = {}, auto = true) {
  const consumer = new FakeConsumer();
  const events: PipelineEvent[] = [];
  const flushes: KeyedFlush[] = [];
  const processor: BatchProcessor<string> = (items, _signal, context) => {
    const gate = deferred<readonly ItemFailure[]>();
    flushes.push({ key: context.key, ids: items.map((item) => item.payload), gate });
    if (auto) gate.resolve([]);
    return gate.promise;
  };
  const service = createBatchingService<string>({
    stage: 'keyed',
    consumer,
    transformer: (message) => emit(message.id),
    processor,
    key: (item) => item.payload.split(':')[0] ?? '',
    observer: (event) => events.push(event),
    maxItems: 100,
    maxWaitMs: 60_000,
    ...options,
  });
  const reasons = () =>
    events.flatMap((e) => (e.type === 'batch-flushed' ? [[e.items, e.reason]] : []));
  return { consumer, service, flushes, reasons };
}

const byKey = (flushes: readonly KeyedFlush[]) => flushes.map((f) => [f.key, f.ids]);

describe('BatchingService: keyed batches', () => {
  it('a size flush of one key leaves the other key open', async () => {
    const { consumer, service, flushes, reasons } = setup({ maxItems: 2 });
    await service.start();
    consumer.push(trackedMessage('a:1'), trackedMessage('b:1'), trackedMessage('a:2'));
    await until(() => flushes.length === 1);
    for (let i = 0; i < 5; i++) await turn();
    expect(byKey(flushes)).toEqual([['a', ['a:1', 'a:2']]]);
    expect(service.stats().openKeys).toBe(1);
    await service.stop();
    expect(byKey(flushes)).toEqual([
      ['a', ['a:1', 'a:2']],
      ['b', ['b:1']],
    ]);
    expect(reasons()).toEqual([
      [2, 'items'],
      [1, 'stop'],
    ]);
  });

  it('stop flushes every key, each as its own batch, and acks everything', async () => {
    const { consumer, service, flushes } = setup();
    const list = ['a:1', 'b:1', 'c:1', 'a:2', 'c:2'].map((id) => trackedMessage(id));
    await service.start();
    consumer.push(...list);
    await until(() => consumer.pulled === 5);
    await service.stop();
    expect(byKey(flushes)).toEqual([
      ['a', ['a:1', 'a:2']],
      ['b', ['b:1']],
      ['c', ['c:1', 'c:2']],
    ]);
    expect(list.every((m) => m.outcome === 'acked' && m.acks === 1)).toBe(true);
  });

  it('flushes all keys on a byte limit of one key and never mixes keys', async () => {
    const { consumer, service, flushes } = setup({ maxBytes: 30, maxBufferedBytes: 1_000 });
    await service.start();
    consumer.push(
      trackedMessage('a:1', { bytes: 20 }),
      trackedMessage('b:1', { bytes: 20 }),
      trackedMessage('a:2', { bytes: 20 }),
    );
    await until(() => flushes.length === 1);
    expect(byKey(flushes)).toEqual([['a', ['a:1']]]);
    await service.stop();
    expect(byKey(flushes).slice(1)).toEqual([
      ['b', ['b:1']],
      ['a', ['a:2']],
    ]);
  });

  describe('age', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it("each key ages from its own oldest item; one key's size flush never postpones another", async () => {
      const { consumer, service, flushes, reasons } = setup({ maxItems: 2, maxWaitMs: 1_000 });
      await service.start();
      consumer.push(trackedMessage('a:1'), trackedMessage('b:1'));
      await vi.advanceTimersByTimeAsync(600);
      consumer.push(trackedMessage('a:2')); // a flushes by size at t=600
      await vi.advanceTimersByTimeAsync(1);
      expect(byKey(flushes)).toEqual([['a', ['a:1', 'a:2']]]);
      consumer.push(trackedMessage('a:3')); // a's new batch ages from t=601
      await vi.advanceTimersByTimeAsync(398); // t=999
      expect(flushes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1); // t=1000: b's deadline, not postponed
      expect(byKey(flushes)).toEqual([
        ['a', ['a:1', 'a:2']],
        ['b', ['b:1']],
      ]);
      await vi.advanceTimersByTimeAsync(601);
      expect(byKey(flushes)[2]).toEqual(['a', ['a:3']]);
      expect(reasons()).toEqual([
        [2, 'items'],
        [1, 'age'],
        [1, 'age'],
      ]);
      await service.stop();
    });

    it('an age flush flushes two keys as separate batches', async () => {
      const { consumer, service, flushes } = setup({ maxWaitMs: 500 });
      await service.start();
      consumer.push(trackedMessage('x:1'), trackedMessage('y:1'), trackedMessage('x:2'));
      await vi.advanceTimersByTimeAsync(500);
      expect(byKey(flushes)).toEqual([
        ['x', ['x:1', 'x:2']],
        ['y', ['y:1']],
      ]);
      await service.stop();
    });
  });
});

describe('BatchingService: keyed pressure', () => {
  it('a new key past maxOpenKeys flushes the oldest (pressure: oldest)', async () => {
    const { consumer, service, flushes, reasons } = setup({
      maxOpenKeys: 2,
      pressureFlush: 'oldest',
    });
    await service.start();
    consumer.push(trackedMessage('a:1'), trackedMessage('b:1'), trackedMessage('b:2'));
    await until(() => consumer.pulled === 3);
    expect(flushes).toHaveLength(0);
    consumer.push(trackedMessage('c:1'));
    await until(() => flushes.length === 1);
    expect(byKey(flushes)).toEqual([['a', ['a:1']]]);
    expect(reasons()[0]).toEqual([1, 'pressure']);
    expect(service.stats()).toMatchObject({ openKeys: 2, pressureFlushes: 1 });
    await service.stop();
  });

  it('a new key past maxOpenKeys flushes the largest by default', async () => {
    const { consumer, service, flushes } = setup({ maxOpenKeys: 2 });
    await service.start();
    consumer.push(trackedMessage('a:1'), trackedMessage('b:1'), trackedMessage('b:2'));
    consumer.push(trackedMessage('c:1'));
    await until(() => flushes.length === 1);
    expect(byKey(flushes)).toEqual([['b', ['b:1', 'b:2']]]);
    await service.stop();
  });

  it('never holds more than the byte budget: intake waits for flushes to finish', async () => {
    const { consumer, service, flushes } = setup(
      { maxBytes: 100, maxBufferedBytes: 100, maxConcurrentFlushes: 1 },
      false,
    );
    const list = Array.from({ length: 12 }, (_, i) =>
      trackedMessage(`k${i % 4}:${i}`, { bytes: 30 }),
    );
    await service.start();
    consumer.push(...list);
    let answered = 0;
    let peak = 0;
    while (consumer.pulled < 12) {
      await until(() => flushes.length > answered);
      for (let i = 0; i < 5; i++) await turn(); // intake runs as far as it may
      peak = Math.max(peak, service.stats().bufferedBytes);
      expect(consumer.pulled).toBeLessThan(12 + 1);
      flushes[answered++]!.gate.resolve([]);
    }
    const stopped = service.stop();
    for (let i = 0; i < 1_000 && list.some((m) => m.outcome === undefined); i++) {
      peak = Math.max(peak, service.stats().bufferedBytes);
      if (flushes.length > answered) flushes[answered++]!.gate.resolve([]);
      else await turn();
    }
    await stopped;
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(100);
    expect(list.every((m) => m.outcome === 'acked')).toBe(true);
    expect(flushes.flatMap((f) => f.ids).sort()).toEqual(list.map((m) => m.id).sort());
    for (const flush of flushes) {
      expect(new Set(flush.ids.map((id) => id.split(':')[0]))).toEqual(new Set([flush.key]));
    }
  });

  it('10,000 distinct keys under a small budget: flushes by pressure, bounded, nothing lost', async () => {
    const { consumer, service, flushes, reasons } = setup({
      maxBytes: 1_000,
      maxBufferedBytes: 20_000,
      maxOpenKeys: 500,
    });
    const list = Array.from({ length: 10_000 }, (_, i) =>
      trackedMessage(`key${i}:${i}`, { bytes: 50 }),
    );
    let peakBytes = 0;
    let peakKeys = 0;
    await service.start();
    consumer.push(...list);
    await until(() => {
      const stats = service.stats();
      peakBytes = Math.max(peakBytes, stats.bufferedBytes);
      peakKeys = Math.max(peakKeys, stats.openKeys);
      return consumer.pulled === 10_000;
    }, 100_000);
    await service.stop();
    expect(peakBytes).toBeLessThanOrEqual(20_000);
    expect(peakKeys).toBeLessThanOrEqual(500);
    expect(list.every((m) => m.outcome === 'acked' && m.acks === 1)).toBe(true);
    expect(flushes.reduce((n, f) => n + f.ids.length, 0)).toBe(10_000);
    expect(reasons().filter(([, reason]) => reason === 'pressure').length).toBeGreaterThan(0);
    expect(service.stats()).toMatchObject({ openKeys: 0, bufferedBytes: 0 });
  });

  it("never fills the consumer's in-flight window: flushes by pressure instead of waiting maxWaitMs", async () => {
    // 300 messages over 60 keys through a broker consumer that yields at most 30 unsettled: no
    // key reaches maxItems and maxWaitMs is a minute, so without the window every batch would wait
    // that minute with the consumer blocked.
    const broker = createInMemoryBroker();
    broker.createTopic('in');
    broker.createSubscription('in-sub', { topic: 'in', maxBacklogMessages: 1_000 });
    const flushed: string[][] = [];
    const service = createBatchingService<string>({
      stage: 'windowed',
      consumer: broker.consumer('in-sub', { maxInFlightMessages: 30 }),
      transformer: (message) => emit(new TextDecoder().decode(message.data)),
      processor: (items) => {
        flushed.push(items.map((item) => item.payload));
        return Promise.resolve([]);
      },
      key: (item) => item.payload.split(':')[0] ?? '',
      maxItems: 1_000,
      maxWaitMs: 60_000,
      maxOpenKeys: 1_000,
    });
    await service.start();
    const producer = broker.producer('in');
    for (let i = 0; i < 300; i++) {
      await producer.publish({ data: new TextEncoder().encode(`k${i % 60}:${i}`) });
    }
    // All but what the last relief left open (at most half the window) is written at once.
    await until(() => broker.subscriptionStats('in-sub').acked >= 300 - 15, 10_000);
    expect(service.stats().openKeys).toBeLessThanOrEqual(15);
    await service.stop();
    expect(broker.subscriptionStats('in-sub').acked).toBe(300);
    expect(service.stats().pressureFlushes).toBeGreaterThan(0);
    expect(flushed.flat().sort()).toEqual(
      Array.from({ length: 300 }, (_, i) => `k${i % 60}:${i}`).sort(),
    );
    await broker.close();
  });

  it('rejects a budget below maxBytes and an unknown pressure order', () => {
    expect(() => setup({ maxBytes: 100, maxBufferedBytes: 50 })).toThrow(InvalidArgumentError);
    expect(() => setup({ pressureFlush: 'random' as 'oldest' })).toThrow(/pressureFlush/);
    expect(() => setup({ maxOpenKeys: 0 })).toThrow(/maxOpenKeys/);
  });
});
