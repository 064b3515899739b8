import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createInMemoryBroker } from './broker.js';
import type { InMemoryBroker } from './broker.js';
import { deadLetterSourceAttributes } from './subscription.js';
import { bytes, isPending, pull, text, iterator } from './test-support/helpers.js';

let broker: InMemoryBroker;

beforeEach(() => {
  broker = createInMemoryBroker();
  broker.createTopic('raw');
});

afterEach(async () => {
  await broker.close();
  vi.useRealTimers();
});

describe('in-memory broker: acknowledgement and redelivery', () => {
  it('ack removes the message for good', async () => {
    vi.useFakeTimers();
    broker.createSubscription('raw-a', { topic: 'raw', ackDeadlineMs: 1_000 });
    await broker.producer('raw').publish({ data: bytes('x') });
    const consumer = broker.consumer('raw-a');
    const [message] = await pull(consumer, 1);
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      backlogMessages: 1,
      backlogBytes: 1,
      outstandingMessages: 1,
    });
    message?.ack();
    message?.nack(); // settle-once: ignored
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      backlogMessages: 0,
      backlogBytes: 0,
      outstandingMessages: 0,
      acked: 1,
      nacked: 0,
    });
    const next = iterator(consumer).next();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await isPending(next)).toBe(true);
    expect(broker.subscriptionStats('raw-a').expired).toBe(0);
  });

  it('nack redelivers the same message at once with deliveryAttempt + 1', async () => {
    broker.createSubscription('raw-a', { topic: 'raw' });
    const producer = broker.producer('raw');
    const id = await producer.publish({ data: bytes('first') });
    await producer.publish({ data: bytes('second') });
    const consumer = broker.consumer('raw-a', { maxPrefetchMessages: 1 });
    const [first] = await pull(consumer, 1);
    expect(first?.deliveryAttempt).toBe(1);
    first?.nack();
    first?.ack(); // settle-once: ignored
    await expect(first?.settled).resolves.toBe('nacked');
    expect(first?.outcome).toBe('nacked');
    const [again, second] = await pull(consumer, 2);
    expect(again?.id).toBe(id);
    expect(text(again!)).toBe('first');
    expect(again?.deliveryAttempt).toBe(2);
    expect(second?.deliveryAttempt).toBe(1);
    again?.nack();
    const [third] = await pull(consumer, 1);
    expect(third?.deliveryAttempt).toBe(3);
    expect(broker.subscriptionStats('raw-a').nacked).toBe(2);
  });

  it('redelivers a message neither acked nor nacked after its ack deadline, not before', async () => {
    vi.useFakeTimers();
    broker.createSubscription('raw-a', {
      topic: 'raw',
      ackDeadlineMs: 10_000,
      deadlineSweepIntervalMs: 1_000,
    });
    await broker.producer('raw').publish({ data: bytes('x') });
    const consumer = broker.consumer('raw-a');
    const [first] = await pull(consumer, 1);
    const redelivery = iterator(consumer).next();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(await isPending(redelivery)).toBe(true);
    await vi.advanceTimersByTimeAsync(2_001);
    const result = await redelivery;
    expect(result.done).toBe(false);
    const second = result.value as NonNullable<typeof first>;
    expect(second.id).toBe(first?.id);
    expect(second.deliveryAttempt).toBe(2);
    expect(broker.subscriptionStats('raw-a')).toMatchObject({ expired: 1, outstandingMessages: 1 });
    // The expired handle is stale: acking it does not ack the new delivery.
    first?.ack();
    expect(broker.subscriptionStats('raw-a')).toMatchObject({ acked: 0, backlogMessages: 1 });
    second.ack();
    expect(broker.subscriptionStats('raw-a')).toMatchObject({ acked: 1, backlogMessages: 0 });
    // Nothing outstanding: the sweep timer disarms itself.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('dead-letters after maxDeliveryAttempts with data, attributes and the delivery count', async () => {
    broker.createTopic('raw-dlq');
    broker.createSubscription('raw-dlq-sub', { topic: 'raw-dlq' });
    broker.createSubscription('raw-a', {
      topic: 'raw',
      deadLetterTopic: 'raw-dlq',
      maxDeliveryAttempts: 3,
    });
    const id = await broker
      .producer('raw')
      .publish({ data: bytes('poison'), attributes: { deviceId: 'd1' }, orderingKey: 'd1' });
    const consumer = broker.consumer('raw-a');
    const attempts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [message] = await pull(consumer, 1);
      attempts.push(message!.deliveryAttempt);
      message?.nack();
    }
    expect(attempts).toEqual([1, 2, 3]);
    const [dead] = await pull(broker.consumer('raw-dlq-sub'), 1);
    expect(text(dead!)).toBe('poison');
    expect(dead?.id).not.toBe(id);
    expect(dead?.orderingKey).toBe('d1');
    expect(dead?.attributes).toMatchObject({
      deviceId: 'd1',
      [deadLetterSourceAttributes.deliveryCount]: '3',
      [deadLetterSourceAttributes.subscription]: 'raw-a',
    });
    expect(
      Number.isNaN(Date.parse(dead!.attributes[deadLetterSourceAttributes.topicPublishTime] ?? '')),
    ).toBe(false);
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      backlogMessages: 0,
      deadLettered: 1,
      nacked: 3,
    });
    const next = iterator(consumer).next();
    expect(await isPending(next)).toBe(true);
  });

  it('counts expired deliveries towards dead-lettering', async () => {
    vi.useFakeTimers();
    broker.createTopic('raw-dlq');
    broker.createSubscription('raw-dlq-sub', { topic: 'raw-dlq' });
    broker.createSubscription('raw-a', {
      topic: 'raw',
      ackDeadlineMs: 100,
      deadLetterTopic: 'raw-dlq',
      maxDeliveryAttempts: 2,
    });
    await broker.producer('raw').publish({ data: bytes('slow') });
    const consumer = broker.consumer('raw-a');
    await pull(consumer, 1);
    await vi.advanceTimersByTimeAsync(200);
    const [second] = await pull(consumer, 1);
    expect(second?.deliveryAttempt).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    const [dead] = await pull(broker.consumer('raw-dlq-sub'), 1);
    expect(dead?.attributes[deadLetterSourceAttributes.deliveryCount]).toBe('2');
    expect(broker.subscriptionStats('raw-a')).toMatchObject({ expired: 2, backlogMessages: 0 });
  });

  it('keeps a dead letter in the source backlog until the dead-letter topic has room', async () => {
    broker.createTopic('raw-dlq');
    broker.createSubscription('raw-dlq-sub', { topic: 'raw-dlq', maxBacklogMessages: 1 });
    broker.createSubscription('raw-a', {
      topic: 'raw',
      deadLetterTopic: 'raw-dlq',
      maxDeliveryAttempts: 1,
    });
    await broker.producer('raw-dlq').publish({ data: bytes('occupant') });
    await broker.producer('raw').publish({ data: bytes('poison') });
    const [message] = await pull(broker.consumer('raw-a'), 1);
    message?.nack();
    expect(broker.subscriptionStats('raw-a')).toMatchObject({
      backlogMessages: 1,
      forwardingMessages: 1,
    });
    const dlq = broker.consumer('raw-dlq-sub');
    const [occupant] = await pull(dlq, 1);
    occupant?.ack();
    const [dead] = await pull(dlq, 1);
    expect(text(dead!)).toBe('poison');
    expect(broker.subscriptionStats('raw-a')).toMatchObject({ backlogMessages: 0 });
  });
});
