import {
  createDeadLetterPublisher,
  createStreamingService,
  type Logger,
  type MessageProducer,
  type PipelineObserver,
  type StreamingService,
  type Transport,
  type TransportProducer,
} from '@tributary/messagepipeline';
import {
  createMqttConsumer,
  createRouteProcessor,
  createRouteTransformer,
  routeDestinations,
  type MqttConsumer,
  type Route,
} from '@tributary/mqttconverter';
import type { IngestionConfig } from './config.js';

/** The wired parts of the ingestion app. */
export interface Ingestion<P extends TransportProducer = TransportProducer> {
  readonly consumer: MqttConsumer;
  /** One producer per destination topic. */
  readonly producers: ReadonlyMap<string, P>;
  readonly deadLetterProducer: P;
  readonly service: StreamingService;
}

/** Collaborators the composition root passes in. */
export interface IngestionDeps<P extends TransportProducer = TransportProducer> {
  readonly routes: readonly Route[];
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** Where the messages go: Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport<P>;
}

/**
 * MQTT consumer, then a StreamingService (transform: route lookup and size check; process:
 * publish to the route's topic), whose ack is the PUBACK. Oversized and unroutable messages go to the
 * dead-letter topic, then are acked.
 */
export function buildIngestion<P extends TransportProducer>(
  config: IngestionConfig,
  deps: IngestionDeps<P>,
): Ingestion<P> {
  const { routes, logger, transport } = deps;
  const producerOptions = {
    batching: {
      maxMessages: config.PUBSUB_BATCH_MAX_MESSAGES,
      maxMilliseconds: config.PUBSUB_BATCH_MAX_MS,
    },
    logger,
  };
  const producers = new Map<string, P>();
  for (const destination of routeDestinations(routes)) {
    // A missing route topic holds its messages (unacknowledged, never dead-lettered) and turns
    // /readyz 503 until the topic exists.
    producers.set(
      destination,
      transport.producer({
        ...producerOptions,
        topic: destination,
        checkExistence: config.CHECK_TOPICS && 'report',
      }),
    );
  }
  // Without its dead-letter topic the app cannot keep its contract: a startup failure.
  const deadLetterProducer = transport.producer({
    ...producerOptions,
    topic: config.DEAD_LETTER_TOPIC,
    checkExistence: config.CHECK_TOPICS,
  });
  const consumer = createMqttConsumer({
    url: config.MQTT_URL,
    clientId: config.MQTT_CLIENT_ID,
    routes,
    username: config.MQTT_USERNAME,
    password: config.MQTT_PASSWORD,
    tls: {
      caFile: config.MQTT_TLS_CA_FILE,
      certFile: config.MQTT_TLS_CERT_FILE,
      keyFile: config.MQTT_TLS_KEY_FILE,
      rejectUnauthorized: config.MQTT_TLS_REJECT_UNAUTHORIZED,
    },
    sharedSubscriptionGroup: config.MQTT_SHARED_GROUP,
    sessionExpiryIntervalSeconds: config.MQTT_SESSION_EXPIRY_SECONDS,
    protocolVersion: config.MQTT_PROTOCOL_VERSION,
    keepaliveSeconds: config.MQTT_KEEPALIVE_SECONDS,
    connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_MS,
    reconnect: {
      initialDelayMs: config.MQTT_RECONNECT_MIN_MS,
      maxDelayMs: config.MQTT_RECONNECT_MAX_MS,
    },
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    logger,
  });
  const byDestination: ReadonlyMap<string, MessageProducer> = producers;
  const service = createStreamingService({
    stage: 'ingestion',
    consumer,
    transformer: createRouteTransformer({ routes, maxPayloadBytes: config.MAX_PAYLOAD_BYTES }),
    processor: createRouteProcessor(byDestination),
    // A dead letter always fits Pub/Sub's limits; an oversized payload is cut to the limit.
    deadLetter: createDeadLetterPublisher(deadLetterProducer, {
      sourceSubscription: `mqtt:${config.MQTT_CLIENT_ID}`,
      maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    }),
    concurrency: config.CONCURRENCY,
    // The consumer bounds what is unacknowledged (MAX_IN_FLIGHT_*); the service holds all of it.
    maxInFlightMessages: Infinity,
    maxInFlightBytes: Infinity,
    observer: deps.observer,
    logger,
    progressTimeoutMs: config.STALL_AFTER_MS,
  });
  return { consumer, producers, deadLetterProducer, service };
}
