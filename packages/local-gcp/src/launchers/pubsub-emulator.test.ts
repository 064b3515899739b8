import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../harness/unique-name.js';
import { isProcessAlive } from './managed-process.js';
import { startPubSubEmulator, type PubSubEmulator } from './pubsub-emulator.js';

describe('startPubSubEmulator', () => {
  let emulator: PubSubEmulator | undefined;
  let pubsub: PubSub | undefined;

  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    pubsub = new PubSub({ projectId: 'test-proj', apiEndpoint: emulator.hostPort });
  });

  // Runs even when a test fails half-way.
  afterAll(async () => {
    await pubsub?.close();
    await emulator?.stop();
  });

  it('runs the official emulator on a free loopback port', () => {
    expect(emulator?.host).toBe('127.0.0.1');
    expect(emulator?.hostPort).toBe(`127.0.0.1:${emulator?.port}`);
    expect(isProcessAlive(emulator?.pid ?? 0)).toBe(true);
  });

  it('serves the official client: topic, subscription, publish with attributes, receive, ack', async () => {
    const [topic] = await pubsub!.createTopic(uniqueName('launcher-topic'));
    const [subscription] = await topic.createSubscription(uniqueName('launcher-sub'));
    const received = new Promise<Message>((resolve, reject) => {
      subscription.on('message', resolve);
      subscription.on('error', reject);
    });
    await topic.publishMessage({ json: { seq: 1 }, attributes: { deviceId: 'd1' } });
    const message = await received;
    expect(JSON.parse(message.data.toString())).toEqual({ seq: 1 });
    expect(message.attributes).toEqual({ deviceId: 'd1' });
    expect(await message.ackWithResponse()).toBe('SUCCESS');
    await subscription.close();
  });

  it('reset() deletes every topic', async () => {
    await pubsub!.createTopic(uniqueName('doomed'));
    expect((await pubsub!.getTopics())[0].length).toBeGreaterThan(0);
    await emulator!.reset();
    expect((await pubsub!.getTopics())[0]).toEqual([]);
  });

  it('stop() ends the process and is idempotent', async () => {
    await pubsub!.close();
    await Promise.all([emulator!.stop(), emulator!.stop()]);
    expect(isProcessAlive(emulator!.pid)).toBe(false);
    await emulator!.stop();
  });

  it('names the missing package when the emulator jar is absent', async () => {
    await expect(startPubSubEmulator({ sdkRoot: '/nonexistent/sdk' })).rejects.toMatchObject({
      code: 'MISSING_DEPENDENCY',
      message:
        'Pub/Sub emulator jar not found under /nonexistent/sdk/platform/pubsub-emulator/lib: install the google-cloud-cli-pubsub-emulator package',
    });
  });

  it('names the missing package when java is absent', async () => {
    await expect(startPubSubEmulator({ javaPath: '/nonexistent/bin/java' })).rejects.toMatchObject({
      code: 'MISSING_DEPENDENCY',
      message: '/nonexistent/bin/java not found: install openjdk-17-jre-headless',
    });
    await expect(startPubSubEmulator({ javaPath: 'java-that-does-not-exist' })).rejects.toThrow(
      'java-that-does-not-exist not found on PATH: install openjdk-17-jre-headless',
    );
  });
});
