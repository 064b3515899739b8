import type { DeadLetterSink } from '../dead-letter.js';
import { InvalidArgumentError } from '../errors.js';
import { requireFunction, requireInteger, requireNumber } from '../kernel/validate.js';
import { silentLogger, type Logger } from '../logger.js';
import type { PipelineObserver } from '../observer.js';
import type { MessageConsumer } from '../ports.js';
import { resolveRetryOptions, type RetryOptions, type RetryPolicy } from '../retry.js';
import type { Transformer } from '../transformer.js';

/** Options both {@link createStreamingService} and {@link createBatchingService} take. */
export interface PipelineServiceOptions<T> {
  /** Stage name, attached to events, logs and dead letters (`error.stage`). */
  readonly stage: string;
  /** Where messages come from; the service starts and stops it. */
  readonly consumer: MessageConsumer;
  /** Turns each message into a payload, skips it, or fails it. */
  readonly transformer: Transformer<T>;
  /**
   * Where permanently failed messages go before they are acked. Without one, permanent failures
   * are nacked and logged, so a broker dead-letter policy (Pub/Sub `deadLetterPolicy`) can take
   * them after its delivery-attempt limit.
   */
  readonly deadLetter?: DeadLetterSink | undefined;
  /** In-process retry of transient failures (exponential backoff, full jitter). */
  readonly retry?: RetryOptions | undefined;
  /**
   * When set, a message whose `deliveryAttempt` is at least this and whose transient failure
   * outlasts the in-process retry budget is dead-lettered with code `ATTEMPTS_EXHAUSTED` instead
   * of nacked, so a poison message cannot loop forever. Match it to the subscription's own limit.
   * @defaultValue undefined (never: transient failures are always nacked)
   */
  readonly maxDeliveryAttempts?: number | undefined;
  /** Receives every {@link PipelineEvent}; events are only built when one is set. */
  readonly observer?: PipelineObserver | undefined;
  /** @defaultValue {@link silentLogger} */
  readonly logger?: Logger | undefined;
  /**
   * The stall threshold of `health()`: not ready when the consumer's oldest unsettled message
   * is older than this, or its intake has been paused at its limit this long (consumers that
   * report held work, as the Pub/Sub and MQTT ones do); for other consumers, when messages are
   * in flight and none settled for this long. @defaultValue 60_000
   */
  readonly progressTimeoutMs?: number | undefined;
}

/** The shared options with defaults applied. */
export interface ResolvedPipelineOptions<T> {
  readonly stage: string;
  readonly consumer: MessageConsumer;
  readonly transformer: Transformer<T>;
  readonly deadLetter: DeadLetterSink | undefined;
  readonly retry: RetryPolicy;
  readonly maxDeliveryAttempts: number;
  readonly observer: PipelineObserver | undefined;
  readonly logger: Logger;
  readonly progressTimeoutMs: number;
}

/** Default of {@link PipelineServiceOptions.progressTimeoutMs}. */
export const DEFAULT_PROGRESS_TIMEOUT_MS = 60_000;

/**
 * Validates and defaults the options every pipeline service shares.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function resolvePipelineOptions<T>(
  options: PipelineServiceOptions<T>,
  component: string,
): ResolvedPipelineOptions<T> {
  if (typeof options.stage !== 'string' || options.stage === '') {
    throw InvalidArgumentError.for('stage', 'must be a non-empty string');
  }
  const consumer = options.consumer as MessageConsumer | undefined;
  if (typeof consumer?.[Symbol.asyncIterator] !== 'function') {
    throw InvalidArgumentError.for('consumer', 'must be a MessageConsumer');
  }
  requireFunction('transformer', options.transformer);
  if (options.deadLetter !== undefined) {
    const sink: { readonly deadLetter?: unknown } = options.deadLetter;
    requireFunction('deadLetter.deadLetter', sink.deadLetter);
  }
  if (options.observer !== undefined) requireFunction('observer', options.observer);
  const maxDeliveryAttempts =
    options.maxDeliveryAttempts === undefined
      ? Infinity
      : requireInteger('maxDeliveryAttempts', options.maxDeliveryAttempts, 1);
  return {
    stage: options.stage,
    consumer: options.consumer,
    transformer: options.transformer,
    deadLetter: options.deadLetter,
    retry: resolveRetryOptions(options.retry),
    maxDeliveryAttempts,
    observer: options.observer,
    logger: (options.logger ?? silentLogger).child({ component, stage: options.stage }),
    progressTimeoutMs: requireNumber(
      'progressTimeoutMs',
      options.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS,
      1,
    ),
  };
}
