import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTributaryError, TributaryError } from '../errors.js';
import type { Message } from '../message.js';
import { createPubSubConsumer } from './consumer.js';
import type { PubSubConsumer } from './consumer.js';
import { createPubSubProducer } from './producer.js';
import { uniqueName } from '@tributary/local-gcp';
import { EmulatorFixture, sleep, waitFor } from './test-support/emulator.js';

let fx: EmulatorFixture;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  fx = new EmulatorFixture();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await fx.cleanup();
});

function track(consumer: PubSubConsumer): PubSubConsumer {
  cleanups.push(() => consumer.stop({ timeoutMs: 2_000 }));
  return consumer;
}

/** Iterates `consumer` in the background, handing each message to `handle` without awaiting it. */
function pump(consumer: PubSubConsumer, handle: (message: Message) => void): Promise<void> {
  return (async () => {
    for await (const message of consumer) handle(message);
  })();
}

describe('PubSub consumer against the emulator', () => {
  it('round-trips data, attributes and ordering keys, in order per key', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic, { enableMessageOrdering: true });
    const producer = createPubSubProducer({
      pubsub: fx.pubsub,
      topicName: topic.name,
      messageOrdering: true,
    });
    await producer.start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      for (const key of ['dev-a', 'dev-b']) {
        ids.push(
          await producer.publish({
            data: new TextEncoder().encode(JSON.stringify({ key, seq: i })),
            attributes: { deviceId: key, seq: String(i) },
            orderingKey: key,
          }),
        );
      }
    }
    await producer.stop();

    const consumer = track(
      createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: subscription.name }),
    );
    await consumer.start();
    const received: Message[] = [];
    const loop = pump(consumer, (message) => {
      received.push(message);
      message.ack();
    });
    await waitFor(() => received.length === 10, '10 messages');
    await consumer.stop();
    await loop;

    expect(new Set(received.map((m) => m.id))).toEqual(new Set(ids));
    for (const key of ['dev-a', 'dev-b']) {
      const ofKey = received.filter((m) => m.orderingKey === key);
      expect(ofKey.map((m) => m.attributes['seq'])).toEqual(['0', '1', '2', '3', '4']);
      for (const m of ofKey) {
        expect(m.attributes['deviceId']).toBe(key);
        expect(JSON.parse(new TextDecoder().decode(m.data))).toMatchObject({ key });
        expect(m.deliveryAttempt).toBe(1);
        expect(m.publishTime).toBeInstanceOf(Date);
        expect(Date.now() - m.publishTime.getTime()).toBeLessThan(60_000);
      }
    }
    expect(consumer.stats()).toMatchObject({ received: 10, acked: 10, nacked: 0 });
  });

  it('redelivers a nacked message with a growing deliveryAttempt (dead-letter policy)', async () => {
    const topic = await fx.topic();
    const dlq = await fx.topic('dlq');
    const subscription = await fx.subscription(topic, {
      deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 5 },
    });
    await fx.publish(topic, 1);
    const consumer = track(
      createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: subscription.name }),
    );
    await consumer.start();
    const attempts: number[] = [];
    const loop = pump(consumer, (message) => {
      attempts.push(message.deliveryAttempt);
      if (message.deliveryAttempt < 3) message.nack();
      else message.ack();
    });
    await waitFor(() => attempts.length === 3, 'three deliveries');
    await sleep(300);
    await consumer.stop();
    await loop;
    expect(attempts).toEqual([1, 2, 3]);
    expect(consumer.stats()).toMatchObject({ acked: 1, nacked: 2 });
  });

  it('never has more than maxInFlightMessages in flight with a slow processor', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    await fx.publish(topic, 60);
    const consumer = track(
      createPubSubConsumer({
        pubsub: fx.pubsub,
        subscriptionName: subscription.name,
        maxInFlightMessages: 5,
      }),
    );
    await consumer.start();
    let held = 0;
    let maxHeld = 0;
    let acked = 0;
    const loop = pump(consumer, (message) => {
      held += 1;
      maxHeld = Math.max(maxHeld, held);
      setTimeout(() => {
        held -= 1;
        acked += 1;
        message.ack();
      }, 40);
    });
    await waitFor(() => acked === 60, '60 acks', 20_000);
    await consumer.stop();
    await loop;
    expect(maxHeld).toBe(5);
    expect(consumer.stats().peakInFlightMessages).toBe(5);
    expect(consumer.stats().overflowNacked).toBe(0);
  });

  it('holds in-flight bytes at maxInFlightBytes', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const payload = Buffer.alloc(1000, 120);
    await fx.publish(topic, 30, () => ({ data: payload }));
    const consumer = track(
      createPubSubConsumer({
        pubsub: fx.pubsub,
        subscriptionName: subscription.name,
        maxInFlightBytes: 3_500, // three 1000-byte messages fit, a fourth does not
      }),
    );
    await consumer.start();
    let held = 0;
    let maxHeld = 0;
    let acked = 0;
    const loop = pump(consumer, (message) => {
      held += 1;
      maxHeld = Math.max(maxHeld, held);
      setTimeout(() => {
        held -= 1;
        acked += 1;
        message.ack();
      }, 30);
    });
    await waitFor(() => acked === 30, '30 acks', 20_000);
    await consumer.stop();
    await loop;
    expect(maxHeld).toBe(3);
    expect(consumer.stats().bufferedBytes).toBe(0);
  });

  it('stop() nacks buffered messages, lets in-flight ones be acked, then closes', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const ids = await fx.publish(topic, 30);
    const first = createPubSubConsumer({
      pubsub: fx.pubsub,
      subscriptionName: subscription.name,
      maxInFlightMessages: 10,
    });
    await first.start();
    const iterator = first[Symbol.asyncIterator]();
    const a = await iterator.next();
    const b = await iterator.next();
    await waitFor(() => first.stats().bufferedMessages > 0, 'buffered messages');
    const held = [a.value as Message, b.value as Message];

    const started = Date.now();
    const stopping = first.stop({ timeoutMs: 6_000 });
    // No new messages after stop: the iterator ends although messages were buffered.
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    await sleep(300);
    for (const message of held) message.ack(); // acks after stop() was called still count
    await stopping;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(first.stats()).toMatchObject({ acked: 2, inFlightMessages: 0, bufferedMessages: 0 });

    // Everything else went back to the subscription and goes to the next consumer at once
    // (well before the 10 s ack deadline would have expired).
    const second = track(
      createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: subscription.name }),
    );
    await second.start();
    const seen = new Set<string>();
    const loop = pump(second, (message) => {
      seen.add(message.id);
      message.ack();
    });
    await waitFor(() => seen.size === 28, '28 redelivered messages', 8_000);
    await sleep(500);
    await second.stop();
    await loop;
    const heldIds = new Set(held.map((m) => m.id));
    expect(seen).toEqual(new Set(ids.filter((id) => !heldIds.has(id))));
  });

  it('stop() nacks in-flight messages that are not settled by the deadline', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const [id] = await fx.publish(topic, 1);
    const first = createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: subscription.name });
    await first.start();
    const iterator = first[Symbol.asyncIterator]();
    const held = (await iterator.next()).value as Message;
    await first.stop({ timeoutMs: 1_500 });
    expect(held.outcome).toBe('nacked');
    held.ack(); // too late: settle-once keeps the nack

    const second = track(
      createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: subscription.name }),
    );
    await second.start();
    const redelivered = (await second[Symbol.asyncIterator]().next()).value as Message;
    expect(redelivered.id).toBe(id);
    redelivered.ack();
  });

  it('fails start() with NOT_FOUND naming a missing subscription', async () => {
    const name = uniqueName('missing');
    const consumer = createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: name });
    const error: unknown = await consumer.start().catch((e: unknown) => e);
    expect(isTributaryError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NOT_FOUND', retriable: false });
    expect((error as TributaryError).message).toContain(name);
    await expect(consumer.done).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(consumer.health()).toMatchObject({ ready: false });
    expect(consumer.health().detail).toContain(name);
  });

  it('fails with NOT_FOUND from the stream when the existence check is skipped', async () => {
    const name = uniqueName('missing');
    const consumer = createPubSubConsumer({
      pubsub: fx.pubsub,
      subscriptionName: name,
      checkExistence: false,
    });
    await consumer.start();
    await expect(consumer.done).rejects.toMatchObject({ code: 'NOT_FOUND', retriable: false });
    await expect(consumer[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('reopens the stream when messages stop flowing, and keeps receiving', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const consumer = track(
      createPubSubConsumer({
        pubsub: fx.pubsub,
        subscriptionName: subscription.name,
        stallTimeoutMs: 600,
      }),
    );
    await consumer.start();
    expect(consumer.health().ready).toBe(true);
    let received = 0;
    const loop = pump(consumer, (message) => {
      received += 1;
      message.ack();
    });
    // Idle from the start: a full stall period passes (health says so) without a restart.
    await waitFor(() => consumer.health().detail?.startsWith('idle') === true, 'an idle period');
    expect(consumer.stats().streamRestarts).toBe(0);

    await fx.publish(topic, 3);
    await waitFor(() => received === 3, 'first 3 messages');
    await waitFor(() => consumer.stats().streamRestarts === 1, 'a stall restart', 5_000);
    // One restart per silence: the reopened stream staying quiet for another full period
    // (health turns from "stalled" to "idle") means an idle subscription, not a second restart.
    await waitFor(() => consumer.health().detail?.startsWith('idle') === true, 'an idle period');
    expect(consumer.stats().streamRestarts).toBe(1);
    expect(consumer.health()).toMatchObject({ ready: true });

    await fx.publish(topic, 2);
    await waitFor(() => received === 5, 'messages on the reopened stream');
    await consumer.stop();
    await loop;
  });

  it('reports health through its lifecycle and rejects a second iterator', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const consumer = createPubSubConsumer({ subscription });
    expect(consumer.health()).toEqual({ ready: false, detail: 'not started' });
    await consumer.start();
    expect(consumer.health().ready).toBe(true);
    consumer[Symbol.asyncIterator]();
    expect(() => consumer[Symbol.asyncIterator]()).toThrow(TributaryError);
    await consumer.stop();
    await consumer.done;
    expect(consumer.health()).toEqual({ ready: false, detail: 'stopped' });
  });

  it('validates its options', () => {
    expect(() => createPubSubConsumer({ subscriptionName: 'abc' })).toThrow(/pubsub/);
    expect(() =>
      createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: 'abc', maxInFlightMessages: 0 }),
    ).toThrow(/maxInFlightMessages/);
    expect(() => createPubSubConsumer({ pubsub: fx.pubsub, subscriptionName: 'ab' })).toThrow(
      /subscriptionName/,
    );
  });
});
