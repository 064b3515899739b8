import {
  encodeEnvelope,
  PUBSUB_LIMITS,
  TributaryError,
  emit,
  type MessageProducer,
  type StreamProcessor,
  type Transformer,
} from '@tributary/messagepipeline';
import { requireInteger } from '@tributary/messagepipeline/kernel';
import { mqttAttributes } from './attributes.js';
import type { Route } from './routes.js';

/** Options for {@link createRouteTransformer}. */
export interface RouteTransformerOptions {
  readonly routes: readonly Route[];
  /**
   * Larger payloads are dead-lettered as `PAYLOAD_TOO_LARGE` (Pub/Sub accepts 10 MB per message).
   * @defaultValue 1_048_576 (1 MiB)
   */
  readonly maxPayloadBytes?: number | undefined;
}

/** The default of {@link RouteTransformerOptions.maxPayloadBytes}. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * A transformer for a StreamingService fed by an MQTT consumer: it emits the message's route,
 * and fails permanently (so the service dead-letters the message, then acks it) when the
 * payload is larger than `maxPayloadBytes` (`PAYLOAD_TOO_LARGE`) or no route accepted the topic
 * (`UNROUTABLE`: typically a subscription left in the persistent session by an older routes file).
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createRouteTransformer(options: RouteTransformerOptions): Transformer<Route> {
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  requireInteger('maxPayloadBytes', maxBytes, 1, PUBSUB_LIMITS.maxDataBytes);
  const byName = new Map(options.routes.map((route) => [route.name, route]));
  return (message) => {
    const topic = message.attributes[mqttAttributes.topic] ?? '';
    if (message.data.byteLength > maxBytes) {
      throw TributaryError.permanent(
        'PAYLOAD_TOO_LARGE',
        `payload of ${message.data.byteLength} bytes on '${topic}' exceeds ${maxBytes} bytes`,
      );
    }
    const name = message.attributes[mqttAttributes.route];
    const route = name === undefined ? undefined : byName.get(name);
    if (route === undefined) {
      throw TributaryError.permanent('UNROUTABLE', `no route accepts MQTT topic '${topic}'`);
    }
    return emit(route);
  };
}

/**
 * A processor that publishes each message (payload bytes as they came, attributes as they are)
 * to its route's destination; resolving means Pub/Sub confirmed it, and only then is the MQTT
 * message acknowledged.
 * @param producers - one producer per destination, keyed by {@link Route.destination}.
 */
export function createRouteProcessor(
  producers: ReadonlyMap<string, MessageProducer>,
): StreamProcessor<Route> {
  return async ({ message, payload: route }, signal) => {
    const producer = producers.get(route.destination);
    if (producer === undefined) {
      // A wiring mistake, not the message's fault: never dead-letter it as unroutable.
      throw TributaryError.destination(
        'NOT_FOUND',
        `no producer for destination '${route.destination}' of route '${route.name}'`,
      );
    }
    await producer.publish(encodeEnvelope(message), { signal });
  };
}

/** The distinct destinations of some routes, in first-use order. */
export function routeDestinations(routes: readonly Route[]): readonly string[] {
  return [...new Set(routes.map((route) => route.destination))];
}
