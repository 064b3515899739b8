import { afterEach } from 'vitest';
import { describeConsumerContract, describeProducerContract } from '../testing/index.js';
import { createInMemoryBroker, type InMemoryBroker } from './index.js';
import { pull, text } from './test-support/helpers.js';

const encoder = new TextEncoder();
const brokers: InMemoryBroker[] = [];

function newBroker(): InMemoryBroker {
  const broker = createInMemoryBroker({ subscriptionDefaults: { ackDeadlineMs: 60_000 } });
  brokers.push(broker);
  return broker;
}

afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.close();
});

describeConsumerContract('in-memory broker', {
  create() {
    const broker = newBroker();
    broker.createTopic('t');
    broker.createSubscription('s', { topic: 't' });
    const producer = broker.producer('t');
    return Promise.resolve({
      consumer: broker.consumer('s'),
      async send(payloads) {
        for (const payload of payloads) await producer.publish({ data: encoder.encode(payload) });
      },
    });
  },
  redeliveryTimeoutMs: 1_000,
});

describeProducerContract('in-memory broker', {
  create() {
    const broker = newBroker();
    broker.createTopic('t');
    broker.createSubscription('s', { topic: 't' });
    const reader = broker.consumer('s');
    return Promise.resolve({
      producer: broker.producer('t'),
      received: async (count) => (await pull(reader, count)).map(text),
    });
  },
  createBounded(bound) {
    const broker = newBroker();
    broker.createTopic('t');
    // A full backlog holds publishes back until the reader acknowledges.
    broker.createSubscription('s', { topic: 't', maxBacklogMessages: bound, overflow: 'block' });
    const reader = broker.consumer('s');
    const producer = broker.producer('t');
    const seen: string[] = [];
    return Promise.resolve({
      producer,
      waiting: () => broker.stats().topics['t']?.blockedPublishes ?? 0,
      async release() {
        const messages = await pull(reader, bound);
        for (const message of messages) {
          seen.push(text(message));
          message.ack();
        }
      },
      async received(count) {
        while (seen.length < count) {
          const [message] = await pull(reader, 1);
          if (message === undefined) break;
          seen.push(text(message));
          message.ack();
        }
        return seen.slice(0, count);
      },
    });
  },
});
