import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeadLetterPublisher, deadLetterAttributes } from '../dead-letter.js';
import { InvalidArgumentError, isTributaryError, TributaryError } from '../errors.js';
import { createMessage } from '../message.js';
import type { Message } from '../message.js';
import { createPubSubConsumer } from './consumer.js';
import { createPubSubProducer } from './producer.js';
import type { PubSubProducer } from './producer.js';
import { uniqueName } from '@tributary/local-gcp';
import { EmulatorFixture, sleep, waitFor } from './test-support/emulator.js';

let fx: EmulatorFixture;
const producers: PubSubProducer[] = [];

beforeEach(() => {
  fx = new EmulatorFixture();
});

afterEach(async () => {
  for (const producer of producers.splice(0)) await producer.stop({ timeoutMs: 2_000 });
  await fx.cleanup();
});

function track(producer: PubSubProducer): PubSubProducer {
  producers.push(producer);
  return producer;
}

const data = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Pulls `count` messages from a subscription with a plain client subscriber, acking them. */
async function drain(
  subscriptionName: string,
  count: number,
): Promise<{ id: string; data: string; attributes: Record<string, string> }[]> {
  const subscription = fx.pubsub.subscription(subscriptionName);
  const got: { id: string; data: string; attributes: Record<string, string> }[] = [];
  subscription.on(
    'message',
    (m: { id: string; data: Buffer; attributes: Record<string, string>; ack(): void }) => {
      got.push({ id: m.id, data: m.data.toString(), attributes: m.attributes });
      m.ack();
    },
  );
  await waitFor(() => got.length >= count, `${count} messages on ${subscriptionName}`);
  await sleep(200);
  await subscription.close();
  return got;
}

describe('PubSub producer against the emulator', () => {
  it('resolves with the server message id, keeping attributes', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const producer = track(createPubSubProducer({ topic }));
    await producer.start();
    const id = await producer.publish({ data: data('{"a":1}'), attributes: { kind: 'reading' } });
    expect(id).toMatch(/^\d+$/);
    const [got] = await drain(subscription.name, 1);
    expect(got).toEqual({ id, data: '{"a":1}', attributes: { kind: 'reading' } });
  });

  it('blocks publish() while outstanding publishes are at the limit', async () => {
    const topic = await fx.topic();
    const producer = track(
      createPubSubProducer({
        pubsub: fx.pubsub,
        topicName: topic.name,
        maxOutstandingMessages: 2,
        batching: { maxMessages: 100, maxMilliseconds: 1_500 },
      }),
    );
    await producer.start();
    const first = producer.publish({ data: data('1') });
    const second = producer.publish({ data: data('2') });
    let thirdDone = false;
    const third = producer.publish({ data: data('3') }).then((id) => {
      thirdDone = true;
      return id;
    });
    await sleep(300);
    // Two publishes sit in the client's batch (1.5 s timer); the third waits for credit.
    expect(producer.stats()).toMatchObject({ outstandingMessages: 2, waitingMessages: 1 });
    expect(thirdDone).toBe(false);
    await Promise.all([first, second]);
    expect(await third).toMatch(/^\d+$/);
    expect(producer.stats()).toMatchObject({ outstandingMessages: 0, waitingMessages: 0 });
  });

  it('gives up waiting for credit when the signal aborts', async () => {
    const topic = await fx.topic();
    const producer = track(
      createPubSubProducer({
        pubsub: fx.pubsub,
        topicName: topic.name,
        maxOutstandingMessages: 1,
        batching: { maxMilliseconds: 1_000 },
      }),
    );
    await producer.start();
    const first = producer.publish({ data: data('1') });
    const waiting = producer.publish({ data: data('2') }, { signal: AbortSignal.timeout(100) });
    await expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT', retriable: true });
    expect(producer.stats().waitingMessages).toBe(0);
    await first;
  });

  it('stop() flushes pending publishes, then refuses new ones', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const producer = createPubSubProducer({
      pubsub: fx.pubsub,
      topicName: topic.name,
      batching: { maxMessages: 1_000, maxMilliseconds: 60_000 },
    });
    await producer.start();
    const publishes = Array.from({ length: 5 }, (_, i) =>
      producer.publish({ data: data(`m${i}`) }),
    );
    const started = Date.now();
    await producer.stop({ timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(3_000); // flushed, not waiting for the 60 s timer
    const ids = await Promise.all(publishes);
    expect(new Set(ids).size).toBe(5);
    await producer.done;
    await expect(producer.publish({ data: data('late') })).rejects.toMatchObject({
      code: 'CLOSED',
    });
    expect((await drain(subscription.name, 5)).map((m) => m.data).sort()).toEqual([
      'm0',
      'm1',
      'm2',
      'm3',
      'm4',
    ]);
  });

  it('flush() resolves when every accepted publish is confirmed', async () => {
    const topic = await fx.topic();
    const producer = track(createPubSubProducer({ topic, batching: { maxMilliseconds: 60_000 } }));
    await producer.start();
    let confirmed = 0;
    for (let i = 0; i < 3; i++) {
      void producer.publish({ data: data(String(i)) }).then(() => (confirmed += 1));
    }
    await producer.flush();
    await sleep(0);
    expect(confirmed).toBe(3);
  });

  it('flush() also sends the publishes that were waiting for credit when it began', async () => {
    const topic = await fx.topic();
    const producer = track(
      createPubSubProducer({
        topic,
        maxOutstandingMessages: 1,
        batching: { maxMilliseconds: 60_000 },
      }),
    );
    await producer.start();
    const publishes = ['a', 'b', 'c'].map((text) => producer.publish({ data: data(text) }));
    expect(producer.stats().waitingMessages).toBe(2);
    const started = Date.now();
    await producer.flush();
    expect(Date.now() - started).toBeLessThan(10_000); // not behind the client's 60 s timer
    expect(new Set(await Promise.all(publishes)).size).toBe(3);
    expect(producer.stats()).toMatchObject({ outstandingMessages: 0, published: 3 });
  }, 20_000);

  it('rejects a message the client refuses synchronously, returning its credit', async () => {
    const topic = await fx.topic();
    const producer = track(createPubSubProducer({ topic, maxOutstandingMessages: 1 }));
    await producer.start();
    const refused = producer.publish({
      data: data('x'),
      attributes: { n: 1 as unknown as string }, // the client throws a TypeError
    });
    await expect(refused).rejects.toSatisfy(isTributaryError);
    expect(producer.stats()).toMatchObject({ outstandingMessages: 0, failed: 1 });
    await expect(producer.publish({ data: data('y') })).resolves.toMatch(/^\d+$/);
  });

  it('classifies a missing topic as a destination error (held, never dead-lettered) and resumes the ordering key', async () => {
    const name = uniqueName('later');
    const producer = track(
      createPubSubProducer({ pubsub: fx.pubsub, topicName: name, messageOrdering: true }),
    );
    await producer.start();
    const error: unknown = await producer
      .publish({ data: data('x'), orderingKey: 'dev-1' })
      .catch((e: unknown) => e);
    expect(isTributaryError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NOT_FOUND', retriable: true, destination: true });
    expect((error as TributaryError).message).toContain(name);
    expect(producer.health()).toMatchObject({ ready: false });
    expect(producer.health().detail).toContain('NOT_FOUND');
    // Once the topic exists, the same key publishes again (the client paused it; we resumed it).
    const [topic] = await fx.pubsub.createTopic(name);
    try {
      await expect(producer.publish({ data: data('y'), orderingKey: 'dev-1' })).resolves.toMatch(
        /^\d+$/,
      );
      expect(producer.health().ready).toBe(true); // a confirmed publish clears the problem
    } finally {
      await topic.delete();
    }
  });

  it('fails start() with NOT_FOUND when asked to check a missing topic', async () => {
    const producer = createPubSubProducer({
      pubsub: fx.pubsub,
      topicName: uniqueName('missing'),
      checkExistence: true,
    });
    await expect(producer.start()).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('dead-letters through createDeadLetterPublisher with error attributes', async () => {
    const dlq = await fx.topic('dlq');
    const dlqSub = await fx.subscription(dlq);
    const producer = track(createPubSubProducer({ topic: dlq }));
    await producer.start();
    const sink = createDeadLetterPublisher(producer, { sourceSubscription: 'enrich' });
    const original: Message = createMessage({
      id: '1',
      data: data('not json'),
      attributes: { deviceId: 'd1' },
      orderingKey: 'd1',
    });
    await sink.deadLetter(
      original,
      TributaryError.permanent('INVALID_PAYLOAD', 'Unexpected token'),
      'enrichment',
    );
    const [got] = await drain(dlqSub.name, 1);
    expect(got?.data).toBe('not json');
    expect(got?.attributes).toMatchObject({
      deviceId: 'd1',
      [deadLetterAttributes.code]: 'INVALID_PAYLOAD',
      [deadLetterAttributes.message]: 'Unexpected token',
      [deadLetterAttributes.stage]: 'enrichment',
      [deadLetterAttributes.subscription]: 'enrich',
    });
  });

  it('validates its options', () => {
    expect(() => createPubSubProducer({ topicName: 'abc' })).toThrow(InvalidArgumentError);
    expect(() =>
      createPubSubProducer({ pubsub: fx.pubsub, topicName: 'abc', maxOutstandingBytes: 0 }),
    ).toThrow(/maxOutstandingBytes/);
    expect(() =>
      createPubSubProducer({
        pubsub: fx.pubsub,
        topicName: 'abc',
        batching: { maxMessages: 5_000 },
      }),
    ).toThrow(/batching.maxMessages/);
  });

  it('feeds a consumer end to end', async () => {
    const topic = await fx.topic();
    const subscription = await fx.subscription(topic);
    const producer = track(createPubSubProducer({ topic }));
    const consumer = createPubSubConsumer({ subscription });
    await Promise.all([producer.start(), consumer.start()]);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => producer.publish({ data: data(String(i)) })),
    );
    let n = 0;
    for await (const message of consumer) {
      message.ack();
      if (++n === 50) break; // return() stops the consumer
    }
    await consumer.done;
    expect(consumer.stats()).toMatchObject({ acked: 50 });
  });
});
