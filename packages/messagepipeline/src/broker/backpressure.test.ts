import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker } from './broker.js';
import type { InMemoryBroker } from './broker.js';
import { bytes, isPending, pull, text } from './test-support/helpers.js';

let broker: InMemoryBroker;

beforeEach(() => {
  broker = createInMemoryBroker();
  broker.createTopic('raw');
});

afterEach(async () => {
  await broker.close();
});

describe('in-memory broker: bounded backlog', () => {
  it('blocks publish while the backlog is full and admits it once a consumer acks', async () => {
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogMessages: 2 });
    const producer = broker.producer('raw');
    await producer.publish({ data: bytes('1') });
    await producer.publish({ data: bytes('2') });
    const third = producer.publish({ data: bytes('3') });
    const fourth = producer.publish({ data: bytes('4') });
    expect(await isPending(third)).toBe(true);
    expect(await isPending(fourth)).toBe(true);
    expect(await isPending(producer.flush())).toBe(true);
    expect(broker.stats().topics['raw']?.blockedPublishes).toBe(2);
    expect(broker.subscriptionStats('raw-a').backlogMessages).toBe(2);

    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 1 });
    const [one] = await pull(consumer, 1);
    // Delivered but not acked: still held, still counted, publish still waits.
    expect(await isPending(third)).toBe(true);
    one?.ack();
    await expect(third).resolves.toEqual(expect.any(String));
    expect(await isPending(fourth)).toBe(true);
    const [two] = await pull(consumer, 1);
    two?.ack();
    await expect(fourth).resolves.toEqual(expect.any(String));
    await producer.flush();
    const rest = await pull(consumer, 2);
    expect(rest.map(text)).toEqual(['3', '4']);
    expect(broker.subscriptionStats('raw-a').backlogMessages).toBe(2);
  });

  it('bounds by bytes too, and admits an oversized message into an empty backlog', async () => {
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogBytes: 10 });
    const producer = broker.producer('raw');
    await producer.publish({ data: bytes('123456') });
    const blocked = producer.publish({ data: bytes('12345') });
    expect(await isPending(blocked)).toBe(true);
    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 1 });
    (await pull(consumer, 1))[0]?.ack();
    await blocked;
    (await pull(consumer, 1))[0]?.ack();
    await expect(producer.publish({ data: bytes('x'.repeat(50)) })).resolves.toEqual(
      expect.any(String),
    );
    expect(broker.subscriptionStats('raw-a').backlogBytes).toBe(50);
  });

  it('a publish waits for the fullest of several subscriptions and keeps publish order', async () => {
    broker.createSubscription('raw-fast', { topic: 'raw', maxBacklogMessages: 10 });
    broker.createSubscription('raw-slow', { topic: 'raw', maxBacklogMessages: 1 });
    const producer = broker.producer('raw');
    const published = ['a', 'b', 'c'].map((data) => producer.publish({ data: bytes(data) }));
    expect(await isPending(published[1]!)).toBe(true);
    const fast = broker.consumer('raw-fast');
    const slow = broker.consumer('raw-slow', { maxPrefetchMessages: 1 });
    for (let i = 0; i < 3; i++) (await pull(slow, 1))[0]?.ack();
    await Promise.all(published);
    expect((await pull(fast, 3)).map(text)).toEqual(['a', 'b', 'c']);
  });

  it("overflow 'reject' fails at once with a retriable RATE_LIMITED error", async () => {
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogMessages: 1, overflow: 'reject' });
    const producer = broker.producer('raw');
    await producer.publish({ data: bytes('1') });
    await expect(producer.publish({ data: bytes('2') })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retriable: true,
    });
  });

  it('an aborted signal rejects a blocked publish, which is then never published', async () => {
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogMessages: 1 });
    const producer = broker.producer('raw');
    await producer.publish({ data: bytes('1') });
    const controller = new AbortController();
    const blocked = producer.publish({ data: bytes('2') }, { signal: controller.signal });
    const after = producer.publish({ data: bytes('3') });
    controller.abort();
    await expect(blocked).rejects.toMatchObject({ code: 'TIMEOUT', retriable: true });
    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 1 });
    (await pull(consumer, 1))[0]?.ack();
    await after;
    expect((await pull(consumer, 1)).map(text)).toEqual(['3']);
  });

  it('producer.stop() rejects blocked publishes at once with CLOSED', async () => {
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogMessages: 1 });
    const producer = broker.producer('raw');
    await producer.publish({ data: bytes('1') });
    const blocked = producer.publish({ data: bytes('2') });
    const stopped = producer.stop();
    await expect(blocked).rejects.toMatchObject({ code: 'CLOSED', retriable: true });
    await stopped;
    expect(broker.subscriptionStats('raw-a').backlogMessages).toBe(1);
  });
});
