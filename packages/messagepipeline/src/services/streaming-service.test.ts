import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeadLetterSink } from '../dead-letter.js';
import { InvalidArgumentError, TributaryError } from '../errors.js';
import { deferred, type Deferred } from '../kernel/deferred.js';
import type { Logger } from '../logger.js';
import type { Message } from '../message.js';
import type { PipelineEvent } from '../observer.js';
import type { StreamProcessor } from '../processor.js';
import { emit, skip, type Transformer } from '../transformer.js';
import { createInMemoryBroker } from '../broker/broker.js';
import { createStreamingService, type StreamingServiceOptions } from './streaming-service.js';
import {
  FakeConsumer,
  trackedMessage,
  turn,
  until,
  type FakeConsumerOptions,
  type TrackedMessage,
} from './test-support/fake-consumer.js';

const decoder = new TextDecoder();
const parse: Transformer<unknown> = (message) => emit(JSON.parse(decoder.decode(message.data)));

const permanent = (text = 'bad row'): TributaryError =>
  TributaryError.permanent('INVALID_PAYLOAD', text);
const transient = (text = 'try later'): TributaryError =>
  TributaryError.transient('UNAVAILABLE', text);

function recordingLogger(): Logger & { readonly lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const logger = {
    lines,
    debug: (_: unknown, message?: string) => lines.push({ level: 'debug', message: message ?? '' }),
    info: (_: unknown, message?: string) => lines.push({ level: 'info', message: message ?? '' }),
    warn: (_: unknown, message?: string) => lines.push({ level: 'warn', message: message ?? '' }),
    error: (_: unknown, message?: string) => lines.push({ level: 'error', message: message ?? '' }),
    child: () => logger,
  };
  return logger;
}

function setup(
  options: Partial<StreamingServiceOptions<unknown>> = {},
  consumerOptions: FakeConsumerOptions = {},
) {
  const consumer = new FakeConsumer(consumerOptions);
  const events: PipelineEvent[] = [];
  const service = createStreamingService<unknown>({
    stage: 'test',
    consumer,
    transformer: parse,
    processor: () => Promise.resolve(),
    observer: (event) => events.push(event),
    retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 40 },
    ...options,
  });
  const types = (id?: string): string[] =>
    events
      .filter((e) => id === undefined || ('message' in e && e.message.id === id))
      .map((e) => e.type);
  return { consumer, events, service, types };
}

/** A processor whose calls block until the test resolves them. */
function blockingProcessor() {
  const calls: { item: unknown; signal: AbortSignal; gate: Deferred<undefined> }[] = [];
  let running = 0;
  let maxRunning = 0;
  const processor: StreamProcessor<unknown> = async (item, signal) => {
    const gate = deferred<undefined>();
    calls.push({ item, signal, gate });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await gate.promise;
    } finally {
      running--;
    }
  };
  return {
    processor,
    calls,
    get maxRunning() {
      return maxRunning;
    },
  };
}

function messages(count: number, options: { bytes?: number } = {}): TrackedMessage[] {
  return Array.from({ length: count }, (_, i) => trackedMessage(`m${i}`, options));
}

function settledOnce(list: readonly TrackedMessage[]): boolean {
  return list.every((m) => m.acks + m.nacks === 1);
}

describe('StreamingService: the per-message contract', () => {
  it('acks after the processor resolved, with received, in-flight and acked events', async () => {
    const seen: unknown[] = [];
    const { consumer, service, types } = setup({
      processor: (item) => {
        seen.push(item.payload);
        return Promise.resolve();
      },
    });
    const m = trackedMessage('a', { data: { v: 1 } });
    consumer.push(m);
    await service.start();
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('acked');
    expect(seen).toEqual([{ v: 1 }]);
    expect(types()).toEqual(['received', 'in-flight', 'acked', 'in-flight']);
    await service.stop();
    expect(settledOnce([m])).toBe(true);
  });

  it('acks a skipped message and reports why', async () => {
    const processor = vi.fn(() => Promise.resolve());
    const { consumer, service, events } = setup({
      transformer: () => skip('not for us'),
      processor,
    });
    const m = trackedMessage('s');
    consumer.push(m);
    await service.start();
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('acked');
    expect(processor).not.toHaveBeenCalled();
    expect(events).toContainEqual({
      type: 'skipped',
      stage: 'test',
      message: m,
      reason: 'not for us',
    });
    await service.stop();
  });

  it('supports asynchronous transformers', async () => {
    const { consumer, service } = setup({
      transformer: (message) => Promise.resolve(emit(message.id)),
    });
    const m = trackedMessage('async');
    consumer.push(m);
    await service.start();
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('acked');
    await service.stop();
  });

  it('dead-letters a permanent failure (with error and stage) and acks only once that is durable', async () => {
    const published = deferred<undefined>();
    const deadLetter = vi.fn<DeadLetterSink['deadLetter']>(() => published.promise);
    const error = permanent();
    const { consumer, service, types } = setup({
      deadLetter: { deadLetter },
      processor: () => Promise.reject(error),
    });
    const m = trackedMessage('p');
    consumer.push(m);
    await service.start();
    await until(() => deadLetter.mock.calls.length === 1);
    expect(deadLetter).toHaveBeenCalledWith(m, error, 'test');
    await turn();
    expect(m.outcome).toBeUndefined(); // never ack before the effect
    published.resolve(undefined);
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('acked');
    expect(types('p')).toEqual(['received', 'dead-lettered', 'acked']);
    await service.stop();
  });

  it('dead-letters a permanent transform failure without calling the processor', async () => {
    const deadLetter = vi.fn<DeadLetterSink['deadLetter']>(() => Promise.resolve());
    const processor = vi.fn(() => Promise.resolve());
    const { consumer, service } = setup({
      deadLetter: { deadLetter },
      transformer: () => {
        throw permanent('not JSON');
      },
      processor,
    });
    const m = trackedMessage('t');
    consumer.push(m);
    await service.start();
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('acked');
    expect(deadLetter).toHaveBeenCalledOnce();
    expect(processor).not.toHaveBeenCalled();
    await service.stop();
  });

  it('nacks when the dead-letter publish fails', async () => {
    const logger = recordingLogger();
    const { consumer, service, types } = setup({
      deadLetter: { deadLetter: () => Promise.reject(new Error('topic gone')) },
      processor: () => Promise.reject(permanent()),
      logger,
    });
    const m = trackedMessage('d');
    consumer.push(m);
    await service.start();
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('nacked');
    expect(types('d')).toEqual(['received', 'nacked']);
    expect(logger.lines.some((l) => l.level === 'error')).toBe(true);
    await service.stop();
  });

  it('nacks and logs a permanent failure when there is no dead-letter sink', async () => {
    const logger = recordingLogger();
    const { consumer, service } = setup({
      processor: () => Promise.reject(permanent()),
      logger,
    });
    const m = trackedMessage('n');
    consumer.push(m);
    await service.start();
    await until(() => m.outcome !== undefined);
    expect(m.outcome).toBe('nacked');
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    await service.stop();
  });

  describe('transient failures', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    async function advanceUntil(condition: () => boolean): Promise<void> {
      for (let i = 0; i < 200 && !condition(); i++) {
        await vi.advanceTimersByTimeAsync(20);
        await turn();
      }
      expect(condition()).toBe(true);
    }

    it('retries with backoff within the budget, then nacks', async () => {
      const processor = vi.fn(() => Promise.reject(transient()));
      const transformer = vi.fn(parse);
      const { consumer, service, events, types } = setup({ processor, transformer });
      const m = trackedMessage('r');
      consumer.push(m);
      await service.start();
      await advanceUntil(() => m.outcome !== undefined);
      expect(m.outcome).toBe('nacked');
      expect(processor).toHaveBeenCalledTimes(3);
      expect(transformer).toHaveBeenCalledTimes(1); // only the failed step is retried
      expect(types('r')).toEqual(['received', 'retried', 'retried', 'nacked']);
      const retried = events.filter((e) => e.type === 'retried');
      expect(retried.map((e) => e.attempt)).toEqual([1, 2]);
      await service.stop();
    });

    it('acks when a retry succeeds', async () => {
      let calls = 0;
      const { consumer, service } = setup({
        processor: () => (++calls < 3 ? Promise.reject(transient()) : Promise.resolve()),
      });
      const m = trackedMessage('ok-later');
      consumer.push(m);
      await service.start();
      await advanceUntil(() => m.outcome !== undefined);
      expect(m.outcome).toBe('acked');
      expect(calls).toBe(3);
      await service.stop();
    });

    it('retries a transient transform failure by transforming again', async () => {
      let calls = 0;
      const { consumer, service } = setup({
        transformer: (message) => {
          if (++calls === 1) throw transient();
          return emit(message.id);
        },
      });
      const m = trackedMessage('tt');
      consumer.push(m);
      await service.start();
      await advanceUntil(() => m.outcome !== undefined);
      expect(m.outcome).toBe('acked');
      expect(calls).toBe(2);
      await service.stop();
    });

    it('treats unclassified errors as transient', async () => {
      const processor = vi.fn(() => Promise.reject(new Error('socket hang up')));
      const { consumer, service } = setup({ processor });
      const m = trackedMessage('u');
      consumer.push(m);
      await service.start();
      await advanceUntil(() => m.outcome !== undefined);
      expect(m.outcome).toBe('nacked');
      expect(processor).toHaveBeenCalledTimes(3);
      await service.stop();
    });

    it('dead-letters as ATTEMPTS_EXHAUSTED at maxDeliveryAttempts, nacks below it', async () => {
      const deadLetter = vi.fn<DeadLetterSink['deadLetter']>(() => Promise.resolve());
      const { consumer, service } = setup({
        processor: () => Promise.reject(transient()),
        deadLetter: { deadLetter },
        maxDeliveryAttempts: 5,
      });
      const early = trackedMessage('early', { deliveryAttempt: 4 });
      const poison = trackedMessage('poison', { deliveryAttempt: 5 });
      consumer.push(early, poison);
      await service.start();
      await advanceUntil(() => early.outcome !== undefined && poison.outcome !== undefined);
      expect(early.outcome).toBe('nacked');
      expect(poison.outcome).toBe('acked');
      expect(deadLetter).toHaveBeenCalledOnce();
      const [message, error, stage] = deadLetter.mock.calls[0]!;
      expect(message).toBe(poison);
      expect(error.code).toBe('ATTEMPTS_EXHAUSTED');
      expect(error.cause).toBeInstanceOf(TributaryError);
      expect(stage).toBe('test');
      await service.stop();
    });
  });
});

describe('StreamingService: concurrency and backpressure', () => {
  it('runs at most `concurrency` processors at once', async () => {
    const blocking = blockingProcessor();
    const { consumer, service } = setup({ processor: blocking.processor, concurrency: 3 });
    const list = messages(10);
    consumer.push(...list);
    await service.start();
    await until(() => blocking.calls.length === 3);
    await turn();
    expect(blocking.calls).toHaveLength(3);
    for (let i = 0; i < 10; i++) {
      await until(() => blocking.calls.length > i);
      blocking.calls[i]!.gate.resolve(undefined);
    }
    await until(() => list.every((m) => m.outcome === 'acked'));
    expect(blocking.maxRunning).toBe(3);
    await service.stop();
  });

  it('stops pulling at maxInFlightMessages and resumes when a message settles', async () => {
    const blocking = blockingProcessor();
    const { consumer, service, events } = setup({
      processor: blocking.processor,
      concurrency: 2,
      maxInFlightMessages: 3,
    });
    consumer.push(...messages(10));
    await service.start();
    await until(() => blocking.calls.length === 2);
    for (let i = 0; i < 5; i++) await turn();
    expect(consumer.pulled).toBe(3); // 2 processing + 1 queued, then intake stops
    expect(consumer.buffered).toBe(7);
    blocking.calls[0]!.gate.resolve(undefined);
    await until(() => consumer.pulled === 4);
    for (let i = 0; i < 5; i++) await turn();
    expect(consumer.pulled).toBe(4);
    const inFlight = events.filter((e) => e.type === 'in-flight').map((e) => e.count);
    expect(Math.max(...inFlight)).toBe(3);
    for (const call of blocking.calls) call.gate.resolve(undefined);
    await service.stop({ timeoutMs: 0 });
  });

  it('stops pulling at maxInFlightBytes', async () => {
    const blocking = blockingProcessor();
    const { consumer, service } = setup({
      transformer: () => emit(null),
      processor: blocking.processor,
      maxInFlightBytes: 250,
    });
    consumer.push(...messages(10, { bytes: 100 }));
    await service.start();
    await until(() => blocking.calls.length === 3);
    for (let i = 0; i < 5; i++) await turn();
    // Pulls while under the limit: 0, 100, 200 bytes in flight; at 300 >= 250 it stops.
    expect(consumer.pulled).toBe(3);
    expect(service.inFlight).toEqual({ messages: 3, bytes: 300 });
    blocking.calls[0]!.gate.resolve(undefined);
    await until(() => consumer.pulled === 4);
    for (const call of blocking.calls) call.gate.resolve(undefined);
    await service.stop({ timeoutMs: 0 });
  });

  it('takes a message larger than maxInFlightBytes when nothing else is in flight', async () => {
    const { consumer, service } = setup({
      transformer: () => emit(null),
      maxInFlightBytes: 50,
    });
    const big = messages(3, { bytes: 100 });
    consumer.push(...big);
    await service.start();
    await until(() => big.every((m) => m.outcome === 'acked'));
    await service.stop();
  });
});

describe('StreamingService over a polling consumer (the in-memory broker)', () => {
  it('takes no more than the in-flight limits allow, and settles every message once', async () => {
    const broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createSubscription('raw-a', { topic: 'raw' });
    const producer = broker.producer('raw');
    for (let i = 0; i < 20; i++) await producer.publish({ data: new Uint8Array(100) });
    const blocking = blockingProcessor();
    const service = createStreamingService({
      stage: 'poll',
      consumer: broker.consumer('raw-a'),
      transformer: () => emit(null),
      processor: blocking.processor,
      concurrency: 2,
      maxInFlightMessages: 5,
      maxInFlightBytes: 350,
    });
    await service.start();
    await until(() => blocking.calls.length === 2);
    for (let i = 0; i < 5; i++) await turn();
    // Bytes bind first: 0, 100, 200, 300 bytes in flight are below 350; at 400 intake stops.
    expect(service.inFlight).toEqual({ messages: 4, bytes: 400 });
    expect(broker.subscriptionStats('raw-a').outstandingMessages).toBe(4);
    let released = 0;
    while (broker.subscriptionStats('raw-a').acked < 20) {
      for (const call of blocking.calls.slice(released)) call.gate.resolve(undefined);
      released = blocking.calls.length;
      expect(service.inFlight.messages).toBeLessThanOrEqual(4);
      expect(broker.subscriptionStats('raw-a').outstandingMessages).toBeLessThanOrEqual(4);
      await turn();
    }
    await service.stop();
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      acked: 20,
      nacked: 0,
      delivered: 20,
    });
    await broker.close();
  });
});

describe('StreamingService: stop', () => {
  it('stops pulling, lets in-flight messages finish, then resolves', async () => {
    const blocking = blockingProcessor();
    const { consumer, service } = setup({ processor: blocking.processor, concurrency: 2 });
    const [a, b] = messages(2);
    consumer.push(a!, b!);
    await service.start();
    await until(() => blocking.calls.length === 2);
    let stopped = false;
    const stopping = service.stop().then(() => {
      stopped = true;
    });
    expect(service.stop()).toBe(service.stop()); // idempotent
    await until(() => consumer.stopCalls === 1);
    expect(consumer.lastStopOptions).toEqual({ timeoutMs: 8_000 }); // the documented default
    consumer.push(trackedMessage('late'));
    await turn();
    expect(consumer.pulled).toBe(2);
    expect(stopped).toBe(false);
    blocking.calls[0]!.gate.resolve(undefined);
    blocking.calls[1]!.gate.resolve(undefined);
    await stopping;
    expect([a!.outcome, b!.outcome]).toEqual(['acked', 'acked']);
    expect(blocking.calls.every((c) => !c.signal.aborted)).toBe(true);
    await expect(service.done).resolves.toBeUndefined();
    expect(service.health().ready).toBe(false);
  });

  describe('with a deadline', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
      vi.restoreAllMocks();
    });

    it('aborts the signal and nacks every unsettled message when the deadline passes', async () => {
      const blocking = blockingProcessor();
      const { consumer, service } = setup({
        processor: blocking.processor,
        concurrency: 2,
        maxInFlightMessages: 5,
      });
      const list = messages(5);
      consumer.push(...list);
      await service.start();
      await until(() => blocking.calls.length === 2 && consumer.pulled === 5);
      let stopped = false;
      const stopping = service.stop({ timeoutMs: 1_000 }).then(() => {
        stopped = true;
      });
      await vi.advanceTimersByTimeAsync(999);
      expect(stopped).toBe(false);
      expect(blocking.calls[0]!.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await stopping;
      expect(blocking.calls[0]!.signal.aborted).toBe(true);
      expect(list.map((m) => m.outcome)).toEqual(Array(5).fill('nacked'));
      // A processor finishing after the deadline does not settle again.
      for (const call of blocking.calls) call.gate.resolve(undefined);
      await turn();
      expect(settledOnce(list)).toBe(true);
      expect(blocking.calls).toHaveLength(2);
    });

    it('cuts a retry backoff short at the deadline and nacks', async () => {
      // Full jitter draws the wait from [0, 60 s): pin the draw to the middle (30 s), or one run
      // in 600 retries inside the 100 ms deadline.
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
      const processor = vi.fn(() => Promise.reject(transient()));
      const { consumer, service } = setup({
        processor,
        retry: { maxAttempts: 10, initialBackoffMs: 60_000, maxBackoffMs: 60_000 },
      });
      const m = trackedMessage('slow-retry');
      consumer.push(m);
      await service.start();
      await until(() => processor.mock.calls.length === 1);
      const stopping = service.stop({ timeoutMs: 100 });
      await vi.advanceTimersByTimeAsync(100);
      await stopping;
      expect(m.outcome).toBe('nacked');
      expect(m.nacks).toBe(1);
      await turn();
      expect(processor).toHaveBeenCalledTimes(1);
    });

    it('resolves at the deadline even when the consumer never ends its iterator', async () => {
      const { consumer, service } = setup({}, { endOnStop: false });
      await service.start();
      await until(() => consumer.waiting);
      const stopping = service.stop({ timeoutMs: 50 });
      await vi.advanceTimersByTimeAsync(0);
      await stopping; // nothing in flight: resolved without waiting for the deadline
      const late = trackedMessage('late');
      consumer.push(late);
      await until(() => late.outcome !== undefined);
      expect(late.outcome).toBe('nacked');
    });
  });

  it('done rejects when the consumer fails, after draining what was taken', async () => {
    const blocking = blockingProcessor();
    const { consumer, service } = setup({ processor: blocking.processor });
    const m = trackedMessage('before-crash');
    consumer.push(m);
    await service.start();
    await until(() => blocking.calls.length === 1);
    const boom = new Error('subscription deleted');
    consumer.fail(boom);
    await until(() => consumer.stopCalls === 1);
    blocking.calls[0]!.gate.resolve(undefined);
    await expect(service.done).rejects.toBe(boom);
    expect(m.outcome).toBe('acked');
    expect(service.health()).toEqual({ ready: false, detail: 'failed: subscription deleted' });
  });

  it('start rejects, and done rejects, when the consumer cannot start', async () => {
    const boom = new Error('no such subscription');
    const { service } = setup({}, { startError: boom });
    await expect(service.start()).rejects.toBe(boom);
    await expect(service.done).rejects.toBe(boom);
  });

  it('stops by itself when the consumer ends', async () => {
    const { consumer, service } = setup();
    const list = messages(3);
    consumer.push(...list);
    consumer.end();
    await service.start();
    await service.done;
    expect(list.every((m) => m.outcome === 'acked')).toBe(true);
    expect(consumer.stopCalls).toBe(1);
  });

  it('stop before start resolves, and start afterwards is refused', async () => {
    const { service } = setup();
    await service.stop();
    await service.done;
    await expect(service.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('StreamingService: settle-once under mixed outcomes', () => {
  it('settles every message exactly once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    try {
      const { consumer, service } = setup({
        deadLetter: {
          deadLetter: (message) =>
            message.id.endsWith('3') ? Promise.reject(new Error('dl down')) : Promise.resolve(),
        },
        transformer: (message: Message) => {
          const n = Number(message.id.slice(1));
          if (n % 5 === 0) return skip('fifth');
          if (n % 7 === 0) throw permanent();
          return emit(n);
        },
        processor: (item) => {
          const n = item.payload as number;
          if (n % 3 === 0) return Promise.reject(permanent());
          if (n % 4 === 0) return Promise.reject(transient());
          return Promise.resolve();
        },
        concurrency: 4,
        maxInFlightMessages: 8,
      });
      const list = messages(60);
      consumer.push(...list);
      await service.start();
      for (let i = 0; i < 200 && !list.every((m) => m.outcome !== undefined); i++) {
        await vi.advanceTimersByTimeAsync(20);
        await turn();
      }
      await service.stop();
      expect(settledOnce(list)).toBe(true);
      expect(list.find((m) => m.id === 'm13')?.outcome).toBe('acked');
      expect(list.find((m) => m.id === 'm3')?.outcome).toBe('nacked'); // dead-letter failed
      expect(list.find((m) => m.id === 'm8')?.outcome).toBe('nacked'); // transient
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('StreamingService: health and options', () => {
  it('is ready while running and not ready when in-flight messages stop settling', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    try {
      const blocking = blockingProcessor();
      const { consumer, service } = setup({
        processor: blocking.processor,
        progressTimeoutMs: 10_000,
      });
      expect(service.health().ready).toBe(false);
      await service.start();
      expect(service.health().ready).toBe(true);
      consumer.push(trackedMessage('stuck'));
      await until(() => blocking.calls.length === 1);
      expect(service.health().ready).toBe(true);
      await vi.advanceTimersByTimeAsync(10_001);
      expect(service.health()).toMatchObject({ ready: false });
      blocking.calls[0]!.gate.resolve(undefined);
      await until(() => service.inFlight.messages === 0);
      expect(service.health().ready).toBe(true);
      await service.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['concurrency', { concurrency: 0 }],
    ['maxInFlightMessages', { maxInFlightMessages: 1.5 }],
    ['maxInFlightBytes', { maxInFlightBytes: -1 }],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
    ['retry.maxBackoffMs', { retry: { initialBackoffMs: 100, maxBackoffMs: 10 } }],
    ['maxDeliveryAttempts', { maxDeliveryAttempts: 0 }],
    ['stage', { stage: '' }],
    ['processor', { processor: undefined }],
  ] as const)('rejects an invalid %s', (name, bad) => {
    const create = () =>
      createStreamingService({
        stage: 'test',
        consumer: new FakeConsumer(),
        transformer: parse,
        processor: () => Promise.resolve(),
        ...(bad as Partial<StreamingServiceOptions<unknown>>),
      });
    expect(create).toThrow(InvalidArgumentError);
    expect(create).toThrow(`'${name}'`);
  });

  it('rejects an invalid stop timeout', async () => {
    const { service } = setup();
    await expect(service.stop({ timeoutMs: -1 })).rejects.toThrow(InvalidArgumentError);
  });
});
