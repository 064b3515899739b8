import type { Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { uniqueName } from '@tributary/local-gcp';

/** A topic with a subscription whose deliveries are collected (and acked). */
export interface Collected {
  readonly topic: Topic;
  readonly messages: Message[];
  close(): Promise<void>;
}

/** Creates a topic and an ordered subscription, collecting every delivery. */
export async function collectTopic(pubsub: PubSub, prefix: string): Promise<Collected> {
  const [topic] = await pubsub.createTopic(uniqueName(prefix));
  const [subscription]: [Subscription, ...unknown[]] = await topic.createSubscription(
    uniqueName(`${prefix}-sub`),
    { enableMessageOrdering: true },
  );
  const messages: Message[] = [];
  subscription.on('message', (message: Message) => {
    messages.push(message);
    message.ack();
  });
  subscription.on('error', () => undefined);
  return {
    topic,
    messages,
    async close() {
      await subscription.close();
      await subscription.delete().catch(() => undefined);
      await topic.delete().catch(() => undefined);
    },
  };
}

/** Polls `condition` until it holds; fails after `timeoutMs` with `describe()`. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
