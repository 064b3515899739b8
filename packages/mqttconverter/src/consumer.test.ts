import type { LogFields, Logger, Message } from '@tributary/messagepipeline';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { mqttAttributes } from './attributes.js';
import { createMqttConsumer, type MqttConsumer } from './consumer.js';
import type { MqttConsumerOptions } from './consumer-options.js';
import { parseRoutes } from './routes.js';
import { findFreePort, testEnv, uniqueName } from '@tributary/local-gcp';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function consumerFor(
  base: string,
  overrides: Partial<MqttConsumerOptions> = {},
  qos: 0 | 1 | 2 = 1,
): MqttConsumer {
  const consumer = createMqttConsumer({
    url: testEnv().MQTT_URL,
    clientId: uniqueName('c'),
    routes: parseRoutes(
      `routes:\n  - { name: r, topic: "${base}/{deviceId}/t", destination: dest-r, qos: ${qos} }\n`,
    ),
    sessionExpiryIntervalSeconds: 120,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
    redelivery: { initialDelayMs: 50, maxDelayMs: 200 },
    ...overrides,
  });
  cleanups.push(() => consumer.stop({ timeoutMs: 2_000 }));
  return consumer;
}

async function waitFor(
  condition: () => boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, for assertions on what an operator would see. */
function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (fields: LogFields, message = ''): void => {
      lines.push({ level, message, fields });
    };
  const logger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

async function publisher(url = testEnv().MQTT_URL): Promise<MqttClient> {
  const client = await connectAsync(url, { protocolVersion: 5 });
  cleanups.push(() => client.endAsync());
  return client;
}

/** Pulls `count` messages (or fails after `timeoutMs`). */
async function take(
  iterator: AsyncIterator<Message>,
  count: number,
  timeoutMs = 20_000,
): Promise<Message[]> {
  const out: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`got ${out.length} of ${count} messages`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([
      iterator.next(),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => {
          resolve(undefined);
        }, left);
      }),
    ]);
    clearTimeout(timer);
    if (next === undefined) continue;
    if (next.done === true) throw new Error('the consumer ended');
    out.push(next.value);
  }
  return out;
}

describe('createMqttConsumer', () => {
  it('maps messages to attributes and acks with PUBACK only on ack()', async () => {
    const base = uniqueName('m');
    const clientId = uniqueName('c');
    const first = consumerFor(base, { clientId });
    await first.start();
    await waitFor(() => first.health().ready, 20_000, 'ready');
    const pub = await publisher();
    await pub.publishAsync(`${base}/dev-7/t`, '{"id":"a"}', { qos: 1 });
    await pub.publishAsync(`${base}/dev-7/t`, '{"id":"b"}', { qos: 1 });
    const [a, b] = await take(first[Symbol.asyncIterator](), 2);
    expect(Buffer.from(a?.data ?? []).toString()).toBe('{"id":"a"}');
    expect(a?.attributes).toMatchObject({
      [mqttAttributes.topic]: `${base}/dev-7/t`,
      [mqttAttributes.route]: 'r',
      [mqttAttributes.qos]: '1',
      [mqttAttributes.retain]: 'false',
      [mqttAttributes.dup]: 'false',
      deviceId: 'dev-7',
    });
    expect(a?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a?.id).not.toBe(b?.id);
    a?.ack();
    await waitFor(() => first.stats().acksSent === 1, 5_000, 'one PUBACK');
    // b is never acked: stopping leaves it with the broker, which redelivers it next session.
    await first.stop({ timeoutMs: 100 });
    await pub.publishAsync(`${base}/dev-8/t`, '{"id":"while-away"}', { qos: 1 });
    const second = consumerFor(base, { clientId });
    await second.start();
    const again = await take(second[Symbol.asyncIterator](), 2);
    const texts = again.map((m) => Buffer.from(m.data).toString()).sort();
    expect(texts).toEqual(['{"id":"b"}', '{"id":"while-away"}']);
    expect(
      again.find((m) => Buffer.from(m.data).toString() === '{"id":"b"}')?.attributes[
        mqttAttributes.dup
      ],
    ).toBe('true');
    for (const message of again) message.ack();
    await waitFor(() => second.stats().acksSent === 2, 5_000, 'two PUBACKs');
  });

  it('redelivers a nacked message in-process with the next delivery attempt', async () => {
    const base = uniqueName('n');
    const consumer = consumerFor(base);
    await consumer.start();
    await waitFor(() => consumer.health().ready);
    const pub = await publisher();
    await pub.publishAsync(`${base}/d/t`, 'x', { qos: 1 });
    const iterator = consumer[Symbol.asyncIterator]();
    const [first] = await take(iterator, 1);
    first?.nack();
    const [second] = await take(iterator, 1);
    expect(second?.id).toBe(first?.id);
    expect(second?.deliveryAttempt).toBe(2);
    expect(consumer.stats().acksSent).toBe(0);
    second?.ack();
    await waitFor(() => consumer.stats().acksSent === 1);
    expect(consumer.stats()).toMatchObject({ redelivered: 1, inFlightMessages: 0 });
  });

  it('acknowledges QoS 2 (PUBREC) only on ack()', async () => {
    const base = uniqueName('q2');
    const clientId = uniqueName('c');
    const first = consumerFor(base, { clientId }, 2);
    await first.start();
    await waitFor(() => first.health().ready);
    const pub = await publisher();
    await pub.publishAsync(`${base}/d/t`, 'one', { qos: 2 });
    await pub.publishAsync(`${base}/d/t`, 'two', { qos: 2 });
    const [one, two] = await take(first[Symbol.asyncIterator](), 2);
    expect(one?.attributes[mqttAttributes.qos]).toBe('2');
    one?.ack();
    await waitFor(() => first.stats().acksSent === 1);
    expect(two?.outcome).toBeUndefined(); // never acked
    await first.stop({ timeoutMs: 100 });
    const second = consumerFor(base, { clientId }, 2);
    await second.start();
    const [redelivered] = await take(second[Symbol.asyncIterator](), 1);
    expect(Buffer.from(redelivered?.data ?? []).toString()).toBe('two');
    redelivered?.ack();
    await waitFor(() => second.stats().acksSent === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(second.stats().received).toBe(1);
  });

  it('stops reading at maxInFlightMessages and resumes as messages are acked', async () => {
    const base = uniqueName('bp');
    const consumer = consumerFor(base, { maxInFlightMessages: 10 });
    await consumer.start();
    await waitFor(() => consumer.health().ready);
    const pub = await publisher();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => pub.publishAsync(`${base}/d/t`, String(i), { qos: 1 })),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(consumer.stats().inFlightMessages).toBeLessThanOrEqual(10);
    const iterator = consumer[Symbol.asyncIterator]();
    const seen = new Set<string>();
    while (seen.size < 200) {
      const [message] = await take(iterator, 1);
      seen.add(Buffer.from(message?.data ?? []).toString());
      expect(consumer.stats().inFlightMessages).toBeLessThanOrEqual(10);
      message?.ack();
    }
    await waitFor(() => consumer.stats().acksSent === 200);
  });

  it('splits messages between instances of a shared subscription group', async () => {
    const base = uniqueName('sh');
    const group = uniqueName('g');
    const a = consumerFor(base, { sharedSubscriptionGroup: group });
    const b = consumerFor(base, { sharedSubscriptionGroup: group });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.health().ready && b.health().ready);
    const counts = { a: 0, b: 0 };
    const drain = (consumer: MqttConsumer, key: 'a' | 'b'): void => {
      void (async () => {
        for await (const message of consumer) {
          counts[key]++;
          message.ack();
        }
      })();
    };
    drain(a, 'a');
    drain(b, 'b');
    const pub = await publisher();
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        pub.publishAsync(`${base}/d${i}/t`, String(i), { qos: 1 }),
      ),
    );
    await waitFor(() => counts.a + counts.b === 100);
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.b).toBeGreaterThan(0);
  });

  it('fails start() naming an unreadable TLS file', async () => {
    const consumer = consumerFor(uniqueName('tls'), {
      url: 'mqtts://127.0.0.1:8883',
      tls: { caFile: '/nonexistent/ca.pem' },
    });
    await expect(consumer.start()).rejects.toThrow(
      "cannot read tls.caFile '/nonexistent/ca.pem': ENOENT",
    );
  });

  it('logs every failed connection attempt at warn with reason, attempt and delay', async () => {
    const logger = recordingLogger();
    const consumer = consumerFor(uniqueName('refused'), {
      url: `mqtt://127.0.0.1:${await findFreePort()}`, // nothing listens there
      reconnect: { initialDelayMs: 20, maxDelayMs: 40 },
      connectFailureLogIntervalMs: 0,
      logger,
    });
    await consumer.start();
    await waitFor(() => consumer.stats().connectFailures >= 3, 20_000, 'three failed attempts');
    const failed = logger.lines.filter((l) => l.message === 'MQTT connect failed').slice(0, 3);
    expect(failed.map((l) => [l.level, l.fields['attempt'], l.fields['connectFailures']])).toEqual([
      ['warn', 1, 1],
      ['warn', 2, 2],
      ['warn', 3, 3],
    ]);
    for (const line of failed) {
      expect(line.fields).toMatchObject({
        reason: expect.stringContaining('ECONNREFUSED') as string,
        reconnectInMs: expect.any(Number) as number,
        suppressed: 0,
      });
      expect(line.fields['reconnectInMs']).toBeLessThanOrEqual(40);
    }
    expect(consumer.stats().connected).toBe(false);
    expect(consumer.health()).toMatchObject({
      ready: false,
      detail: expect.stringContaining('ECONNREFUSED') as string,
    });
  });

  it('holds back repeated connect-failure lines within the interval and counts them', async () => {
    const logger = recordingLogger();
    const consumer = consumerFor(uniqueName('throttled'), {
      url: `mqtt://127.0.0.1:${await findFreePort()}`,
      reconnect: { initialDelayMs: 20, maxDelayMs: 40 },
      connectFailureLogIntervalMs: 500,
      logger,
    });
    const failed = () => logger.lines.filter((l) => l.message === 'MQTT connect failed');
    await consumer.start();
    await waitFor(() => failed().length >= 2, 20_000, 'a second connect-failure line');
    const [first, second] = failed();
    expect(first?.fields).toMatchObject({ attempt: 1, connectFailures: 1, suppressed: 0 });
    const suppressed = second?.fields['suppressed'] as number;
    expect(suppressed).toBeGreaterThan(0);
    // Every attempt is counted, whether or not its line was written.
    expect(second?.level).toBe('warn');
    expect(second?.fields).toMatchObject({
      attempt: suppressed + 2,
      connectFailures: suppressed + 2,
    });
    expect(consumer.stats().connectFailures).toBeGreaterThanOrEqual(suppressed + 2);
  });

  it('validates its options', () => {
    const routes = parseRoutes('routes: [{ name: r, topic: a, destination: dest-a }]');
    expect(() => createMqttConsumer({ url: 'http://x', clientId: 'c', routes })).toThrow(
      "'url' has unsupported scheme",
    );
    expect(() => createMqttConsumer({ url: 'mqtt://x', clientId: '', routes })).toThrow(
      "'clientId'",
    );
    expect(() => createMqttConsumer({ url: 'mqtt://x', clientId: 'c', routes: [] })).toThrow(
      "'routes'",
    );
    expect(() =>
      createMqttConsumer({ url: 'mqtt://x', clientId: 'c', routes, maxInFlightMessages: 0 }),
    ).toThrow("'maxInFlightMessages'");
    expect(() =>
      createMqttConsumer({
        url: 'mqtt://x',
        clientId: 'c',
        routes,
        sharedSubscriptionGroup: 'a/b',
      }),
    ).toThrow("'sharedSubscriptionGroup'");
    expect(() =>
      createMqttConsumer({ url: 'mqtt://x', clientId: 'c', routes, tls: { certFile: 'c.pem' } }),
    ).toThrow("'tls.keyFile'");
  });
});
