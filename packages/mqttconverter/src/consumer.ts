import { randomUUID } from 'node:crypto';
import {
  createMessage,
  TributaryError,
  type Attributes,
  type ComponentHealth,
  type HealthReporter,
  type HeldWorkReporter,
  type Message,
  type MessageConsumer,
  type StatsDescription,
  type StopOptions,
} from '@tributary/messagepipeline';
import {
  backoffDelayMs,
  deferred,
  Deque,
  Lifecycle,
  within,
  type Deferred,
} from '@tributary/messagepipeline/kernel';
import {
  connect,
  type IClientOptions,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { mqttMessageAttributes } from './attributes.js';
import {
  resolveMqttConsumerOptions,
  type MqttConsumerOptions,
  type ResolvedMqttConsumerOptions,
} from './consumer-options.js';
import { createLogThrottle } from './log-throttle.js';
import { createRouter, type Router } from './router.js';
import { readTlsFiles } from './tls-files.js';

/** Counters and state of an {@link MqttConsumer}. */
export interface MqttConsumerStats {
  readonly connected: boolean;
  readonly subscribed: boolean;
  /** Successful connections so far (reconnects included). */
  readonly connections: number;
  /** Connection attempts that failed (refused, TLS, CONNACK error, closed before CONNACK). */
  readonly connectFailures: number;
  readonly received: number;
  /** PUBACKs (QoS 1) and PUBRECs (QoS 2) sent. */
  readonly acksSent: number;
  /**
   * Settled messages whose connection had dropped: no ack was sent; the broker redelivers them
   * from the persistent session (a duplicate downstream).
   */
  readonly staleAcks: number;
  /** Nacked messages handed out again in-process. */
  readonly redelivered: number;
  /** Messages received without a matching route (handed out without `mqtt.route`). */
  readonly unroutable: number;
  /** Messages received and not yet acknowledged (queued, processing, waiting to be redelivered). */
  readonly inFlightMessages: number;
  readonly inFlightBytes: number;
  /** True while the consumer holds mqtt.js back (it reads nothing from the socket). */
  readonly paused: boolean;
  /**
   * Age of the oldest message not yet acknowledged to the broker (QoS 1/2, acknowledged in
   * arrival order) or not yet handed out, in ms; 0 when none.
   */
  readonly oldestUnsettledAgeMs: number;
}

/** How each field of {@link MqttConsumerStats} is exposed as a metric (`exposeStats`). */
export const mqttConsumerStatsDescription: StatsDescription<MqttConsumerStats> = Object.freeze({
  connected: { kind: 'gauge', help: '1 while connected to the MQTT broker' },
  subscribed: { kind: 'gauge', help: '1 while every route is subscribed' },
  connections: { kind: 'counter', help: 'MQTT connections made (reconnects included)' },
  connectFailures: {
    kind: 'counter',
    help: 'MQTT connection attempts that failed (refused, TLS, timeout, CONNACK error)',
  },
  received: { kind: 'counter', help: 'MQTT messages received' },
  acksSent: { kind: 'counter', help: 'PUBACKs and PUBRECs sent' },
  staleAcks: {
    kind: 'counter',
    help: 'settled messages whose connection dropped (the broker redelivers them)',
  },
  redelivered: { kind: 'counter', help: 'nacked MQTT messages redelivered in-process' },
  unroutable: { kind: 'counter', help: 'MQTT messages no route accepted (dead-lettered)' },
  inFlightMessages: { kind: 'gauge', help: 'MQTT messages received and not yet acknowledged' },
  inFlightBytes: { kind: 'gauge', help: 'payload bytes of those messages' },
  paused: {
    kind: 'gauge',
    help: '1 while reading from the broker is paused at the in-flight limit',
  },
  oldestUnsettledAgeMs: {
    kind: 'gauge',
    help: 'age of the oldest MQTT message not yet acknowledged to the broker',
    name: 'oldest_unsettled_age_seconds',
    scale: 0.001,
  },
});

/** An MQTT subscriber that is a {@link MessageConsumer}. */
export interface MqttConsumer
  extends MessageConsumer, HealthReporter, HeldWorkReporter, AsyncDisposable {
  stats(): MqttConsumerStats;
}

/** Settlement state of a received message in the acknowledgement order. */
type AckState = 'pending' | 'ack' | 'skip';

interface Entry {
  readonly id: string;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly packetId: number | undefined;
  readonly connection: number;
  readonly attributes: Attributes;
  readonly receivedAt: Date;
  /** `performance.now()` at arrival: the age of held work. */
  readonly heldSince: number;
  attempt: number;
  ackState: AckState;
  finished: boolean;
}

/** Passed to mqtt.js callbacks to skip its automatic PUBACK / PUBREC; never surfaces. */
const ACK_DEFERRED = new Error('acknowledgement deferred until the message is settled');

interface PrivateClient {
  _sendPacket(packet: object, cb?: (error?: Error) => void): void;
}

const noop = (): void => undefined;

/**
 * Creates an MQTT 5 consumer (mqtt.js). Every route's filter is subscribed (shared when a group
 * is given); each message becomes a {@link Message} with the `mqtt.*` attributes and the
 * template's lifted parameters. Acknowledgement follows the message:
 *
 * - `ack()`: the PUBACK (QoS 1) / PUBREC (QoS 2) is sent, in the order the messages arrived;
 * - `nack()`: no acknowledgement; the message is handed out again in-process after a backoff
 *   (with `deliveryAttempt + 1`). If the connection dropped meanwhile, the broker redelivers it
 *   from the persistent session instead.
 *
 * Up to `maxInFlightMessages` are unacknowledged at once; beyond it the consumer stops reading
 * the socket. `start()` resolves once the TLS files are read and the first connection attempt is
 * under way; the consumer connects and reconnects with backoff on its own, and `health()` is
 * ready only while connected and subscribed.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createMqttConsumer(options: MqttConsumerOptions): MqttConsumer {
  return new MqttConsumerImpl(resolveMqttConsumerOptions(options));
}

class MqttConsumerImpl implements MqttConsumer {
  readonly name: string;
  readonly #options: ResolvedMqttConsumerOptions;
  readonly #router: Router;
  readonly #lifecycle: Lifecycle;
  #client: MqttClient | undefined;
  /** Bumped on every connect and close: acks are only sent for the connection a message came on. */
  #connection = 0;
  #connected = false;
  #connectedAt = 0;
  #subscribed = false;
  #subscribeProblem: string | undefined;
  #lastError: string | undefined;
  /** Why the current connection attempt failed, when mqtt.js said (an 'error' before 'close'). */
  #attemptError: string | undefined;
  #reconnectAttempt = 0;
  #subscriptionIdentifiers = true;

  /** Entries ready to be handed out, FIFO. */
  readonly #ready = new Deque<Entry>();
  #reader: Deferred<IteratorResult<Message>> | undefined;
  #iterating = false;
  /** QoS 1/2 entries of the current connection in arrival order (MQTT acks in that order). */
  readonly #ackQueue = new Deque<Entry>();
  /** mqtt.js callbacks held back while the consumer is full: calling one resumes reading. */
  #paused: (() => void)[] = [];
  /** `performance.now()` when reading was first held back, while it is. */
  #pausedSince: number | undefined;
  readonly #timers = new Map<Entry, ReturnType<typeof setTimeout>>();
  #heldMessages = 0;
  #heldBytes = 0;
  /** Messages handed out and not yet settled. */
  #unsettled = 0;
  #drained: Deferred<void> | undefined;

  #connections = 0;
  #connectFailures = 0;
  readonly #connectFailureLog;
  #received = 0;
  #acksSent = 0;
  #staleAcks = 0;
  #redelivered = 0;
  #unroutable = 0;

  constructor(options: ResolvedMqttConsumerOptions) {
    this.#options = options;
    this.name = options.name;
    this.#router = createRouter(options.routes);
    this.#lifecycle = new Lifecycle(`MQTT consumer '${options.name}'`, {
      start: () => this.#start(),
      stop: (timeoutMs) => this.#stop(timeoutMs),
    });
    this.#connectFailureLog = createLogThrottle(options.connectFailureLogIntervalMs);
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  /** Taking messages in: started (or starting) and not stopping. */
  get #open(): boolean {
    return !this.#lifecycle.stopRequested;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => this.#runningHealth());
  }

  #runningHealth(): ComponentHealth {
    if (!this.#connected) {
      return {
        ready: false,
        detail: `not connected${this.#lastError === undefined ? '' : `: ${this.#lastError}`}`,
      };
    }
    if (!this.#subscribed) {
      return { ready: false, detail: this.#subscribeProblem ?? 'subscribing' };
    }
    return { ready: true, detail: `${this.#heldMessages} in flight` };
  }

  stats(): MqttConsumerStats {
    return {
      connected: this.#connected,
      subscribed: this.#subscribed,
      connections: this.#connections,
      connectFailures: this.#connectFailures,
      received: this.#received,
      acksSent: this.#acksSent,
      staleAcks: this.#staleAcks,
      redelivered: this.#redelivered,
      unroutable: this.#unroutable,
      inFlightMessages: this.#heldMessages,
      inFlightBytes: this.#heldBytes,
      paused: this.#paused.length > 0,
      oldestUnsettledAgeMs: this.oldestUnsettledAgeMs(),
    };
  }

  /** One iterator only; leaving it early (`return()`) stops the consumer, as every adapter does. */
  /** {@link HeldWorkReporter}: the oldest message not yet acknowledged or handed out. */
  oldestUnsettledAgeMs(): number {
    const oldest = Math.min(
      this.#ackQueue.peek()?.heldSince ?? Infinity,
      this.#ready.peek()?.heldSince ?? Infinity,
    );
    return oldest === Infinity ? 0 : performance.now() - oldest;
  }

  /** {@link HeldWorkReporter}: how long reading has been held back at the in-flight limit. */
  pausedForMs(): number {
    return this.#pausedSince === undefined ? 0 : performance.now() - this.#pausedSince;
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#iterating) {
      throw new TributaryError(
        'INVALID_ARGUMENT',
        `MQTT consumer '${this.name}' is already being iterated`,
      );
    }
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  #next(): Promise<IteratorResult<Message>> {
    if (!this.#open) return Promise.resolve({ done: true, value: undefined });
    const entry = this.#ready.shift();
    if (entry !== undefined) return Promise.resolve({ done: false, value: this.#handOut(entry) });
    this.#reader = deferred();
    return this.#reader.promise;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    const tls = o.tls === undefined ? {} : await readTlsFiles(o.tls);
    if (!this.#open) {
      throw new TributaryError('CLOSED', 'the MQTT consumer was stopped before it started');
    }
    const v5 = o.protocolVersion === 5;
    const clientOptions: IClientOptions = {
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      // MQTT 5 ends the session by its expiry; 3.1.1 only has clean or kept.
      clean: !v5 && o.sessionExpiryIntervalSeconds === 0,
      keepalive: o.keepaliveSeconds,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: backoffDelayMs(o.reconnect, 1),
      reconnectOnConnackError: true,
      resubscribe: false,
      ...(v5
        ? {
            properties: {
              sessionExpiryInterval: o.sessionExpiryIntervalSeconds,
              receiveMaximum: Math.min(o.maxInFlightMessages, 65_535),
            },
          }
        : {}),
      customHandleAcks: (_topic, _payload, packet: IPublishPacket, callback) => {
        if (packet.qos !== 2) {
          callback(0);
          return;
        }
        // mqtt.js would send PUBREC once this calls back, so the message is taken here and
        // the PUBREC is sent on ack(); the error only tells mqtt.js to skip its own PUBREC.
        this.#onPublish(packet, () => {
          callback(ACK_DEFERRED);
        });
      },
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
      ...(o.tls?.rejectUnauthorized === undefined
        ? {}
        : { rejectUnauthorized: o.tls.rejectUnauthorized }),
    };
    const client = connect(o.url, { ...clientOptions, manualConnect: true });
    if (typeof (client as unknown as Partial<PrivateClient>)._sendPacket !== 'function') {
      throw new TributaryError(
        'INTERNAL',
        'this mqtt.js version has no _sendPacket; pin mqtt ^5.16',
      );
    }
    this.#client = client;
    client.handleMessage = (packet, callback) => {
      if (packet.qos === 2) {
        callback(); // a PUBREL of a message we took in customHandleAcks: mqtt.js sends PUBCOMP
        return;
      }
      this.#onPublish(
        packet,
        packet.qos === 0
          ? () => {
              callback();
            }
          : () => {
              callback(ACK_DEFERRED);
            },
      );
    };
    // Ahead of mqtt.js's own 'close' listener, which schedules the reconnect with this period.
    client.prependListener('close', () => {
      this.#onClose(client);
    });
    client.on('connect', (connack) => {
      this.#onConnect(client, connack);
    });
    client.on('error', (error) => {
      if (error === ACK_DEFERRED) return;
      const text = error.message;
      this.#attemptError = text;
      // While connecting, the failed attempt is logged once it closes ('MQTT connect failed').
      if (text !== this.#lastError && this.#connected) {
        this.#options.logger.warn({ err: error }, 'MQTT error');
      }
      this.#lastError = text;
    });
    client.on('offline', () => {
      this.#options.logger.info({}, 'MQTT offline; reconnecting with backoff');
    });
    client.connect();
  }

  #onConnect(client: MqttClient, connack: IConnackPacket): void {
    this.#connection++;
    this.#connected = true;
    this.#connectedAt = performance.now();
    this.#connections++;
    this.#lastError = undefined;
    this.#subscribed = false;
    this.#subscribeProblem = undefined;
    this.#ackQueue.drain();
    this.#subscriptionIdentifiers =
      this.#options.protocolVersion === 5 &&
      connack.properties?.subscriptionIdentifiersAvailable !== false;
    this.#options.logger.info(
      { sessionPresent: connack.sessionPresent, connections: this.#connections },
      'MQTT connected',
    );
    if (!this.#open) return;
    const connection = this.#connection;
    const group = this.#options.sharedSubscriptionGroup;
    let remaining = this.#router.routes.length;
    const failures: string[] = [];
    for (const route of this.#router.routes) {
      const filter = group === undefined ? route.filter : `$share/${group}/${route.filter}`;
      client.subscribe(
        filter,
        {
          qos: route.qos,
          // Retained messages only for a new subscription, not on every reconnect (MQTT 5).
          ...(this.#options.protocolVersion === 5 ? { rh: 1 } : {}),
          ...(this.#subscriptionIdentifiers
            ? { properties: { subscriptionIdentifier: this.#router.subscriptionIdentifier(route) } }
            : {}),
        },
        (error, granted) => {
          if (connection !== this.#connection) return;
          const code = granted?.[0]?.qos;
          if (error !== null || code === undefined || code >= 128) {
            failures.push(
              `route '${route.name}' (${filter}): ${error?.message ?? `SUBACK reason ${String(code)}`}`,
            );
          }
          remaining--;
          if (remaining > 0) return;
          if (failures.length === 0) {
            this.#subscribed = true;
            this.#options.logger.info({ routes: this.#router.routes.length }, 'MQTT subscribed');
          } else {
            this.#subscribeProblem = `subscribe failed: ${failures.join('; ')}`;
            this.#options.logger.error({ failures }, 'MQTT subscribe failed');
          }
        },
      );
    }
  }

  #onClose(client: MqttClient): void {
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#subscribed = false;
    this.#connection++;
    // What waits for its turn to be acknowledged belongs to the lost connection: the broker
    // redelivers it. Settled ones are done; unsettled ones finish when they settle.
    for (const entry of this.#ackQueue.drain()) {
      if (entry.ackState !== 'pending') {
        if (entry.ackState === 'ack') this.#staleAcks++;
        this.#finish(entry);
      }
    }
    if (wasConnected && performance.now() - this.#connectedAt >= this.#options.stableConnectionMs) {
      this.#reconnectAttempt = 0;
    }
    this.#reconnectAttempt++;
    const delay = backoffDelayMs(this.#options.reconnect, this.#reconnectAttempt);
    client.options.reconnectPeriod = delay;
    const reason = this.#attemptError ?? 'connection closed before CONNACK';
    this.#attemptError = undefined;
    if (wasConnected && this.#open) {
      this.#options.logger.warn({ reason, reconnectInMs: delay }, 'MQTT connection lost');
    } else if (this.#open) {
      this.#connectFailures++;
      this.#lastError = reason;
      const suppressed = this.#connectFailureLog.admit(reason);
      if (suppressed !== undefined) {
        this.#options.logger.warn(
          {
            reason,
            attempt: this.#reconnectAttempt,
            reconnectInMs: delay,
            connectFailures: this.#connectFailures,
            suppressed,
          },
          'MQTT connect failed',
        );
      }
    }
  }

  /** Takes one PUBLISH; `resume` lets mqtt.js go on reading (called now, or when there is room). */
  #onPublish(packet: IPublishPacket, resume: () => void): void {
    if (!this.#open) return; // stopping: read nothing more; the broker keeps it
    const topic = packet.topic;
    const payload =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const ids = packet.properties?.subscriptionIdentifier;
    const match = this.#router.match(
      topic,
      ids === undefined ? undefined : Array.isArray(ids) ? ids : [ids],
    );
    if (match === undefined) this.#unroutable++;
    const receivedAt = this.#options.now();
    const entry: Entry = {
      id: randomUUID(),
      topic,
      payload,
      qos: packet.qos,
      packetId: packet.messageId,
      connection: this.#connection,
      attributes: mqttMessageAttributes(
        { topic, qos: packet.qos, retain: packet.retain, dup: packet.dup },
        match,
        receivedAt,
      ),
      receivedAt,
      heldSince: performance.now(),
      attempt: 1,
      ackState: 'pending',
      finished: false,
    };
    this.#received++;
    this.#heldMessages++;
    this.#heldBytes += payload.byteLength;
    if (entry.qos > 0) this.#ackQueue.push(entry);
    this.#enqueue(entry);
    if (this.#hasRoom()) resume();
    else {
      this.#pausedSince ??= performance.now();
      this.#paused.push(resume);
    }
  }

  #hasRoom(): boolean {
    return (
      this.#heldMessages < this.#options.maxInFlightMessages &&
      this.#heldBytes < this.#options.maxInFlightBytes
    );
  }

  #enqueue(entry: Entry): void {
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve({ done: false, value: this.#handOut(entry) });
    } else {
      this.#ready.push(entry);
    }
  }

  #handOut(entry: Entry): Message {
    this.#unsettled++;
    return createMessage({
      id: entry.id,
      data: entry.payload,
      attributes: entry.attributes,
      publishTime: entry.receivedAt,
      deliveryAttempt: entry.attempt,
      onAck: () => {
        this.#onSettled(entry, true);
      },
      onNack: () => {
        this.#onSettled(entry, false);
      },
    });
  }

  #onSettled(entry: Entry, acked: boolean): void {
    this.#unsettled--;
    if (acked) {
      if (entry.qos === 0) {
        this.#finish(entry);
      } else if (entry.connection !== this.#connection) {
        this.#staleAcks++;
        this.#finish(entry);
      } else {
        entry.ackState = 'ack';
        this.#flushAcks();
      }
    } else if (!this.#open || (entry.qos > 0 && entry.connection !== this.#connection)) {
      // Stopping, or the connection is gone: the broker redelivers it (QoS 1/2) from the session.
      this.#skip(entry);
    } else {
      this.#scheduleRedelivery(entry);
    }
    if (this.#unsettled === 0) this.#drained?.resolve();
  }

  #scheduleRedelivery(entry: Entry): void {
    const delay = backoffDelayMs(this.#options.redelivery, entry.attempt);
    entry.attempt++;
    const timer = setTimeout(() => {
      this.#timers.delete(entry);
      if (!this.#open || (entry.qos > 0 && entry.connection !== this.#connection)) {
        this.#skip(entry);
        return;
      }
      this.#redelivered++;
      this.#enqueue(entry);
    }, delay);
    this.#timers.set(entry, timer);
  }

  /** Gives up on an entry without acknowledging it. */
  #skip(entry: Entry): void {
    if (entry.qos > 0 && entry.connection === this.#connection) {
      entry.ackState = 'skip';
      this.#flushAcks();
    } else {
      this.#finish(entry);
    }
  }

  /** Sends the acknowledgements whose turn has come (MQTT wants them in arrival order). */
  #flushAcks(): void {
    const queue = this.#ackQueue;
    const client = this.#client as unknown as PrivateClient | undefined;
    for (;;) {
      const entry = queue.peek();
      if (entry === undefined || entry.ackState === 'pending') break;
      queue.shift();
      if (entry.ackState === 'ack' && client !== undefined && this.#connected) {
        client._sendPacket(
          { cmd: entry.qos === 1 ? 'puback' : 'pubrec', messageId: entry.packetId },
          noop,
        );
        this.#acksSent++;
      }
      this.#finish(entry);
    }
  }

  #finish(entry: Entry): void {
    if (entry.finished) return;
    entry.finished = true;
    this.#heldMessages--;
    this.#heldBytes -= entry.payload.byteLength;
    if (this.#paused.length > 0 && this.#hasRoom() && this.#open) {
      const paused = this.#paused;
      this.#paused = [];
      this.#pausedSince = undefined;
      for (const resume of paused) resume();
    }
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#reader?.resolve({ done: true, value: undefined });
    this.#reader = undefined;
    // Not handed out yet: leave them unacknowledged; the broker redelivers them next session.
    for (const entry of this.#ready.drain()) this.#skip(entry);
    for (const [entry, timer] of this.#timers) {
      clearTimeout(timer);
      this.#skip(entry);
    }
    this.#timers.clear();
    if (this.#unsettled > 0) {
      const drained = (this.#drained = deferred());
      if ((await within(drained.promise, timeoutMs)).kind === 'timeout') {
        this.#options.logger.warn(
          { unsettled: this.#unsettled, timeoutMs },
          'stop deadline passed with messages unsettled; the broker will redeliver them',
        );
      }
    }
    await this.#endClient();
    this.#connected = false;
    this.#options.logger.info(
      { acksSent: this.#acksSent, received: this.#received },
      'MQTT consumer stopped',
    );
  }

  /** Sends DISCONNECT (the session and its queued messages stay on the broker); forces after 2 s. */
  async #endClient(): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    await new Promise<void>((resolve) => {
      if (!client.connected) {
        client.end(true, {}, () => {
          resolve();
        });
        return;
      }
      // A socket whose reading is paused may never report its close: destroy it after 2 s.
      const timer = setTimeout(() => {
        client.stream.destroy();
        resolve();
      }, 2_000);
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
