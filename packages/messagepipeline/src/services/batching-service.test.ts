import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeadLetterSink } from '../dead-letter.js';
import { InvalidArgumentError, TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import type { PipelineEvent } from '../observer.js';
import type { BatchProcessor, ItemFailure, ProcessableItem } from '../processor.js';
import { emit, skip } from '../transformer.js';
import { createBatchingService, type BatchingServiceOptions } from './batching-service.js';
import {
  FakeConsumer,
  trackedMessage,
  turn,
  until,
  type FakeConsumerOptions,
  type TrackedMessage,
} from './test-support/fake-consumer.js';

const permanent = (text = 'invalid row'): TributaryError =>
  TributaryError.permanent('SCHEMA_MISMATCH', text);
const transient = (text = 'backend busy'): TributaryError =>
  TributaryError.transient('UNAVAILABLE', text);

interface Flush {
  readonly ids: string[];
  readonly signal: AbortSignal;
  readonly gate: Deferred<readonly ItemFailure[]>;
}

/**
 * A batch processor the test controls: every call is recorded and waits for its gate, unless
 * `auto` answers it at once.
 */
function recordingProcessor(auto?: (ids: string[], call: number) => readonly ItemFailure[]) {
  const flushes: Flush[] = [];
  const processor: BatchProcessor<string> = (items, signal) => {
    const ids = items.map((item: ProcessableItem<string>) => item.payload);
    const gate = deferred<readonly ItemFailure[]>();
    flushes.push({ ids, signal, gate });
    if (auto !== undefined) gate.resolve(auto(ids, flushes.length));
    return gate.promise;
  };
  return { processor, flushes };
}

function setup(
  options: Partial<BatchingServiceOptions<string>> = {},
  consumerOptions: FakeConsumerOptions = {},
) {
  const consumer = new FakeConsumer(consumerOptions);
  const events: PipelineEvent[] = [];
  const recorder = recordingProcessor(() => []);
  const service = createBatchingService<string>({
    stage: 'batch',
    consumer,
    transformer: (message) => emit(message.id),
    processor: recorder.processor,
    observer: (event) => events.push(event),
    maxItems: 100,
    maxWaitMs: 60_000,
    retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 40 },
    ...options,
  });
  const flushed = () =>
    events.flatMap((e) =>
      e.type === 'batch-flushed' ? [{ items: e.items, bytes: e.bytes, reason: e.reason }] : [],
    );
  return { consumer, events, service, flushed, flushes: recorder.flushes };
}

function messages(
  count: number,
  options: { bytes?: number; prefix?: string } = {},
): TrackedMessage[] {
  return Array.from({ length: count }, (_, i) =>
    trackedMessage(
      `${options.prefix ?? 'm'}${i}`,
      options.bytes === undefined ? {} : { bytes: options.bytes },
    ),
  );
}

const fakeTimers = () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
};

async function advanceUntil(condition: () => boolean, stepMs = 20): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    await vi.advanceTimersByTimeAsync(stepMs);
    await turn();
  }
  expect(condition()).toBe(true);
}

describe('BatchingService: flush boundaries', () => {
  it('flushes exactly at maxItems, and not before', async () => {
    const { consumer, service, flushes, flushed } = setup({ maxItems: 3 });
    const list = messages(5);
    await service.start();
    consumer.push(list[0]!, list[1]!);
    for (let i = 0; i < 5; i++) await turn();
    expect(flushes).toHaveLength(0);
    consumer.push(list[2]!);
    await until(() => flushes.length === 1);
    expect(flushes[0]!.ids).toEqual(['m0', 'm1', 'm2']);
    consumer.push(list[3]!, list[4]!);
    for (let i = 0; i < 5; i++) await turn();
    expect(flushes).toHaveLength(1);
    expect(list.slice(0, 3).every((m) => m.outcome === 'acked')).toBe(true);
    expect(list.slice(3).every((m) => m.outcome === undefined)).toBe(true);
    await service.stop();
    expect(flushed().map((f) => [f.items, f.reason])).toEqual([
      [3, 'items'],
      [2, 'stop'],
    ]);
  });

  it('flushes a batch that reaches exactly maxBytes', async () => {
    const { consumer, service, flushes, flushed } = setup({ maxBytes: 30 });
    await service.start();
    consumer.push(...messages(2, { bytes: 10 }));
    for (let i = 0; i < 5; i++) await turn();
    expect(flushes).toHaveLength(0); // 20 < 30
    consumer.push(trackedMessage('third', { bytes: 10 }));
    await until(() => flushes.length === 1);
    expect(flushed()[0]).toEqual({ items: 3, bytes: 30, reason: 'bytes' });
    await service.stop();
  });

  it('flushes first when the next item would take the batch past maxBytes', async () => {
    const { consumer, service, flushes, flushed } = setup({ maxBytes: 30 });
    await service.start();
    consumer.push(...messages(2, { bytes: 10 }), trackedMessage('big', { bytes: 15 }));
    await until(() => flushes.length === 1);
    expect(flushes[0]!.ids).toEqual(['m0', 'm1']); // 20 + 15 > 30: never over the limit
    expect(flushed()[0]).toEqual({ items: 2, bytes: 20, reason: 'bytes' });
    await service.stop();
    expect(flushes[1]!.ids).toEqual(['big']);
    expect(flushed()[1]).toEqual({ items: 1, bytes: 15, reason: 'stop' });
  });

  it('flushes an item larger than maxBytes on its own', async () => {
    const { consumer, service, flushes } = setup({ maxBytes: 30 });
    await service.start();
    consumer.push(trackedMessage('small', { bytes: 10 }), trackedMessage('huge', { bytes: 40 }));
    await until(() => flushes.length === 2);
    expect(flushes.map((f) => f.ids)).toEqual([['small'], ['huge']]);
    await service.stop();
  });

  describe('age', () => {
    fakeTimers();

    it('flushes maxWaitMs after the OLDEST item, however steady the trickle', async () => {
      const { consumer, service, flushes, flushed } = setup({ maxWaitMs: 1_000 });
      await service.start();
      consumer.push(trackedMessage('t0'));
      await vi.advanceTimersByTimeAsync(400);
      consumer.push(trackedMessage('t400'));
      await vi.advanceTimersByTimeAsync(400);
      consumer.push(trackedMessage('t800'));
      await vi.advanceTimersByTimeAsync(199);
      expect(flushes).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1); // t = 1000: the first item's deadline
      expect(flushes.map((f) => f.ids)).toEqual([['t0', 't400', 't800']]);
      expect(flushed()[0]?.reason).toBe('age');
      // The next batch's clock starts with its own first item.
      await vi.advanceTimersByTimeAsync(500);
      consumer.push(trackedMessage('t1500'));
      await vi.advanceTimersByTimeAsync(999);
      expect(flushes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(flushes.map((f) => f.ids)).toEqual([['t0', 't400', 't800'], ['t1500']]);
      await service.stop();
    });

    it('never flushes by age when maxWaitMs is Infinity', async () => {
      const { consumer, service, flushes } = setup({ maxWaitMs: Infinity });
      await service.start();
      consumer.push(trackedMessage('a'));
      await vi.advanceTimersByTimeAsync(3_600_000);
      expect(flushes).toHaveLength(0);
      await service.stop();
      expect(flushes).toHaveLength(1);
    });
  });
});

describe('BatchingService: sink-driven cadence', () => {
  function ticker() {
    let wake: Deferred<IteratorResult<unknown>> | undefined;
    let closed = false;
    const iterable: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({
        next: () => (wake = deferred()).promise,
        return: () => {
          closed = true;
          wake?.resolve({ done: true, value: undefined });
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
    return {
      iterable,
      tick: () => wake?.resolve({ done: false, value: undefined }),
      fail: (error: Error) => wake?.reject(error),
      get closed() {
        return closed;
      },
    };
  }

  it('flushes the open batch on every tick, and closes the trigger on stop', async () => {
    const trigger = ticker();
    const { consumer, service, flushes, flushed } = setup({
      flushTrigger: trigger.iterable,
      maxItems: 3,
    });
    await service.start();
    consumer.push(...messages(2));
    await until(() => service.health().detail?.startsWith('2 messages') === true);
    trigger.tick();
    await until(() => flushes.length === 1);
    expect(flushes[0]!.ids).toEqual(['m0', 'm1']);
    trigger.tick(); // nothing open: nothing flushed
    await turn();
    consumer.push(...messages(4, { prefix: 'n' })); // size limits still apply
    await until(() => flushes.length === 2);
    expect(flushes[1]!.ids).toEqual(['n0', 'n1', 'n2']);
    await service.stop();
    expect(flushed().map((f) => f.reason)).toEqual(['sink', 'items', 'stop']);
    expect(trigger.closed).toBe(true);
  });

  it('dies (done rejects) when the trigger throws', async () => {
    const trigger = ticker();
    const { consumer, service, flushes } = setup({ flushTrigger: trigger.iterable });
    await service.start();
    const m = trackedMessage('pending');
    consumer.push(m);
    await until(() => consumer.pulled === 1);
    const boom = new Error('sink lost');
    trigger.fail(boom);
    await expect(service.done).rejects.toBe(boom);
    expect(flushes.map((f) => f.ids)).toEqual([['pending']]);
    expect(m.outcome).toBe('acked');
  });
});

describe('BatchingService: per-item outcomes', () => {
  fakeTimers();

  it('acks ok items, dead-letters permanent ones, retries only the transient ones', async () => {
    const deadLetter = vi.fn<DeadLetterSink['deadLetter']>(() => Promise.resolve());
    const recorder = recordingProcessor((_ids, call) =>
      call === 1
        ? [
            { index: 1, error: permanent() },
            { index: 2, error: transient() },
          ]
        : [],
    );
    const { consumer, service, events } = setup({
      processor: recorder.processor,
      deadLetter: { deadLetter },
      maxItems: 3,
    });
    const [ok, bad, flaky] = messages(3);
    await service.start();
    consumer.push(ok!, bad!, flaky!);
    await advanceUntil(() => flaky!.outcome !== undefined);
    expect(recorder.flushes.map((f) => f.ids)).toEqual([['m0', 'm1', 'm2'], ['m2']]);
    expect([ok!.outcome, bad!.outcome, flaky!.outcome]).toEqual(['acked', 'acked', 'acked']);
    expect(deadLetter).toHaveBeenCalledOnce();
    expect(deadLetter.mock.calls[0]![0]).toBe(bad);
    expect(deadLetter.mock.calls[0]![2]).toBe('batch');
    expect(events.filter((e) => e.type === 'retried').map((e) => e.message.id)).toEqual(['m2']);
    expect(events.filter((e) => e.type === 'dead-lettered').map((e) => e.message.id)).toEqual([
      'm1',
    ]);
    await service.stop();
  });

  it('nacks transient items once the retry budget is spent, acking the rest at once', async () => {
    const recorder = recordingProcessor((ids) =>
      ids.flatMap((id, index) => (id === 'm1' ? [{ index, error: transient() }] : [])),
    );
    const { consumer, service } = setup({ processor: recorder.processor, maxItems: 2 });
    const [ok, flaky] = messages(2);
    await service.start();
    consumer.push(ok!, flaky!);
    await until(() => ok!.outcome !== undefined);
    expect(ok!.outcome).toBe('acked');
    expect(flaky!.outcome).toBeUndefined();
    await advanceUntil(() => flaky!.outcome !== undefined);
    expect(flaky!.outcome).toBe('nacked');
    expect(recorder.flushes.map((f) => f.ids)).toEqual([['m0', 'm1'], ['m1'], ['m1']]);
    await service.stop();
  });

  it('nacks an item whose dead-letter publish fails, without touching its neighbours', async () => {
    const recorder = recordingProcessor(() => [{ index: 0, error: permanent() }]);
    const { consumer, service } = setup({
      processor: recorder.processor,
      deadLetter: { deadLetter: () => Promise.reject(new Error('dlq down')) },
      maxItems: 2,
    });
    const [bad, good] = messages(2);
    await service.start();
    consumer.push(bad!, good!);
    await until(() => bad!.outcome !== undefined && good!.outcome !== undefined);
    expect([bad!.outcome, good!.outcome]).toEqual(['nacked', 'acked']);
    await service.stop();
  });

  it('dead-letters transient items as ATTEMPTS_EXHAUSTED at maxDeliveryAttempts', async () => {
    const deadLetter = vi.fn<DeadLetterSink['deadLetter']>(() => Promise.resolve());
    const recorder = recordingProcessor((ids) =>
      ids.map((_, index) => ({ index, error: transient() })),
    );
    const { consumer, service } = setup({
      processor: recorder.processor,
      deadLetter: { deadLetter },
      maxDeliveryAttempts: 3,
      maxItems: 2,
    });
    const fresh = trackedMessage('fresh', { deliveryAttempt: 1 });
    const poison = trackedMessage('poison', { deliveryAttempt: 3 });
    await service.start();
    consumer.push(fresh, poison);
    await advanceUntil(() => fresh.outcome !== undefined && poison.outcome !== undefined);
    expect(fresh.outcome).toBe('nacked');
    expect(poison.outcome).toBe('acked');
    expect(deadLetter.mock.calls.map(([m, e]) => [m.id, e.code])).toEqual([
      ['poison', 'ATTEMPTS_EXHAUSTED'],
    ]);
    await service.stop();
  });

  it('fails every item when the processor throws (transient: retried, then nacked)', async () => {
    let calls = 0;
    const { consumer, service } = setup({
      processor: () => {
        calls++;
        return Promise.reject(new Error('connection reset'));
      },
      maxItems: 2,
    });
    const list = messages(2);
    await service.start();
    consumer.push(...list);
    await advanceUntil(() => list.every((m) => m.outcome !== undefined));
    expect(list.map((m) => m.outcome)).toEqual(['nacked', 'nacked']);
    expect(calls).toBe(3);
    await service.stop();
  });

  it('treats an invalid failure index as a failure of every item', async () => {
    const recorder = recordingProcessor((_, call) =>
      call === 1 ? [{ index: 7, error: permanent() }] : [],
    );
    const { consumer, service } = setup({ processor: recorder.processor, maxItems: 2 });
    const list = messages(2);
    await service.start();
    consumer.push(...list);
    await advanceUntil(() => list.every((m) => m.outcome !== undefined));
    expect(list.map((m) => m.outcome)).toEqual(['acked', 'acked']);
    expect(recorder.flushes).toHaveLength(2); // retried as a whole, then succeeded
    await service.stop();
  });

  it('applies the transform rules: skip acks, permanent dead-letters, transient retries', async () => {
    const deadLetter = vi.fn<DeadLetterSink['deadLetter']>(() => Promise.resolve());
    let flakyCalls = 0;
    const { consumer, service, flushes, events } = setup({
      deadLetter: { deadLetter },
      maxItems: 2,
      transformer: (message) => {
        if (message.id === 'skip') return skip('heartbeat');
        if (message.id === 'bad') throw permanent('not JSON');
        if (message.id === 'flaky' && ++flakyCalls === 1) throw transient();
        return emit(message.id);
      },
    });
    const list = ['skip', 'bad', 'flaky', 'good'].map((id) => trackedMessage(id));
    await service.start();
    consumer.push(...list);
    await advanceUntil(() => list.every((m) => m.outcome !== undefined));
    expect(list.map((m) => m.outcome)).toEqual(['acked', 'acked', 'acked', 'acked']);
    expect(flushes.map((f) => f.ids)).toEqual([['flaky', 'good']]);
    expect(deadLetter.mock.calls.map(([m]) => m.id)).toEqual(['bad']);
    expect(events.some((e) => e.type === 'skipped' && e.reason === 'heartbeat')).toBe(true);
    await service.stop();
  });
});

describe('BatchingService: backpressure', () => {
  it('stops pulling while flushes are saturated and the open batch is full', async () => {
    const recorder = recordingProcessor();
    const { consumer, service } = setup({
      processor: recorder.processor,
      maxItems: 2,
      maxConcurrentFlushes: 1,
    });
    consumer.push(...messages(10));
    await service.start();
    await until(() => recorder.flushes.length === 1);
    for (let i = 0; i < 10; i++) await turn();
    // One batch flushing, one full batch waiting for the slot: intake stopped there.
    expect(consumer.pulled).toBe(4);
    expect(recorder.flushes).toHaveLength(1);
    recorder.flushes[0]!.gate.resolve([]);
    await until(() => recorder.flushes.length === 2);
    expect(recorder.flushes[1]!.ids).toEqual(['m2', 'm3']);
    for (let i = 0; i < 10; i++) await turn();
    expect(consumer.pulled).toBe(6);
    for (let i = 1; i < 5; i++) {
      await until(() => recorder.flushes.length > i);
      recorder.flushes[i]!.gate.resolve([]);
    }
    await service.stop();
    expect(consumer.pulled).toBe(10);
  });
});

describe('BatchingService: stop', () => {
  it('flushes the open batch on stop with a signal that is not aborted', async () => {
    const recorder = recordingProcessor(() => []);
    const { consumer, service, flushed } = setup({ processor: recorder.processor });
    const list = messages(3);
    await service.start();
    consumer.push(...list);
    await until(() => consumer.pulled === 3);
    await service.stop();
    expect(recorder.flushes).toHaveLength(1);
    expect(recorder.flushes[0]!.signal.aborted).toBe(false);
    expect(flushed()).toEqual([{ items: 3, bytes: list[0]!.size * 3, reason: 'stop' }]);
    expect(list.every((m) => m.outcome === 'acked')).toBe(true);
    await expect(service.done).resolves.toBeUndefined();
  });

  describe('with a deadline', () => {
    fakeTimers();

    it('aborts and nacks everything unsettled when the final flush outlasts the deadline', async () => {
      const recorder = recordingProcessor();
      const { consumer, service } = setup({ processor: recorder.processor, maxItems: 2 });
      const list = messages(3);
      await service.start();
      consumer.push(...list);
      await until(() => recorder.flushes.length === 1 && consumer.pulled === 3);
      let stopped = false;
      const stopping = service.stop({ timeoutMs: 2_000 }).then(() => {
        stopped = true;
      });
      await until(() => recorder.flushes.length === 2); // final flush of the open batch
      expect(recorder.flushes[1]!.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1_999);
      expect(stopped).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await stopping;
      expect(recorder.flushes[1]!.signal.aborted).toBe(true);
      expect(list.map((m) => m.outcome)).toEqual(['nacked', 'nacked', 'nacked']);
      for (const flush of recorder.flushes) flush.gate.resolve([]);
      await turn();
      expect(list.every((m) => m.acks + m.nacks === 1)).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('nacks the open batch when every flush slot stays busy past the deadline', async () => {
      const recorder = recordingProcessor();
      const { consumer, service } = setup({
        processor: recorder.processor,
        maxItems: 2,
        maxConcurrentFlushes: 1,
      });
      const list = messages(5);
      await service.start();
      consumer.push(...list);
      await until(() => consumer.pulled === 4);
      const stopping = service.stop({ timeoutMs: 500 });
      await vi.advanceTimersByTimeAsync(500);
      await stopping;
      expect(list.slice(0, 4).map((m) => m.outcome)).toEqual(Array(4).fill('nacked'));
      expect(list[4]!.outcome).toBe('nacked'); // never pulled: handed back by the consumer
      expect(consumer.pulled).toBe(4);
    });
  });

  it('done rejects when the consumer fails, after the final flush', async () => {
    const { consumer, service, flushes } = setup();
    const list = messages(2);
    await service.start();
    consumer.push(...list);
    await until(() => consumer.pulled === 2);
    const boom = new Error('stream reset');
    consumer.fail(boom);
    await expect(service.done).rejects.toBe(boom);
    expect(flushes.map((f) => f.ids)).toEqual([['m0', 'm1']]);
    expect(list.every((m) => m.outcome === 'acked')).toBe(true);
  });

  it('stops by itself when the consumer ends, flushing what it holds', async () => {
    const { consumer, service, flushed } = setup();
    consumer.push(...messages(3));
    consumer.end();
    await service.start();
    await service.done;
    expect(flushed().map((f) => [f.items, f.reason])).toEqual([[3, 'stop']]);
  });
});

describe('BatchingService: options', () => {
  it.each([
    ['maxItems', { maxItems: 0 }],
    ['maxBytes', { maxBytes: 0.5 }],
    ['maxWaitMs', { maxWaitMs: 0 }],
    ['maxWaitMs', { maxWaitMs: Number.NaN }],
    ['maxConcurrentFlushes', { maxConcurrentFlushes: 0 }],
    ['flushTrigger', { flushTrigger: {} }],
    ['processor', { processor: 'nope' }],
    ['consumer', { consumer: undefined }],
  ] as const)('rejects an invalid %s', (name, bad) => {
    const create = () =>
      createBatchingService({
        stage: 'batch',
        consumer: new FakeConsumer(),
        transformer: (message) => emit(message.id),
        processor: () => Promise.resolve([]),
        ...(bad as unknown as Partial<BatchingServiceOptions<string>>),
      });
    expect(create).toThrow(InvalidArgumentError);
    expect(create).toThrow(`'${name}'`);
  });
});
