import { testEnv, uniqueName } from '@tributary/local-gcp';
import { describeConsumerContract } from '@tributary/messagepipeline/testing';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach } from 'vitest';
import { createMqttConsumer, type MqttConsumer } from './consumer.js';
import { parseRoutes } from './routes.js';

const clients: MqttClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.endAsync();
});

/** Resolves once the consumer has subscribed every route (messages sent before would be lost). */
async function subscribed(consumer: MqttConsumer): Promise<void> {
  for (let waitedMs = 0; !consumer.stats().subscribed; waitedMs += 20) {
    if (waitedMs > 10_000) throw new Error('the MQTT consumer did not subscribe within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeConsumerContract('MQTT (Mosquitto)', {
  create() {
    const base = uniqueName('contract');
    const consumer = createMqttConsumer({
      url: testEnv().MQTT_URL,
      clientId: uniqueName('c'),
      routes: parseRoutes(
        `routes:\n  - { name: r, topic: "${base}/{deviceId}", destination: dest-r, qos: 1 }\n`,
      ),
      sessionExpiryIntervalSeconds: 60,
      redelivery: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    return Promise.resolve({
      consumer,
      async send(payloads) {
        await subscribed(consumer);
        const client = await connectAsync(testEnv().MQTT_URL, { protocolVersion: 5 });
        clients.push(client);
        for (const payload of payloads)
          await client.publishAsync(`${base}/d1`, payload, { qos: 1 });
      },
    });
  },
  redeliveryTimeoutMs: 2_000,
});
