import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker } from './broker.js';
import type { InMemoryBroker } from './broker.js';
import type { PollingConsumer } from '../ports.js';
import { bytes, isPending, pull, text, iterator } from './test-support/helpers.js';

let broker: InMemoryBroker;

beforeEach(() => {
  broker = createInMemoryBroker();
  broker.createTopic('raw');
  broker.createSubscription('raw-a', { topic: 'raw' });
});

afterEach(async () => {
  await broker.close();
});

async function publish(count: number): Promise<void> {
  const producer = broker.producer('raw');
  for (let i = 0; i < count; i++) await producer.publish({ data: bytes(String(i)) });
}

describe('in-memory consumer', () => {
  it('competing consumers on one subscription share the messages, each delivered once', async () => {
    const a = broker.consumer('raw-a', { maxPrefetchMessages: 1 });
    const b = broker.consumer('raw-a', { maxPrefetchMessages: 1 });
    // Both wait first, so both get work as messages arrive.
    const waitingA = pull(a, 5);
    const waitingB = pull(b, 5);
    await publish(10);
    const [fromA, fromB] = await Promise.all([waitingA, waitingB]);
    const all = [...fromA, ...fromB].map(text).sort((x, y) => Number(x) - Number(y));
    expect(all).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(fromA.length).toBe(5);
    expect(fromB.length).toBe(5);
  });

  it('poll() hands over messages without waiting, in order, and undefined when it has none', async () => {
    await publish(3);
    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 2 }) as PollingConsumer;
    const first = consumer.poll();
    const second = consumer.poll();
    const third = consumer.poll();
    expect([first, second, third].map((m) => (m === undefined ? undefined : text(m)))).toEqual([
      '0',
      '1',
      '2',
    ]);
    expect(consumer.poll()).toBeUndefined();
    expect(broker.subscriptionStats('raw-a').outstandingMessages).toBe(3);
    for (const message of [first, second, third]) message?.ack();
    expect(broker.subscriptionStats('raw-a').acked).toBe(3);
    await consumer.stop();
    await publish(1);
    expect(consumer.poll()).toBeUndefined();
  });

  it('poll() gives way to the iterator every 1024 messages, so the caller yields', async () => {
    broker.createSubscription('raw-big', { topic: 'raw', maxBacklogMessages: 2_000 });
    await publish(1_100);
    const consumer = broker.consumer('raw-big') as PollingConsumer;
    let polled = 0;
    while (consumer.poll() !== undefined) polled++;
    expect(polled).toBe(1_023);
    const next = await iterator(consumer).next();
    expect(next.done).toBe(false);
    expect(consumer.poll()).toBeDefined();
    await consumer.stop();
  });

  it('for await ends when the consumer stops', async () => {
    await publish(3);
    const consumer = broker.consumer('raw-a');
    const seen: string[] = [];
    for await (const message of consumer) {
      seen.push(text(message));
      message.ack();
      if (seen.length === 3) void consumer.stop();
    }
    expect(seen).toEqual(['0', '1', '2']);
    await consumer.done;
  });

  it('takes only a bounded prefetch ahead of the iterator', async () => {
    await publish(100);
    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 8 });
    await pull(consumer, 1);
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      outstandingMessages: 1,
      prefetchedMessages: 7,
      pendingMessages: 92,
    });
  });

  it('stop() returns prefetched messages to the front of the backlog: none lost', async () => {
    await publish(20);
    const first = broker.consumer('raw-a', { maxPrefetchMessages: 8 });
    const taken = await pull(first, 3);
    await first.stop();
    await expect(iterator(first).next()).resolves.toMatchObject({ done: true });
    expect(await isPending(first.done)).toBe(false);
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      prefetchedMessages: 0,
      outstandingMessages: 3,
      pendingMessages: 17,
    });
    for (const message of taken) message.ack();
    const second = broker.consumer('raw-a');
    const rest = await pull(second, 17);
    expect(rest.map(text)).toEqual(Array.from({ length: 17 }, (_, i) => String(i + 3)));
    // Prefetched but never yielded: not a delivery attempt.
    expect(rest.every((message) => message.deliveryAttempt === 1)).toBe(true);
  });

  it('breaking out of for await stops the consumer and returns its prefetch', async () => {
    await publish(10);
    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 4 });
    for await (const message of consumer) {
      message.ack();
      break;
    }
    await consumer.done;
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      backlogMessages: 9,
      prefetchedMessages: 0,
      pendingMessages: 9,
    });
  });

  it('stop() ends a pending next() with done', async () => {
    const consumer = broker.consumer('raw-a');
    const waiting = iterator(consumer).next();
    expect(await isPending(waiting)).toBe(true);
    await consumer.stop();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    await publish(1);
    expect(broker.subscriptionStats('raw-a')).toMatchObject({ pendingMessages: 1 });
  });

  it('a waiting consumer is woken by a later publish', async () => {
    const consumer = broker.consumer('raw-a');
    const next = iterator(consumer).next();
    expect(await isPending(next)).toBe(true);
    await publish(1);
    const result = await next;
    expect(result.done === false && text(result.value)).toBe('0');
  });

  it('does not starve macrotasks when messages are always available', async () => {
    await broker.close();
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogMessages: 5_000 });
    await publish(5_000);
    // A macrotask queued before the loop can only run if the loop yields to the event loop.
    let ranDuringLoop = false;
    let looping = true;
    setImmediate(() => {
      ranDuringLoop = looping;
    });
    let count = 0;
    for await (const message of broker.consumer('raw-a')) {
      message.ack();
      if (++count === 5_000) break;
    }
    looping = false;
    expect(ranDuringLoop).toBe(true);
  });

  describe('in-flight window', () => {
    it('yields no more than maxInFlightMessages unsettled; an ack, a nack or an expiry frees one', async () => {
      broker.createSubscription('raw-short', { topic: 'raw', ackDeadlineMs: 50 });
      await publish(6);
      const consumer = broker.consumer('raw-short', { maxInFlightMessages: 2 });
      expect(consumer.inFlightWindow).toEqual({ messages: 2, bytes: Infinity });
      const [first, second] = await pull(consumer, 2);
      expect(consumer.poll()).toBeUndefined();
      const third = iterator(consumer).next();
      expect(await isPending(third)).toBe(true);
      first?.ack();
      const thirdResult = await third;
      expect(thirdResult.done === false && text(thirdResult.value)).toBe('2');
      // Full again: a nack frees a place (the next prefetched message takes it; the nacked one
      // went back to the backlog).
      const fourth = iterator(consumer).next();
      expect(await isPending(fourth)).toBe(true);
      second?.nack();
      const fourthResult = await fourth;
      expect(fourthResult.done === false && text(fourthResult.value)).toBe('3');
      // Both places held and nothing settled: only the ack deadline's expiry (50 ms) frees them.
      const fifth = iterator(consumer).next();
      expect(await isPending(fifth)).toBe(true);
      expect(broker.subscriptionStats('raw-short').expired).toBe(0);
      await fifth;
      expect(broker.subscriptionStats('raw-short').expired).toBeGreaterThan(0);
      await consumer.stop();
    });

    it('bounds bytes too, but a message bigger than the window goes out alone', async () => {
      const producer = broker.producer('raw');
      await producer.publish({ data: new Uint8Array(60) });
      await producer.publish({ data: new Uint8Array(60) });
      await producer.publish({ data: new Uint8Array(500) });
      const consumer = broker.consumer('raw-a', { maxInFlightBytes: 100 });
      const [first] = await pull(consumer, 1);
      expect(consumer.poll()).toBeUndefined();
      first?.ack();
      const [second] = await pull(consumer, 1);
      second?.ack();
      const [big] = await pull(consumer, 1);
      expect(big?.data.byteLength).toBe(500);
      big?.ack();
      await consumer.stop();
    });

    it('is unbounded unless asked, and reports no window then', async () => {
      await publish(50);
      const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 10 });
      expect(consumer.inFlightWindow).toBeUndefined();
      expect(await pull(consumer, 50)).toHaveLength(50);
      await consumer.stop();
    });

    it('rejects a bad bound, naming it', () => {
      expect(() => broker.consumer('raw-a', { maxInFlightMessages: 0 })).toThrow(
        /maxInFlightMessages/,
      );
    });
  });
});
