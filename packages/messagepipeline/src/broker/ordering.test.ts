import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker } from './broker.js';
import type { InMemoryBroker } from './broker.js';
import { bytes, isPending, pull, text } from './test-support/helpers.js';

let broker: InMemoryBroker;

beforeEach(async () => {
  broker = createInMemoryBroker();
  broker.createTopic('raw');
  broker.createSubscription('raw-ordered', { topic: 'raw', enableMessageOrdering: true });
  broker.createSubscription('raw-unordered', { topic: 'raw' });
  const producer = broker.producer('raw');
  for (const [data, orderingKey] of [
    ['a1', 'a'],
    ['a2', 'a'],
    ['b1', 'b'],
    ['a3', 'a'],
    ['n1', undefined],
    ['b2', 'b'],
  ] as const) {
    await producer.publish({ data: bytes(data), orderingKey });
  }
});

afterEach(async () => {
  await broker.close();
});

describe('in-memory broker: ordering keys', () => {
  it('delivers one message per key at a time, in publish order', async () => {
    const consumer = broker.consumer('raw-ordered');
    const first = await pull(consumer, 3);
    expect(first.map(text)).toEqual(['a1', 'b1', 'n1']);
    const next = pull(consumer, 1);
    expect(await isPending(next)).toBe(true);
    first[0]?.ack(); // a1 done: a2 may go
    expect((await next).map(text)).toEqual(['a2']);
    first[1]?.ack(); // b1 done: b2 may go
    expect((await pull(consumer, 1)).map(text)).toEqual(['b2']);
  });

  it('redelivers a nacked message before the rest of its key', async () => {
    const consumer = broker.consumer('raw-ordered', { maxPrefetchMessages: 1 });
    const [a1] = await pull(consumer, 1);
    a1?.nack();
    const [again] = await pull(consumer, 1);
    expect(text(again!)).toBe('a1');
    expect(again?.deliveryAttempt).toBe(2);
    again?.ack();
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [message] = await pull(consumer, 1);
      order.push(text(message!));
      message?.ack();
    }
    expect(order.filter((data) => data.startsWith('a'))).toEqual(['a2', 'a3']);
    expect(order.filter((data) => data.startsWith('b'))).toEqual(['b1', 'b2']);
  });

  it('keeps order per key across competing consumers', async () => {
    const c1 = broker.consumer('raw-ordered', { maxPrefetchMessages: 1 });
    const c2 = broker.consumer('raw-ordered', { maxPrefetchMessages: 1 });
    const seen: string[] = [];
    const run = async (consumer: typeof c1): Promise<void> => {
      for await (const message of consumer) {
        seen.push(text(message));
        await Promise.resolve();
        message.ack();
        if (seen.length === 6) {
          await Promise.all([c1.stop(), c2.stop()]);
        }
      }
    };
    await Promise.all([run(c1), run(c2)]);
    expect(seen.filter((data) => data.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(seen.filter((data) => data.startsWith('b'))).toEqual(['b1', 'b2']);
  });

  it('without enableMessageOrdering, keys are carried but not enforced', async () => {
    const messages = await pull(broker.consumer('raw-unordered'), 6);
    expect(messages.map(text)).toEqual(['a1', 'a2', 'b1', 'a3', 'n1', 'b2']);
    expect(messages[0]?.orderingKey).toBe('a');
  });
});
