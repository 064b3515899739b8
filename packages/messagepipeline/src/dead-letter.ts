import type { TributaryError } from './errors.js';
import { attributeProblem, fitsBytes, PUBSUB_LIMITS, type MessageLimits } from './limits.js';
import type { Message } from './message.js';
import type { MessageProducer, OutgoingMessage } from './ports.js';

/** Where permanently failed messages go, with the reason attached. */
export interface DeadLetterSink {
  /** Resolves once the dead letter is durable; only then may the original be acked. */
  deadLetter(message: Message, error: TributaryError, stage: string): Promise<void>;
}

/** Options for {@link createDeadLetterPublisher}. */
export interface DeadLetterPublisherOptions {
  /** Recorded as `source.subscription`, so a dead letter can be traced and replayed. */
  readonly sourceSubscription?: string | undefined;
  /**
   * What the dead-letter destination accepts; every dead letter is made to fit it.
   * @defaultValue {@link PUBSUB_LIMITS}
   */
  readonly limits?: MessageLimits | undefined;
  /**
   * Longest payload a dead letter carries, in bytes; a longer one is cut to this and marked
   * `payload.truncated: true`, `payload.bytes: <original size>`.
   * @defaultValue `limits.maxDataBytes` less 1 MiB (room for attributes moved into the data)
   */
  readonly maxPayloadBytes?: number | undefined;
  /** @defaultValue `() => new Date()` */
  readonly now?: (() => Date) | undefined;
}

/** The attributes a dead letter carries besides the original ones that fit. */
export const deadLetterAttributes = {
  code: 'error.code',
  message: 'error.message',
  stage: 'error.stage',
  at: 'error.at',
  subscription: 'source.subscription',
  /** `true` when the data holds only the first `maxPayloadBytes` of the payload. */
  truncated: 'payload.truncated',
  /** The payload's size before truncation, in bytes. */
  payloadBytes: 'payload.bytes',
  /** `true` when the data is the {@link DeadLetterWrapper} JSON object. */
  wrapped: 'payload.wrapped',
} as const;

/**
 * The data of a dead letter whose original attributes or ordering key did not fit the
 * destination's limits (too many, a key or value too long): they travel here, beside the
 * payload, so nothing is lost. Marked by the attribute `payload.wrapped: true`.
 */
export interface DeadLetterWrapper {
  /** The original attributes that did not fit as attributes. */
  readonly attributes: Readonly<Record<string, string>>;
  /** The original ordering key, when it was too long to keep. */
  readonly orderingKey?: string;
  /** The payload, when it is JSON. */
  readonly payload?: unknown;
  /** The payload, base64, when it is not JSON. */
  readonly payloadBase64?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Cuts `text` to at most `limit` UTF-8 bytes without splitting a character. */
function cutToBytes(text: string, limit: number): string {
  if (fitsBytes(text, limit)) return text;
  let out = text.slice(0, limit);
  while (!fitsBytes(out, limit)) out = out.slice(0, -1);
  return out;
}

function wrapperPayload(
  data: Uint8Array,
  truncated: boolean,
): Pick<DeadLetterWrapper, 'payload' | 'payloadBase64'> {
  if (!truncated) {
    try {
      return { payload: JSON.parse(decoder.decode(data)) as unknown };
    } catch {
      // not JSON (or not UTF-8): carried as base64 below
    }
  }
  return { payloadBase64: Buffer.from(data).toString('base64') };
}

/**
 * Builds the dead letter of `message`: its payload (cut to `maxPayloadBytes`) and the original
 * attributes that fit, plus the error attributes; original attributes or an ordering key over
 * the limits move into a {@link DeadLetterWrapper}. The result always fits `limits`, so the dead
 * letter of a message the destination refused cannot be refused for the same reason.
 */
export function buildDeadLetter(
  message: Message,
  error: TributaryError,
  stage: string,
  options: DeadLetterPublisherOptions = {},
): OutgoingMessage {
  const limits = options.limits ?? PUBSUB_LIMITS;
  const maxPayloadBytes = options.maxPayloadBytes ?? Math.max(0, limits.maxDataBytes - 1024 * 1024);
  const own: Record<string, string> = {
    [deadLetterAttributes.code]: error.code,
    [deadLetterAttributes.message]: cutToBytes(error.message, limits.maxAttributeValueBytes),
    [deadLetterAttributes.stage]: cutToBytes(stage, limits.maxAttributeValueBytes),
    [deadLetterAttributes.at]: (options.now?.() ?? new Date()).toISOString(),
  };
  if (options.sourceSubscription !== undefined) {
    own[deadLetterAttributes.subscription] = cutToBytes(
      options.sourceSubscription,
      limits.maxAttributeValueBytes,
    );
  }
  let data = message.data;
  const truncated = data.byteLength > maxPayloadBytes;
  if (truncated) {
    own[deadLetterAttributes.truncated] = 'true';
    own[deadLetterAttributes.payloadBytes] = String(data.byteLength);
    data = data.subarray(0, maxPayloadBytes);
  }
  // Room for the original attributes, keeping one for the `payload.wrapped` marker.
  const room = limits.maxAttributes - Object.keys(own).length - 1;
  const kept: Record<string, string> = {};
  const spilled: Record<string, string> = {};
  let keptCount = 0;
  for (const key in message.attributes) {
    const value = message.attributes[key] ?? '';
    if (key in own) continue; // an earlier dead letter's error attributes: ours replace them
    if (keptCount < room && attributeProblem(key, value, limits) === undefined) {
      kept[key] = value;
      keptCount++;
    } else {
      spilled[key] = value;
    }
  }
  let orderingKey = message.orderingKey;
  let spilledOrderingKey: string | undefined;
  if (orderingKey !== undefined && !fitsBytes(orderingKey, limits.maxOrderingKeyBytes)) {
    spilledOrderingKey = orderingKey;
    orderingKey = undefined;
  }
  if (Object.keys(spilled).length > 0 || spilledOrderingKey !== undefined) {
    const wrapper: DeadLetterWrapper = {
      attributes: spilled,
      ...(spilledOrderingKey === undefined ? {} : { orderingKey: spilledOrderingKey }),
      ...wrapperPayload(data, truncated),
    };
    data = encoder.encode(JSON.stringify(wrapper));
    own[deadLetterAttributes.wrapped] = 'true';
  }
  return { data, attributes: { ...kept, ...own }, orderingKey };
}

/**
 * A {@link DeadLetterSink} that publishes {@link buildDeadLetter}'s dead letter (the original
 * data and attributes plus `error.code`, `error.message`, `error.stage`, `error.at` and
 * `source.subscription`, made to fit the destination's limits) to any producer.
 */
export function createDeadLetterPublisher(
  producer: MessageProducer,
  options: DeadLetterPublisherOptions = {},
): DeadLetterSink {
  return {
    async deadLetter(message, error, stage) {
      await producer.publish(buildDeadLetter(message, error, stage, options));
    },
  };
}
