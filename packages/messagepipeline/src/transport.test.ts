import { describe, expect, it } from 'vitest';
import { createBrokerTransport, createInMemoryBroker } from './broker/index.js';
import { defineTransport, type TransportConsumer, type TransportProducer } from './transport.js';

describe('the broker transport', () => {
  it('carries a message from its producer to its consumer, and lists both', async () => {
    const broker = createInMemoryBroker();
    broker.createTopic('t');
    broker.createSubscription('s', { topic: 't' });
    const transport = createBrokerTransport(broker);
    const producer = transport.producer({ topic: 't' });
    const consumer = transport.consumer({ subscription: 's', maxInFlightMessages: 5 });
    await transport.start();
    await producer.start();
    await consumer.start();
    await producer.publish({ data: new TextEncoder().encode('hi'), attributes: { a: '1' } });
    const iterator = consumer[Symbol.asyncIterator]();
    const next = await iterator.next();
    if (next.done === true) throw new Error('the consumer ended');
    const message = next.value;
    expect(new TextDecoder().decode(message.data)).toBe('hi');
    expect(message.attributes).toMatchObject({ a: '1' });
    message.ack();
    expect(transport.producers.map((p) => p.name)).toEqual(['t']);
    expect(transport.consumers.map((c) => c.name)).toEqual(['s']);
    expect(transport.statsSources()).toEqual([]);
    await consumer.stop();
    await producer.stop();
    await transport.stop();
    // The broker is its owner's to close: still open after the transport stopped.
    expect(broker.hasTopic('t')).toBe(true);
    await broker.close();
  });

  it('throws NOT_FOUND for a topic the broker does not have', () => {
    const transport = createBrokerTransport(createInMemoryBroker());
    expect(() => transport.producer({ topic: 'missing' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });
});

describe('defineTransport', () => {
  it('closes what it owns once, on stop, even when never started', async () => {
    let closed = 0;
    const transport = defineTransport({
      kind: 'test',
      producer: () => ({}) as TransportProducer,
      consumer: () => ({}) as TransportConsumer,
      close: () => {
        closed++;
      },
    });
    await transport.stop();
    await transport.stop();
    expect(closed).toBe(1);
  });

  it('gives the stats of every producer and consumer it made, by their adapter', () => {
    const transport = defineTransport({
      kind: 'test',
      producer: ({ topic }) => ({ name: topic }) as TransportProducer,
      consumer: ({ subscription }) => ({ name: subscription }) as TransportConsumer,
      producerStats: (p) => ({
        prefix: 'p',
        stats: () => ({}),
        description: {},
        labels: { topic: p.name },
      }),
      consumerStats: (c) => ({
        prefix: 'c',
        stats: () => ({}),
        description: {},
        labels: { sub: c.name },
      }),
    });
    transport.producer({ topic: 'a' });
    transport.producer({ topic: 'a' });
    transport.consumer({ subscription: 's' });
    expect(transport.statsSources().map((s) => [s.prefix, s.labels])).toEqual([
      ['p', { topic: 'a' }],
      ['p', { topic: 'a' }],
      ['c', { sub: 's' }],
    ]);
  });
});
