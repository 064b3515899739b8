import type { Message as ClientMessage, Subscription } from '@google-cloud/pubsub';
import { afterAll } from 'vitest';
import { describeConsumerContract, describeProducerContract } from '../testing/index.js';
import { createPubSubConsumer, createPubSubProducer } from './index.js';
import { EmulatorFixture } from './test-support/emulator.js';

const fx = new EmulatorFixture();
afterAll(() => fx.cleanup());

/** Reads `count` messages from a subscription with a raw client subscriber, acking each. */
async function read(subscription: Subscription, count: number): Promise<string[]> {
  const subscriber = fx.pubsub.subscription(subscription.name);
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    subscriber.on('error', reject);
    subscriber.on('message', (message: ClientMessage) => {
      message.ack();
      out.push(message.data.toString());
      if (out.length === count) resolve();
    });
  });
  await subscriber.close();
  return out;
}

describeConsumerContract('Pub/Sub (emulator)', {
  async create() {
    const topic = await fx.topic('contract');
    const subscription = await fx.subscription(topic);
    return {
      consumer: createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: subscription.name }),
      async send(payloads) {
        await fx.publish(topic, payloads.length, (i) => ({ data: Buffer.from(payloads[i] ?? '') }));
      },
    };
  },
});

describeProducerContract('Pub/Sub (emulator)', {
  async create() {
    const topic = await fx.topic('contract');
    const subscription = await fx.subscription(topic);
    return {
      producer: createPubSubProducer({ pubsub: fx.pubsub, topicName: topic.name }),
      received: (count) => read(subscription, count),
    };
  },
  async createBounded(bound) {
    const topic = await fx.topic('contract');
    const subscription = await fx.subscription(topic);
    // A long batching window holds confirmations back until flush().
    const producer = createPubSubProducer({
      pubsub: fx.pubsub,
      topicName: topic.name,
      maxOutstandingMessages: bound,
      batching: { maxMessages: 1_000, maxMilliseconds: 60_000 },
    });
    return {
      producer,
      waiting: () => producer.stats().waitingMessages,
      release: () => producer.flush(),
      received: (count) => read(subscription, count),
    };
  },
});
