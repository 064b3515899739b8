import type { TributaryError } from './errors.js';
import type { Message } from './message.js';
import type { MessageProducer } from './ports.js';

/** Where permanently failed messages go, with the reason attached. */
export interface DeadLetterSink {
  /** Resolves once the dead letter is durable; only then may the original be acked. */
  deadLetter(message: Message, error: TributaryError, stage: string): Promise<void>;
}

/** Options for {@link createDeadLetterPublisher}. */
export interface DeadLetterPublisherOptions {
  /** Recorded as `source.subscription`, so a dead letter can be traced and replayed. */
  readonly sourceSubscription?: string | undefined;
  /** Longest `error.message` attribute kept, in characters. @defaultValue 1024 */
  readonly maxErrorMessageLength?: number | undefined;
  /** @defaultValue `() => new Date()` */
  readonly now?: (() => Date) | undefined;
}

/** The attributes a dead letter carries besides the original ones. */
export const deadLetterAttributes = {
  code: 'error.code',
  message: 'error.message',
  stage: 'error.stage',
  at: 'error.at',
  subscription: 'source.subscription',
} as const;

/**
 * A {@link DeadLetterSink} that publishes the original data and attributes, plus `error.code`,
 * `error.message`, `error.stage`, `error.at` and `source.subscription`, to any producer.
 */
export function createDeadLetterPublisher(
  producer: MessageProducer,
  options: DeadLetterPublisherOptions = {},
): DeadLetterSink {
  const maxLength = options.maxErrorMessageLength ?? 1024;
  const now = options.now ?? (() => new Date());
  return {
    async deadLetter(message, error, stage) {
      const attributes: Record<string, string> = {
        ...message.attributes,
        [deadLetterAttributes.code]: error.code,
        [deadLetterAttributes.message]: error.message.slice(0, maxLength),
        [deadLetterAttributes.stage]: stage,
        [deadLetterAttributes.at]: now().toISOString(),
      };
      if (options.sourceSubscription !== undefined) {
        attributes[deadLetterAttributes.subscription] = options.sourceSubscription;
      }
      await producer.publish({
        data: message.data,
        attributes,
        orderingKey: message.orderingKey,
      });
    },
  };
}
