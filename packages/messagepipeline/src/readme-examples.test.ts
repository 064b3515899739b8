// The examples of this package's README, run as they are written there (console is shadowed so
// the test can read what they print). If an example here changes, change the README too.
import { describe, expect, it } from 'vitest';
import {
  TributaryError,
  createBatchingService,
  createDeadLetterPublisher,
  createMessage,
  createStreamingService,
  deriveMessage,
  emit,
  type Message,
} from './index.js';
import { createInMemoryBroker } from './broker/index.js';

async function firstMessage(iterable: AsyncIterable<Message>): Promise<Message> {
  for await (const message of iterable) return message;
  throw new Error('no message');
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('README examples', () => {
  it('Message: derived messages share settlement', async () => {
    const lines: string[] = [];
    const console = { log: (...args: unknown[]) => lines.push(args.join(' ')) };

    const message = createMessage({
      id: 'm-1',
      data: new TextEncoder().encode('{"deviceId":"d1","temp":21.5}'),
      attributes: { deviceId: 'd1' },
      onAck: () => console.log('acked upstream'),
    });
    const enriched = deriveMessage(message, { enrichment: { site: 'north' } });
    enriched.ack(); // acks `message` too
    message.nack(); // no effect: already settled
    console.log(await message.settled); // 'acked'

    expect(lines).toEqual(['acked upstream', 'acked']);
  });

  it('StreamingService: processes good messages and dead-letters bad ones', async () => {
    const lines: string[] = [];
    const console = { log: (...args: unknown[]) => lines.push(args.join(' ')) };

    const broker = createInMemoryBroker();
    broker.createTopic('raw');
    broker.createTopic('dead-letter');
    broker.createSubscription('raw-sub', { topic: 'raw' });
    broker.createSubscription('dead-letter-sub', { topic: 'dead-letter' });

    const service = createStreamingService<{ temp: number }>({
      stage: 'example',
      consumer: broker.consumer('raw-sub'),
      transformer: (message) => {
        try {
          return emit(JSON.parse(new TextDecoder().decode(message.data)) as { temp: number });
        } catch (error) {
          throw TributaryError.permanent('INVALID_PAYLOAD', 'payload is not JSON', error);
        }
      },
      processor: async ({ payload }) => {
        console.log('temp', payload.temp);
      },
      deadLetter: createDeadLetterPublisher(broker.producer('dead-letter'), {
        sourceSubscription: 'raw-sub',
      }),
      concurrency: 10,
    });
    await service.start();
    const raw = broker.producer('raw');
    await raw.publish({ data: new TextEncoder().encode('{"temp":21.5}') });
    await raw.publish({ data: new TextEncoder().encode('not json') }); // dead-lettered, then acked

    const deadLetters = broker.consumer('dead-letter-sub');
    await deadLetters.start();
    const deadLetter = await firstMessage(deadLetters);
    await until(() => broker.subscriptionStats('raw-sub').backlogMessages === 0);
    await service.stop({ timeoutMs: 8_000 });
    await deadLetters.stop();

    expect(lines).toEqual(['temp 21.5']);
    expect(new TextDecoder().decode(deadLetter.data)).toBe('not json');
    expect(deadLetter.attributes).toMatchObject({
      'error.code': 'INVALID_PAYLOAD',
      'error.stage': 'example',
      'source.subscription': 'raw-sub',
    });
    await broker.close();
  });

  it('BatchingService: flushes at maxItems', async () => {
    const lines: string[] = [];
    const console = { log: (...args: unknown[]) => lines.push(args.join(' ')) };
    const broker = createInMemoryBroker();
    broker.createTopic('readings');
    broker.createSubscription('readings-sub', { topic: 'readings' });

    const batches = createBatchingService<{ temp: number }>({
      stage: 'batch-example',
      consumer: broker.consumer('readings-sub'),
      transformer: (message) => emit(JSON.parse(new TextDecoder().decode(message.data))),
      processor: async (items) => {
        console.log('flush', items.length);
        return []; // no failures
      },
      maxItems: 100,
      maxWaitMs: 1_000,
    });

    await batches.start();
    const producer = broker.producer('readings');
    for (let i = 0; i < 100; i++) {
      await producer.publish({ data: new TextEncoder().encode(`{"temp":${i}}`) });
    }
    await until(() => lines.length === 1);
    await batches.stop();
    expect(lines).toEqual(['flush 100']);
    expect(broker.subscriptionStats('readings-sub').backlogMessages).toBe(0);
    await broker.close();
  });

  it('BatchingService: one batch per key', async () => {
    const lines: string[] = [];
    const console = { log: (...args: unknown[]) => lines.push(args.join(' ')) };
    const broker = createInMemoryBroker();
    broker.createTopic('readings');
    broker.createSubscription('readings-sub', { topic: 'readings' });

    const archive = createBatchingService<Uint8Array>({
      stage: 'keyed-example',
      consumer: broker.consumer('readings-sub'),
      transformer: (message) => emit(message.data),
      key: (item) => item.message.attributes['site'] ?? '_unknown',
      processor: async (items, _signal, context) => {
        console.log('flush', context.key, items.length);
        return [];
      },
      maxOpenKeys: 100,
      maxBufferedBytes: 8 * 1024 * 1024,
    });

    await archive.start();
    const producer = broker.producer('readings');
    for (const site of ['north', 'south', 'north', undefined]) {
      const attributes: Record<string, string> = site === undefined ? {} : { site };
      await producer.publish({ data: new TextEncoder().encode('{}'), attributes });
    }
    await until(() => archive.stats().openKeys === 3);
    await archive.stop();
    expect(lines).toEqual(['flush north 2', 'flush south 1', 'flush _unknown 1']);
    await broker.close();
  });
});
