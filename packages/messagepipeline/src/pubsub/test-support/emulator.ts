import { PubSub } from '@google-cloud/pubsub';
import type { Subscription, Topic, CreateSubscriptionOptions } from '@google-cloud/pubsub';
import { uniqueName } from '@tributary/local-gcp';

/**
 * The emulator address the test workers were given (by the local-gcp vitest harness, or by hand).
 * Tests fail loudly without it: they never mock the client and never skip.
 */
export function requireEmulatorHost(): string {
  const host = process.env['PUBSUB_EMULATOR_HOST'];
  if (host === undefined || host === '') {
    throw new Error(
      'PUBSUB_EMULATOR_HOST is not set. Start the official Pub/Sub emulator ' +
        '(java -jar $SDK_ROOT/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*-all.jar ' +
        '--host=127.0.0.1 --port=18085) and export PUBSUB_EMULATOR_HOST=127.0.0.1:18085, ' +
        'or run the tests through the local-gcp harness.',
    );
  }
  return host;
}

/** Creates topics and subscriptions on the emulator and deletes them in `cleanup()`. */
export class EmulatorFixture {
  readonly pubsub: PubSub;
  readonly #topics: Topic[] = [];
  readonly #subscriptions: Subscription[] = [];

  constructor() {
    requireEmulatorHost();
    this.pubsub = new PubSub({ projectId: process.env['GOOGLE_CLOUD_PROJECT'] ?? 'test-proj' });
  }

  async topic(prefix = 'topic'): Promise<Topic> {
    const [topic] = await this.pubsub.createTopic(uniqueName(prefix));
    this.#topics.push(topic);
    return topic;
  }

  async subscription(
    topic: Topic,
    options: CreateSubscriptionOptions = {},
    prefix = 'sub',
  ): Promise<Subscription> {
    const [subscription] = await topic.createSubscription(uniqueName(prefix), {
      ackDeadlineSeconds: 10,
      ...options,
    });
    this.#subscriptions.push(subscription);
    return subscription;
  }

  /** Publishes `count` small JSON messages through a raw client publisher. */
  async publish(
    topic: Topic,
    count: number,
    make: (i: number) => { data: Buffer; attributes?: Record<string, string> } = (i) => ({
      data: Buffer.from(JSON.stringify({ seq: i })),
    }),
  ): Promise<string[]> {
    const publisher = this.pubsub.topic(topic.name, {
      batching: { maxMessages: 1000, maxMilliseconds: 5 },
    });
    const ids = await Promise.all(
      Array.from({ length: count }, (_, i) => publisher.publishMessage(make(i))),
    );
    return ids;
  }

  async cleanup(): Promise<void> {
    for (const subscription of this.#subscriptions.splice(0)) {
      await subscription.close().catch(() => undefined);
      await subscription.delete().catch(() => undefined);
    }
    for (const topic of this.#topics.splice(0)) await topic.delete().catch(() => undefined);
    await this.pubsub.close();
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
