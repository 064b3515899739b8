import {
  deadLetterAttributes,
  type Logger,
  type Service,
  type TransportConsumer,
} from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';

/** The dead-letter topic's messages so far, by stage and reason (`error.code`). */
export interface DeadLetterCounts extends Service {
  total(): number;
  /** `stage → code → count`. */
  byStage(): ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** How many dead letters `stage` sent. */
  ofStage(stage: string): number;
}

/**
 * Reads the dead-letter subscription and counts each message by its `error.stage` and
 * `error.code` attributes, then acks it: the one place every stage's dead letters meet.
 */
export function countDeadLetters(consumer: TransportConsumer, logger: Logger): DeadLetterCounts {
  const counts = new Map<string, Map<string, number>>();
  let total = 0;
  let reading: Promise<void> | undefined;
  const lifecycle = new Lifecycle('dead-letter counter', {
    start: async () => {
      await consumer.start();
      reading = (async () => {
        for await (const message of consumer) {
          const stage = message.attributes[deadLetterAttributes.stage] ?? 'unknown';
          const code = message.attributes[deadLetterAttributes.code] ?? 'unknown';
          const ofStage = counts.get(stage) ?? new Map<string, number>();
          ofStage.set(code, (ofStage.get(code) ?? 0) + 1);
          counts.set(stage, ofStage);
          total += 1;
          message.ack();
        }
      })().catch((error: unknown) => {
        logger.error({ err: error }, 'reading the dead-letter subscription failed');
      });
    },
    stop: async (timeoutMs) => {
      await consumer.stop({ timeoutMs });
      await reading;
    },
  });
  return {
    total: () => total,
    byStage: () => counts,
    ofStage: (stage) => [...(counts.get(stage)?.values() ?? [])].reduce((a, b) => a + b, 0),
    start: () => lifecycle.start(),
    stop: (options) => lifecycle.stop(options),
    done: lifecycle.done,
  };
}
