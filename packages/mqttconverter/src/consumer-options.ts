import { InvalidArgumentError, silentLogger, type Logger } from '@tributary/messagepipeline';
import {
  requireInteger,
  resolveBackoff,
  type BackoffOptions,
  type BackoffPolicy,
} from '@tributary/messagepipeline/kernel';
import type { Route } from './routes.js';
import type { MqttTlsOptions } from './tls-files.js';

/** Options for {@link createMqttConsumer}. */
export interface MqttConsumerOptions {
  /** Broker URL: `mqtt://host:1883`, `mqtts://host:8883` (also `tcp:`, `tls:`, `ws:`, `wss:`). */
  readonly url: string;
  /**
   * A stable client id: the broker keeps this client's persistent session (subscriptions and
   * QoS 1/2 messages published while it is away) under it. With shared subscriptions every
   * instance needs its own id (a pod name, say); two live clients with one id kick each other.
   */
  readonly clientId: string;
  /** Validated routes ({@link loadRoutesFile}, {@link parseRoutes}); at least one. */
  readonly routes: readonly Route[];
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** TLS files, read on `start()` (for `mqtts:`/`tls:`/`wss:` URLs); only defaults means none. */
  readonly tls?: MqttTlsOptions | undefined;
  /**
   * Subscribe every route as `$share/<group>/<filter>` (MQTT 5 shared subscription), so
   * instances with the same group split the messages. @defaultValue undefined (not shared)
   */
  readonly sharedSubscriptionGroup?: string | undefined;
  /**
   * How long the broker keeps the session (and queues QoS 1/2 messages) after a disconnect, in
   * seconds. 0 ends the session with the connection (messages published while away are lost).
   * @defaultValue 86_400 (one day)
   */
  readonly sessionExpiryIntervalSeconds?: number | undefined;
  /**
   * The MQTT version spoken: 5, or 4 (3.1.1) for brokers without MQTT 5. With 4 there are no
   * shared subscriptions, no receive maximum (reading pauses at the in-flight limit all the
   * same) and no session expiry: a session is kept (`clean: false`) unless
   * `sessionExpiryIntervalSeconds` is 0. @defaultValue 5
   */
  readonly protocolVersion?: 4 | 5 | undefined;
  /** MQTT keepalive, in seconds. @defaultValue 30 */
  readonly keepaliveSeconds?: number | undefined;
  /** Longest wait for CONNACK, in milliseconds. @defaultValue 10_000 */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Reconnect backoff (also when the broker is down at start), equal jitter; a `maxDelayMs`
   * below `initialDelayMs` is raised to it. @defaultValue 500 ms doubling to 30 s
   */
  readonly reconnect?: BackoffOptions | undefined;
  /**
   * A connection shorter than this counts as failed for the backoff (a broker that accepts and
   * then drops the client does not cause a reconnect storm). @defaultValue 10_000
   */
  readonly stableConnectionMs?: number | undefined;
  /**
   * Messages received and not yet acknowledged (queued, being processed, or waiting for an
   * in-process redelivery), at most. At the limit the consumer stops reading from the socket.
   * Also sent as MQTT 5 Receive Maximum (capped at 65_535), so the broker itself stops sending
   * QoS 1/2 messages beyond it. @defaultValue 1_000
   */
  readonly maxInFlightMessages?: number | undefined;
  /** Payload bytes of those messages, at most (a larger one is taken alone). @defaultValue 67_108_864 (64 MiB) */
  readonly maxInFlightBytes?: number | undefined;
  /** Backoff of the in-process redelivery of a nacked message. @defaultValue 1 s doubling to 60 s */
  readonly redelivery?: BackoffOptions | undefined;
  /**
   * Every failed connection attempt is logged at warn, but at most one line per this interval
   * for one reason; the next line says how many were held back (`suppressed`). 0 logs every
   * attempt. @defaultValue 10_000
   */
  readonly connectFailureLogIntervalMs?: number | undefined;
  /** Name for logs and metrics. @defaultValue 'mqtt' */
  readonly name?: string | undefined;
  /** @defaultValue {@link silentLogger} */
  readonly logger?: Logger | undefined;
  /** Clock for `mqtt.receivedAt`. @defaultValue `() => new Date()` */
  readonly now?: (() => Date) | undefined;
}

/** The defaults of {@link MqttConsumerOptions}. */
export const DEFAULT_MQTT_CONSUMER_OPTIONS = Object.freeze({
  sessionExpiryIntervalSeconds: 86_400,
  protocolVersion: 5,
  keepaliveSeconds: 30,
  connectTimeoutMs: 10_000,
  reconnect: Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 }),
  stableConnectionMs: 10_000,
  maxInFlightMessages: 1_000,
  maxInFlightBytes: 64 * 1024 * 1024,
  redelivery: Object.freeze({ initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 }),
  connectFailureLogIntervalMs: 10_000,
  name: 'mqtt',
});

/** {@link MqttConsumerOptions} validated, with defaults applied. */
export interface ResolvedMqttConsumerOptions {
  readonly url: string;
  readonly clientId: string;
  readonly routes: readonly Route[];
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: MqttTlsOptions | undefined;
  readonly sharedSubscriptionGroup: string | undefined;
  readonly sessionExpiryIntervalSeconds: number;
  readonly protocolVersion: 4 | 5;
  readonly keepaliveSeconds: number;
  readonly connectTimeoutMs: number;
  readonly reconnect: BackoffPolicy;
  readonly stableConnectionMs: number;
  readonly maxInFlightMessages: number;
  readonly maxInFlightBytes: number;
  readonly redelivery: BackoffPolicy;
  readonly connectFailureLogIntervalMs: number;
  readonly name: string;
  readonly logger: Logger;
  readonly now: () => Date;
}

const PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ssl:', 'ws:', 'wss:']);

/**
 * The reconnect and redelivery backoffs: the kernel's equal jitter (never a near-zero wait).
 * A `maxDelayMs` below `initialDelayMs` is raised to it, so setting only a long first delay
 * (say `MQTT_RECONNECT_MIN_MS=60000` with the default maximum) does what it says.
 */
function backoff(
  name: string,
  given: BackoffOptions | undefined,
  defaults: Omit<BackoffPolicy, 'jitter'>,
): BackoffPolicy {
  const initialDelayMs = requireInteger(
    `${name}.initialDelayMs`,
    given?.initialDelayMs ?? defaults.initialDelayMs,
  );
  const maxDelayMs = requireInteger(`${name}.maxDelayMs`, given?.maxDelayMs ?? defaults.maxDelayMs);
  return resolveBackoff(
    { ...given, initialDelayMs, maxDelayMs: Math.max(initialDelayMs, maxDelayMs) },
    { ...defaults, jitter: 'equal' },
    name,
  );
}

/** No TLS options, or only defaults: `undefined`, so a plain `mqtt:` URL needs nothing. */
function tlsOptions(tls: MqttTlsOptions | undefined): MqttTlsOptions | undefined {
  if (tls === undefined) return undefined;
  const allDefaults =
    tls.caFile === undefined &&
    tls.certFile === undefined &&
    tls.keyFile === undefined &&
    tls.rejectUnauthorized !== false;
  return allDefaults ? undefined : tls;
}

/**
 * Validates and defaults the options in one place.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function resolveMqttConsumerOptions(
  options: MqttConsumerOptions,
): ResolvedMqttConsumerOptions {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw InvalidArgumentError.for('url', 'must be a URL such as mqtt://host:1883');
  }
  if (!PROTOCOLS.has(url.protocol)) {
    throw InvalidArgumentError.for('url', `has unsupported scheme '${url.protocol}'`);
  }
  if (
    typeof options.clientId !== 'string' ||
    options.clientId === '' ||
    options.clientId.length > 256
  ) {
    throw InvalidArgumentError.for(
      'clientId',
      'must be a non-empty string of at most 256 characters',
    );
  }
  if (!Array.isArray(options.routes) || options.routes.length === 0) {
    throw InvalidArgumentError.for('routes', 'must list at least one route');
  }
  const group = options.sharedSubscriptionGroup;
  if (group !== undefined && (group === '' || /[/+#]/.test(group))) {
    throw InvalidArgumentError.for(
      'sharedSubscriptionGroup',
      "must be non-empty without '/', '+' or '#'",
    );
  }
  if (options.tls?.keyFile !== undefined && options.tls.certFile === undefined) {
    throw InvalidArgumentError.for('tls.certFile', 'is required with tls.keyFile');
  }
  if (options.tls?.certFile !== undefined && options.tls.keyFile === undefined) {
    throw InvalidArgumentError.for('tls.keyFile', 'is required with tls.certFile');
  }
  const d = DEFAULT_MQTT_CONSUMER_OPTIONS;
  // Checked at run time too: a JavaScript caller may pass anything.
  const protocolVersion: number = options.protocolVersion ?? d.protocolVersion;
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw InvalidArgumentError.for('protocolVersion', 'must be 4 (MQTT 3.1.1) or 5');
  }
  if (protocolVersion === 4 && group !== undefined) {
    throw InvalidArgumentError.for('sharedSubscriptionGroup', 'needs MQTT 5 (protocolVersion 5)');
  }
  return {
    protocolVersion,
    url: options.url,
    clientId: options.clientId,
    routes: options.routes,
    username: options.username,
    password: options.password,
    tls: tlsOptions(options.tls),
    sharedSubscriptionGroup: group,
    sessionExpiryIntervalSeconds: requireInteger(
      'sessionExpiryIntervalSeconds',
      options.sessionExpiryIntervalSeconds ?? d.sessionExpiryIntervalSeconds,
      0,
      0xffff_ffff,
    ),
    keepaliveSeconds: requireInteger(
      'keepaliveSeconds',
      options.keepaliveSeconds ?? d.keepaliveSeconds,
      0,
      65_535,
    ),
    connectTimeoutMs: requireInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? d.connectTimeoutMs,
      1,
    ),
    reconnect: backoff('reconnect', options.reconnect, d.reconnect),
    stableConnectionMs: requireInteger(
      'stableConnectionMs',
      options.stableConnectionMs ?? d.stableConnectionMs,
      0,
    ),
    maxInFlightMessages: requireInteger(
      'maxInFlightMessages',
      options.maxInFlightMessages ?? d.maxInFlightMessages,
      1,
    ),
    maxInFlightBytes: requireInteger(
      'maxInFlightBytes',
      options.maxInFlightBytes ?? d.maxInFlightBytes,
      1,
    ),
    redelivery: backoff('redelivery', options.redelivery, d.redelivery),
    connectFailureLogIntervalMs: requireInteger(
      'connectFailureLogIntervalMs',
      options.connectFailureLogIntervalMs ?? d.connectFailureLogIntervalMs,
      0,
    ),
    name: options.name ?? d.name,
    logger: (options.logger ?? silentLogger).child({ component: 'mqtt-consumer' }),
    now: options.now ?? (() => new Date()),
  };
}
