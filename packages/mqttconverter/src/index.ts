export { mqttAttributes, mqttMessageAttributes } from './attributes.js';
export type { PublishFacts } from './attributes.js';
export type { BackoffOptions } from '@tributary/messagepipeline/kernel';
export { createMqttConsumer, mqttConsumerStatsDescription } from './consumer.js';
export type { MqttConsumer, MqttConsumerStats } from './consumer.js';
export { DEFAULT_MQTT_CONSUMER_OPTIONS } from './consumer-options.js';
export type { MqttConsumerOptions } from './consumer-options.js';
export { createRouter } from './router.js';
export type { RouteMatch, Router } from './router.js';
export {
  formatRouteProblem,
  loadRoutesFile,
  parseRoutes,
  RouteConfigError,
  validateRoutes,
} from './routes.js';
export type { Qos, Route, RouteDefinition, RouteProblem } from './routes.js';
export {
  createRouteProcessor,
  createRouteTransformer,
  DEFAULT_MAX_PAYLOAD_BYTES,
  routeDestinations,
} from './route-stage.js';
export type { RouteTransformerOptions } from './route-stage.js';
export { matchTopic, parseTopicTemplate } from './topic-template.js';
export type { TopicLevel, TopicTemplate, TopicTemplateResult } from './topic-template.js';
export type { MqttTlsOptions } from './tls-files.js';
