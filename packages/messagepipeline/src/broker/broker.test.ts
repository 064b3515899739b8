import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError } from '../errors.js';
import { createInMemoryBroker } from './broker.js';
import type { InMemoryBroker } from './broker.js';
import { bytes, isPending, pull, text } from './test-support/helpers.js';

let broker: InMemoryBroker;

afterEach(async () => {
  await broker.close();
  vi.useRealTimers();
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isTributaryError(error) ? error.code : 'not a TributaryError';
  }
  return undefined;
}

describe('in-memory broker: topics and subscriptions', () => {
  it('rejects duplicates with ALREADY_EXISTS and unknown names with NOT_FOUND', () => {
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createTopic('dlq');
    broker.createSubscription('raw-a', { topic: 'raw' });
    expect(
      code(() => {
        broker.createTopic('raw');
      }),
    ).toBe('ALREADY_EXISTS');
    expect(
      code(() => {
        broker.createSubscription('raw-a', { topic: 'raw' });
      }),
    ).toBe('ALREADY_EXISTS');
    expect(
      code(() => {
        broker.createSubscription('x-a', { topic: 'nope' });
      }),
    ).toBe('NOT_FOUND');
    expect(
      code(() => {
        broker.createSubscription('raw-b', { topic: 'raw', deadLetterTopic: 'nope' });
      }),
    ).toBe('NOT_FOUND');
    expect(code(() => broker.producer('nope'))).toBe('NOT_FOUND');
    expect(code(() => broker.consumer('nope'))).toBe('NOT_FOUND');
    expect(code(() => broker.subscriptionStats('nope'))).toBe('NOT_FOUND');
    expect(broker.hasTopic('raw')).toBe(true);
    expect(broker.hasSubscription('raw-b')).toBe(false);
  });

  it('validates options with INVALID_ARGUMENT naming the option', () => {
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    expect(() => {
      broker.createSubscription('s1', { topic: 'raw', maxBacklogMessages: 0 });
    }).toThrow(/maxBacklogMessages/);
    expect(
      code(() => {
        broker.createSubscription('s2', { topic: 'raw', ackDeadlineMs: 1.5 });
      }),
    ).toBe('INVALID_ARGUMENT');
    expect(code(() => broker.consumer('s2'))).toBe('NOT_FOUND');
    expect(() =>
      createInMemoryBroker({ subscriptionDefaults: { maxDeliveryAttempts: 101 } }),
    ).toThrow(/maxDeliveryAttempts/);
    expect(
      code(() => {
        broker.createTopic('');
      }),
    ).toBe('INVALID_ARGUMENT');
  });

  it('fans every message out to each subscription that existed when it was published', async () => {
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createSubscription('raw-a', { topic: 'raw' });
    broker.createSubscription('raw-b', { topic: 'raw' });
    const producer = broker.producer('raw');
    const id1 = await producer.publish({ data: bytes('one'), attributes: { k: 'v' } });
    broker.createSubscription('raw-late', { topic: 'raw' });
    const id2 = await producer.publish({ data: bytes('two'), orderingKey: 'd1' });
    expect(id1).not.toBe(id2);

    for (const name of ['raw-a', 'raw-b']) {
      const messages = await pull(broker.consumer(name), 2);
      expect(messages.map(text)).toEqual(['one', 'two']);
      expect(messages.map((m) => m.id)).toEqual([id1, id2]);
      expect(messages[0]?.attributes).toEqual({ k: 'v' });
      expect(messages[1]?.orderingKey).toBe('d1');
      expect(messages[0]?.deliveryAttempt).toBe(1);
      expect(messages[0]?.publishTime).toBeInstanceOf(Date);
      for (const message of messages) message.ack();
    }
    const late = await pull(broker.consumer('raw-late'), 1);
    expect(late.map(text)).toEqual(['two']);
    expect(broker.stats().topics['raw']).toEqual({
      subscriptions: ['raw-a', 'raw-b', 'raw-late'],
      published: 2,
      blockedPublishes: 0,
    });
  });

  it('snapshots attributes at publish time', async () => {
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createSubscription('raw-a', { topic: 'raw' });
    const attributes: Record<string, string> = { k: 'before' };
    await broker.producer('raw').publish({ data: bytes('x'), attributes });
    attributes['k'] = 'after';
    const [message] = await pull(broker.consumer('raw-a'), 1);
    expect(message?.attributes).toEqual({ k: 'before' });
  });

  it('publishing to a topic without subscriptions succeeds and keeps nothing', async () => {
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    await expect(broker.producer('raw').publish({ data: bytes('x') })).resolves.toMatch(/-1$/);
  });

  it('close() ends consumers, rejects blocked publishes with CLOSED and clears every timer', async () => {
    vi.useFakeTimers();
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createSubscription('raw-a', { topic: 'raw', maxBacklogMessages: 1 });
    const producer = broker.producer('raw');
    await producer.publish({ data: bytes('1') });
    const blocked = producer.publish({ data: bytes('2') });
    const consumer = broker.consumer('raw-a');
    const iterator = consumer[Symbol.asyncIterator]();
    await iterator.next(); // outstanding: the deadline timer is armed
    const waiting = iterator.next();
    expect(vi.getTimerCount()).toBe(1);
    await broker.close();
    await expect(blocked).rejects.toMatchObject({ code: 'CLOSED', retriable: true });
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    await expect(consumer.done).resolves.toBeUndefined();
    await expect(producer.publish({ data: bytes('3') })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(vi.getTimerCount()).toBe(0);
    expect(
      code(() => {
        broker.createTopic('other');
      }),
    ).toBe('CLOSED');
  });

  it('a stopped producer refuses publishes and its done settles', async () => {
    broker = createInMemoryBroker();
    broker.createTopic('raw');
    const producer = broker.producer('raw');
    await producer.start();
    await producer.stop();
    await producer.done;
    await expect(producer.publish({ data: bytes('x') })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await isPending(producer.flush())).toBe(false);
  });
});
