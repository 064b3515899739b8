// StreamingService over the Pub/Sub adapters: the failure contract end to end on the emulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeadLetterPublisher, deadLetterAttributes } from '../dead-letter.js';
import { TributaryError } from '../errors.js';
import type { Message } from '../message.js';
import { createStreamingService } from '../services/streaming-service.js';
import { emit } from '../transformer.js';
import { createPubSubConsumer } from './consumer.js';
import { createPubSubProducer } from './producer.js';
import { EmulatorFixture, sleep, waitFor } from './test-support/emulator.js';

let fx: EmulatorFixture;
beforeEach(() => {
  fx = new EmulatorFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const decoder = new TextDecoder();

describe('StreamingService over Pub/Sub (emulator)', () => {
  it('dead-letters a permanent failure with error attributes and acks the original', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const dlq = await fx.topic('dlq');
    const dlqSubscription = await fx.subscription(dlq);
    const producer = createPubSubProducer({ topic: dlq });
    await producer.start();
    const consumer = createPubSubConsumer({ subscription });
    const service = createStreamingService<unknown>({
      stage: 'enrichment',
      consumer,
      transformer: (message) => {
        try {
          return Promise.resolve(emit(JSON.parse(decoder.decode(message.data)) as unknown));
        } catch (error) {
          throw TributaryError.permanent('INVALID_PAYLOAD', 'payload is not JSON', error);
        }
      },
      processor: () => Promise.resolve(),
      deadLetter: createDeadLetterPublisher(producer, { sourceSubscription: subscription.name }),
    });
    await service.start();
    await fx.publish(topic, 1, () => ({
      data: Buffer.from('not json'),
      attributes: { deviceId: 'd7' },
    }));

    const dead: { data: string; attributes: Record<string, string> }[] = [];
    const dlqReader = fx.pubsub.subscription(dlqSubscription.name);
    dlqReader.on(
      'message',
      (m: { data: Buffer; attributes: Record<string, string>; ack(): void }) => {
        dead.push({ data: m.data.toString(), attributes: m.attributes });
        m.ack();
      },
    );
    await waitFor(() => dead.length === 1, 'the dead letter');
    await service.stop();
    await producer.stop();
    await dlqReader.close();
    expect(dead[0]?.data).toBe('not json');
    expect(dead[0]?.attributes).toMatchObject({
      deviceId: 'd7',
      [deadLetterAttributes.code]: 'INVALID_PAYLOAD',
      [deadLetterAttributes.stage]: 'enrichment',
      [deadLetterAttributes.subscription]: subscription.name,
    });
    expect(dead[0]?.attributes[deadLetterAttributes.message]).toContain('not JSON');

    // The original was acked, once the dead letter was durable, and never nacked.
    expect(consumer.stats()).toMatchObject({ received: 1, acked: 1, nacked: 0 });
  });

  it('retries a transient failure, nacks it, and gets it back with a growing deliveryAttempt', async () => {
    const topic = await fx.topic();
    const dlq = await fx.topic('dlq');
    const subscription = await fx.subscription(topic, {
      deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 5 },
    });
    const calls: number[] = [];
    const service = createStreamingService<string>({
      stage: 'sink',
      consumer: createPubSubConsumer({ subscription }),
      transformer: (message: Message) => Promise.resolve(emit(decoder.decode(message.data))),
      retry: { maxAttempts: 2, initialBackoffMs: 10 },
      processor: (item) => {
        calls.push(item.message.deliveryAttempt);
        if (item.message.deliveryAttempt < 3) {
          return Promise.reject(TributaryError.transient('UNAVAILABLE', 'sink unavailable'));
        }
        return Promise.resolve();
      },
    });
    await service.start();
    await fx.publish(topic, 1);
    await waitFor(() => calls.includes(3), 'the third delivery', 15_000);
    await sleep(300);
    await service.stop();
    // Two in-process attempts per delivery, then a nack; the third delivery succeeds.
    expect(calls).toEqual([1, 1, 2, 2, 3]);
  });

  it("dead-letters a message with 101 attributes (over Pub/Sub's limit) and the next ones flow", async () => {
    const source = await fx.topic('src');
    const subscription = await fx.subscription(source);
    const out = await fx.topic('out');
    const outSubscription = await fx.subscription(out);
    const dlq = await fx.topic('dlq');
    const dlqSubscription = await fx.subscription(dlq);
    const outProducer = createPubSubProducer({ topic: out });
    const dlqProducer = createPubSubProducer({ topic: dlq });
    await outProducer.start();
    await dlqProducer.start();
    const extra = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`tag${i}`, 'v']));
    const service = createStreamingService<Message>({
      stage: 'tagger',
      consumer: createPubSubConsumer({ subscription }),
      transformer: (message) => emit(message),
      // The first message gains 101 attributes: the producer refuses it before sending.
      processor: async ({ message }) => {
        const many = decoder.decode(message.data) === 'many';
        await outProducer.publish({
          data: message.data,
          attributes: many ? { ...message.attributes, ...extra } : message.attributes,
        });
      },
      deadLetter: createDeadLetterPublisher(dlqProducer),
    });
    await service.start();
    await fx.publish(source, 3, (i) => ({ data: Buffer.from(['many', 'ok-1', 'ok-2'][i] ?? '') }));
    const seen = {
      out: [] as string[],
      dead: [] as { data: string; attributes: Record<string, string> }[],
    };
    type Received = { data: Buffer; attributes: Record<string, string>; ack(): void };
    const outReader = fx.pubsub.subscription(outSubscription.name);
    const dlqReader = fx.pubsub.subscription(dlqSubscription.name);
    outReader.on('message', (m: Received) => {
      seen.out.push(m.data.toString());
      m.ack();
    });
    dlqReader.on('message', (m: Received) => {
      seen.dead.push({ data: m.data.toString(), attributes: m.attributes });
      m.ack();
    });
    await waitFor(
      () => seen.dead.length === 1 && seen.out.length === 2,
      'the dead letter and the rest',
    );
    await Promise.all([service.stop(), outReader.close(), dlqReader.close()]);
    await outProducer.stop();
    await dlqProducer.stop();
    expect(seen.out.sort()).toEqual(['ok-1', 'ok-2']);
    const [letter] = seen.dead;
    expect(letter?.attributes).toMatchObject({
      [deadLetterAttributes.code]: 'INVALID_ATTRIBUTES',
      [deadLetterAttributes.stage]: 'tagger',
    });
    expect(letter?.attributes[deadLetterAttributes.message]).toContain('101 attributes');
  });
});
