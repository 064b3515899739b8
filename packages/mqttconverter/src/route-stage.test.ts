import {
  createMessage,
  isTributaryError,
  type MessageProducer,
  type OutgoingMessage,
} from '@tributary/messagepipeline';
import { createInMemoryBroker } from '@tributary/messagepipeline/broker';
import { describe, expect, it } from 'vitest';
import { mqttAttributes } from './attributes.js';
import { createRouteProcessor, createRouteTransformer, routeDestinations } from './route-stage.js';
import { parseRoutes } from './routes.js';

const routes = parseRoutes(`routes:
  - { name: a, topic: "a/{id}", destination: topic-a }
  - { name: b, topic: "b/#", destination: topic-b }
  - { name: c, topic: "c/#", destination: topic-a }
`);
const encoder = new TextEncoder();
const signal = new AbortController().signal;

function message(route: string | undefined, payload = '{"v":1}') {
  return createMessage({
    id: 'm',
    data: encoder.encode(payload),
    attributes: {
      [mqttAttributes.topic]: 'a/1',
      ...(route === undefined ? {} : { [mqttAttributes.route]: route }),
    },
  });
}

describe('route stage', () => {
  it('lists each destination once, in first-use order', () => {
    expect(routeDestinations(routes)).toEqual(['topic-a', 'topic-b']);
  });

  it('emits the route named by the consumer, and fails UNROUTABLE or PAYLOAD_TOO_LARGE', () => {
    const transform = createRouteTransformer({ routes, maxPayloadBytes: 8 });
    expect(transform(message('b'), signal)).toEqual({ kind: 'emit', value: routes[1] });
    const failure = (m: ReturnType<typeof message>): unknown => {
      try {
        void transform(m, signal); // synchronous: it throws or emits
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(failure(message(undefined))).toMatchObject({ code: 'UNROUTABLE', retriable: false });
    expect(failure(message('gone'))).toMatchObject({ code: 'UNROUTABLE' });
    const big = failure(message('a', '{"v":123456789}'));
    expect(isTributaryError(big)).toBe(true);
    expect(big).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', retriable: false });
  });

  it('refuses a payload limit Pub/Sub could not take', () => {
    expect(() => createRouteTransformer({ routes, maxPayloadBytes: 10_000_001 })).toThrow(
      /maxPayloadBytes/,
    );
  });

  it('publishes to the route destination, payload and attributes unchanged', async () => {
    const broker = createInMemoryBroker();
    broker.createTopic('topic-b');
    const published: OutgoingMessage[] = [];
    const real = broker.producer('topic-b');
    const recording: MessageProducer = {
      ...real,
      name: real.name,
      start: () => real.start(),
      stop: (options) => real.stop(options),
      done: real.done,
      flush: () => real.flush(),
      publish: (outgoing, options) => {
        published.push(outgoing);
        return real.publish(outgoing, options);
      },
    };
    const process = createRouteProcessor(new Map([['topic-b', recording]]));
    const input = message('b', '{"v":2}');
    await process({ message: input, payload: routes[1] ?? routes[0]! }, signal);
    expect(published).toHaveLength(1);
    // No enrichment: the payload travels as it came (envelope v1 wraps only enriched data).
    expect(new TextDecoder().decode(published[0]?.data)).toBe('{"v":2}');
    expect(published[0]?.attributes).toEqual(input.attributes);
    await broker.close();
  });

  it('holds a message whose destination has no producer: a wiring mistake, not the message', async () => {
    const process = createRouteProcessor(new Map());
    await expect(
      process({ message: message('a'), payload: routes[0]! }, signal),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', destination: true });
  });
});
