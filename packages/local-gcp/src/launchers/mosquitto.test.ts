import { connect, connectAsync, type IClientOptions, type IConnackPacket } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { uniqueName } from '../harness/unique-name.js';
import { isProcessAlive } from './managed-process.js';
import { startMosquitto, startPrivateMosquitto } from './mosquitto.js';
import { answersMqttConnect } from './probes.js';

const noReconnect: IClientOptions = { protocolVersion: 5, reconnectPeriod: 0 };

describe('startPrivateMosquitto', () => {
  it('serves mqtt.js on its own port and stops leaving no process', async () => {
    const broker = await startPrivateMosquitto();
    onTestFinished(() => broker.stop());
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(broker.port).not.toBe(1883);

    const client = await connectAsync(broker.url, noReconnect);
    const topic = `${uniqueName('t')}/telemetry`;
    await client.subscribeAsync(topic, { qos: 1 });
    const received = new Promise<string>((resolve) => {
      client.on('message', (_topic, payload) => {
        resolve(payload.toString());
      });
    });
    await client.publishAsync(topic, 'hello', { qos: 1 });
    expect(await received).toBe('hello');
    await client.endAsync();

    const { pid } = broker;
    await Promise.all([broker.stop(), broker.stop()]);
    expect(isProcessAlive(pid)).toBe(false);
    expect(await answersMqttConnect(broker.host, broker.port)).toBe(false);
  });

  it('lets an MQTT 5 publisher have 1000 publishes in flight, not the default 20', async () => {
    const broker = await startPrivateMosquitto();
    onTestFinished(() => broker.stop());
    const client = connect(broker.url, noReconnect);
    onTestFinished(() => client.endAsync());
    const connack = await new Promise<IConnackPacket>((resolve) => client.once('connect', resolve));
    expect(connack.properties?.receiveMaximum).toBe(1000);
  });

  it('restart() keeps the port, persistent sessions and their queued messages', async () => {
    const broker = await startPrivateMosquitto();
    onTestFinished(() => broker.stop());
    const clientId = uniqueName('persistent');
    const topic = `${uniqueName('t')}/telemetry`;
    const session: IClientOptions = { ...noReconnect, clientId, clean: false };
    const sessionV5: IClientOptions = { ...session, properties: { sessionExpiryInterval: 3600 } };

    const subscriber = await connectAsync(broker.url, sessionV5);
    await subscriber.subscribeAsync(topic, { qos: 1 });
    await subscriber.endAsync();

    const publisher = await connectAsync(broker.url, noReconnect);
    await publisher.publishAsync(topic, 'queued while offline', { qos: 1 });
    await publisher.endAsync();

    const { port, pid: firstPid } = broker;
    await broker.restart();
    expect(broker.port).toBe(port);
    expect(broker.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid)).toBe(false);

    // Listen before the connection is up: the queued message follows the CONNACK at once.
    const resumed = connect(broker.url, session);
    onTestFinished(() => resumed.endAsync());
    const received = await new Promise<string>((resolve, reject) => {
      resumed.on('message', (_topic, payload) => {
        resolve(payload.toString());
      });
      resumed.on('error', reject);
    });
    expect(received).toBe('queued while offline');
  });
});

describe('startMosquitto', () => {
  it('reuses the broker on the standard port when one answers there', async () => {
    const broker = await startMosquitto();
    onTestFinished(() => broker.stop());
    if (await answersMqttConnect('127.0.0.1', 1883)) {
      expect(broker).toMatchObject({ started: false, port: 1883, url: 'mqtt://127.0.0.1:1883' });
    } else {
      expect(broker.started).toBe(true);
    }
  });

  it('names the missing package when mosquitto is absent', async () => {
    await expect(
      startMosquitto({ reuseExisting: false, mosquittoPath: '/nonexistent/mosquitto' }),
    ).rejects.toMatchObject({
      code: 'MISSING_DEPENDENCY',
      message: '/nonexistent/mosquitto not found: install the mosquitto package',
    });
  });
});
