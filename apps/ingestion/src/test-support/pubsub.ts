import type { Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { uniqueName } from '@tributary/local-gcp';

/** What a test collects from a subscription: every delivery, keyed by the payload's `id`. */
export interface Collected {
  readonly topic: Topic;
  readonly subscription: Subscription;
  /** Deliveries per payload id (more than 1: a duplicate). */
  readonly counts: Map<string, number>;
  /** The last delivery of each id. */
  readonly messages: Map<string, Message>;
  /** Deliveries in total. */
  total(): number;
  close(): Promise<void>;
}

/** Creates a uniquely named topic with a subscription and collects (and acks) what arrives. */
export async function collectTopic(pubsub: PubSub, prefix: string): Promise<Collected> {
  const [topic] = await pubsub.createTopic(uniqueName(prefix));
  const [subscription] = await topic.createSubscription(uniqueName(`${prefix}-sub`), {
    ackDeadlineSeconds: 60,
  });
  const counts = new Map<string, number>();
  const messages = new Map<string, Message>();
  let total = 0;
  subscription.on('message', (message: Message) => {
    total++;
    const id = idOf(message.data);
    counts.set(id, (counts.get(id) ?? 0) + 1);
    messages.set(id, message);
    message.ack();
  });
  subscription.on('error', (error: unknown) => {
    process.stderr.write(`subscription error: ${String(error)}\n`);
  });
  return {
    topic,
    subscription,
    counts,
    messages,
    total: () => total,
    async close() {
      await subscription.close();
      await subscription.delete().catch(() => undefined);
      await topic.delete().catch(() => undefined);
    },
  };
}

/** The `id` of a JSON payload `{"id":"…"}`, or the whole text. */
export function idOf(data: Uint8Array): string {
  const text = Buffer.from(data).toString('utf8');
  try {
    const parsed = JSON.parse(text) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : text;
  } catch {
    return text;
  }
}

/** Counts of a test run: what is missing and what arrived more than once. */
export function tally(
  expected: Iterable<string>,
  counts: ReadonlyMap<string, number>,
): { missing: string[]; duplicates: number; unexpected: number } {
  const want = new Set(expected);
  const missing = [...want].filter((id) => !counts.has(id));
  let duplicates = 0;
  let unexpected = 0;
  for (const [id, count] of counts) {
    if (!want.has(id)) unexpected += count;
    else duplicates += count - 1;
  }
  return { missing, duplicates, unexpected };
}

/** Polls `condition` every 100 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
