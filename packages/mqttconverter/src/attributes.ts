import type { Attributes } from '@tributary/messagepipeline';
import type { RouteMatch } from './router.js';

/**
 * The attributes every MQTT message carries. Parameters a route template lifts
 * (`devices/{deviceId}/telemetry`) are added under their own names (`deviceId`).
 */
export const mqttAttributes = {
  /** The concrete topic the message was published to. */
  topic: 'mqtt.topic',
  /** The name of the route that accepted it; absent when no route did. */
  route: 'mqtt.route',
  /** The QoS it was delivered with: `0`, `1` or `2`. */
  qos: 'mqtt.qos',
  /** `true` when the broker delivered a retained message. */
  retain: 'mqtt.retain',
  /** `true` when the broker flagged a redelivery (DUP). */
  dup: 'mqtt.dup',
  /** When this process received it, ISO 8601 UTC. */
  receivedAt: 'mqtt.receivedAt',
} as const;

/** What {@link mqttMessageAttributes} needs from an MQTT PUBLISH. */
export interface PublishFacts {
  readonly topic: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly dup: boolean;
}

/** Builds the attributes of a received MQTT message. Pure. */
export function mqttMessageAttributes(
  publish: PublishFacts,
  match: RouteMatch | undefined,
  receivedAt: Date,
): Attributes {
  const attributes: Record<string, string> = {};
  if (match !== undefined) {
    for (const [name, value] of Object.entries(match.params)) attributes[name] = value;
    attributes[mqttAttributes.route] = match.route.name;
  }
  attributes[mqttAttributes.topic] = publish.topic;
  attributes[mqttAttributes.qos] = String(publish.qos);
  attributes[mqttAttributes.retain] = String(publish.retain);
  attributes[mqttAttributes.dup] = String(publish.dup);
  attributes[mqttAttributes.receivedAt] = receivedAt.toISOString();
  return attributes;
}
