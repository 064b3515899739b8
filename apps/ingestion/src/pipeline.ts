import { PubSub } from '@google-cloud/pubsub';
import {
  createDeadLetterPublisher,
  createStreamingService,
  type Logger,
  type MessageProducer,
  type PipelineObserver,
  type StreamingService,
} from '@tributary/messagepipeline';
import { createPubSubProducer, type PubSubProducer } from '@tributary/messagepipeline/pubsub';
import {
  createMqttConsumer,
  createRouteProcessor,
  createRouteTransformer,
  routeDestinations,
  truncateDeadLetters,
  type MqttConsumer,
  type Route,
} from '@tributary/mqttconverter';
import type { IngestionConfig } from './config.js';

/** The wired parts of the ingestion app. */
export interface Ingestion {
  readonly pubsub: PubSub;
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
    producers.set(
      destination,
      createPubSubProducer({ ...producerOptions, topicName: destination }),
    );
  }
  const deadLetterProducer = createPubSubProducer({
    ...producerOptions,
    topicName: config.DEAD_LETTER_TOPIC,
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
    deadLetter: truncateDeadLetters(
      createDeadLetterPublisher(deadLetterProducer, {
        sourceSubscription: `mqtt:${config.MQTT_CLIENT_ID}`,
      }),
      config.MAX_PAYLOAD_BYTES,
    ),
    concurrency: config.CONCURRENCY,
    // The consumer bounds what is unacknowledged; the service must be able to hold all of it.
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    observer: deps.observer,
    logger,
    progressTimeoutMs: config.STALL_AFTER_MS,
  });
  return { pubsub, consumer, producers, deadLetterProducer, service };
}
