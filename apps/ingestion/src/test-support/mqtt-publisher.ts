import { connectAsync, type MqttClient } from 'mqtt';

/** Options for {@link publishAll}. */
export interface PublishAllOptions {
  readonly url: string;
  /** How many messages, ids `0 … count-1`. */
  readonly count: number;
  /** The topic of message `i`. */
  readonly topicOf: (i: number) => string;
  /** How many arrived downstream so far; the publisher stays at most `window` ahead of it. */
  readonly arrived: () => number;
  /**
   * Published minus arrived, at most. Mosquitto drops QoS 1 messages for a client beyond its
   * `max_queued_messages` (default 1000; in-flight messages of an offline session count too),
   * so a test must stay well below that.
   * @defaultValue 500
   */
  readonly window?: number | undefined;
  /** Called after message `i` was acknowledged by the broker. */
  readonly onPublished?: ((i: number) => void) | undefined;
  readonly prefix?: string | undefined;
}

/**
 * Publishes `count` QoS 1 messages `{"id":"<prefix><i>"}` (up to 100 unacknowledged at once),
 * retrying any publish that fails or takes longer than 5 s (a broker restart), so every id is
 * accepted by the broker at least once. Returns the ids.
 */
export async function publishAll(options: PublishAllOptions): Promise<string[]> {
  const window = options.window ?? 500;
  const prefix = options.prefix ?? '';
  const client: MqttClient = await connectAsync(options.url, {
    protocolVersion: 5,
    reconnectPeriod: 200,
    connectTimeout: 5_000,
  });
  client.on('error', () => undefined);
  const ids = Array.from({ length: options.count }, (_, i) => `${prefix}${i}`);
  let next = 0;
  let published = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= options.count) return;
      while (published - options.arrived() >= window) await sleep(20);
      const payload = JSON.stringify({ id: ids[i], n: i });
      for (let attempt = 1; ; attempt++) {
        try {
          await withTimeout(client.publishAsync(options.topicOf(i), payload, { qos: 1 }), 5_000);
          break;
        } catch {
          if (attempt > 100) throw new Error(`could not publish message ${i}`);
          await sleep(200);
        }
      }
      published++;
      options.onPublished?.(i);
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  await client.endAsync();
  return ids;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error('publish timed out'));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
