import { PubSub } from '@google-cloud/pubsub';
import {
  createDeadLetterPublisher,
  createStreamingService,
  type Logger,
  type MessageProducer,
  type PipelineObserver,
  type Service,
  type StreamingService,
} from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';
import { createPubSubProducer, type PubSubProducer } from '@tributary/messagepipeline/pubsub';
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
export interface Ingestion {
  readonly pubsub: PubSub;
  /** Closes the Pub/Sub client on stop, when this function created it; start it first, stop it last. */
  readonly client: Service;
  readonly consumer: MqttConsumer;
  /** One producer per destination topic, plus the dead-letter producer. */
  readonly producers: ReadonlyMap<string, PubSubProducer>;
  readonly deadLetterProducer: PubSubProducer;
  readonly service: StreamingService;
}

/** Collaborators the composition root passes in. */
export interface IngestionDeps {
  readonly routes: readonly Route[];
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** @defaultValue a client for `GOOGLE_CLOUD_PROJECT` */
  readonly pubsub?: PubSub | undefined;
}

/**
 * MQTT consumer, then a StreamingService (transform: route lookup and size check; process:
 * publish to the route's topic), whose ack is the PUBACK. Oversized and unroutable messages go to the
 * dead-letter topic, then are acked.
 */
export function buildIngestion(config: IngestionConfig, deps: IngestionDeps): Ingestion {
  const { routes, logger } = deps;
  const pubsub = deps.pubsub ?? new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const producerOptions = {
    pubsub,
    batching: {
      maxMessages: config.PUBSUB_BATCH_MAX_MESSAGES,
      maxMilliseconds: config.PUBSUB_BATCH_MAX_MS,
    },
    logger,
  };
  const producers = new Map<string, PubSubProducer>();
  for (const destination of routeDestinations(routes)) {
    // A missing route topic holds its messages (unacknowledged, never dead-lettered) and turns
    // /readyz 503 until the topic exists.
    producers.set(
      destination,
      createPubSubProducer({
        ...producerOptions,
        topicName: destination,
        checkExistence: config.CHECK_TOPICS && 'report',
      }),
    );
  }
  // Without its dead-letter topic the app cannot keep its contract: a startup failure.
  const deadLetterProducer = createPubSubProducer({
    ...producerOptions,
    topicName: config.DEAD_LETTER_TOPIC,
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
  const owned = deps.pubsub === undefined;
  const lifecycle = new Lifecycle('pubsub client', {
    stop: () => (owned ? pubsub.close() : undefined),
  });
  const client: Service = {
    start: () => lifecycle.start(),
    stop: (options) => lifecycle.stop(options),
    done: lifecycle.done,
  };
  return { pubsub, client, consumer, producers, deadLetterProducer, service };
}
