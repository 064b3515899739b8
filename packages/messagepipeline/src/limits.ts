import type { Attributes } from './message.js';

/** What a destination accepts in one message, checked before publishing. */
export interface MessageLimits {
  /** Largest `data`, in bytes. */
  readonly maxDataBytes: number;
  /** Most attributes on one message. */
  readonly maxAttributes: number;
  /** Longest attribute key, in UTF-8 bytes. */
  readonly maxAttributeKeyBytes: number;
  /** Longest attribute value, in UTF-8 bytes. */
  readonly maxAttributeValueBytes: number;
  /** Longest ordering key, in UTF-8 bytes. */
  readonly maxOrderingKeyBytes: number;
}

/**
 * Pub/Sub's per-message limits (cloud.google.com/pubsub/quotas): 10 MB of data, 100 attributes,
 * keys of 256 bytes, values of 1,024 bytes, ordering keys of 1,024 bytes. The emulator accepts
 * more (2,000-byte values); the service answers INVALID_ARGUMENT, so they are checked here.
 */
export const PUBSUB_LIMITS: MessageLimits = Object.freeze({
  maxDataBytes: 10_000_000,
  maxAttributes: 100,
  maxAttributeKeyBytes: 256,
  maxAttributeValueBytes: 1_024,
  maxOrderingKeyBytes: 1_024,
});

/** UTF-8 bytes of `text` at most `limit`; counts only when the UTF-16 length cannot tell. */
export function fitsBytes(text: string, limit: number): boolean {
  if (text.length * 3 <= limit) return true; // a UTF-16 unit is at most 3 UTF-8 bytes
  if (text.length > limit) return false; // a UTF-16 unit is at least 1 UTF-8 byte
  return Buffer.byteLength(text, 'utf8') <= limit;
}

/** What is wrong with one attribute under `limits`, or `undefined` when it fits. */
export function attributeProblem(
  key: string,
  value: string,
  limits: MessageLimits,
): string | undefined {
  const given: unknown = value;
  if (typeof given !== 'string') return `attribute '${key}' is a ${typeof given}, not a string`;
  if (!fitsBytes(key, limits.maxAttributeKeyBytes)) {
    return `attribute key '${key.slice(0, 64)}…' has ${Buffer.byteLength(key)} bytes; at most ${limits.maxAttributeKeyBytes} are allowed`;
  }
  if (!fitsBytes(value, limits.maxAttributeValueBytes)) {
    return `attribute '${key}' has a value of ${Buffer.byteLength(value)} bytes; at most ${limits.maxAttributeValueBytes} are allowed`;
  }
  return undefined;
}

/**
 * What is wrong with a message under `limits`, naming the part and the limit, or `undefined`
 * when it fits. The data problem comes first, then the attribute count, then the first
 * attribute or the ordering key that is too long.
 */
export function messageLimitProblem(
  message: {
    readonly data: Uint8Array;
    readonly attributes?: Attributes | undefined;
    readonly orderingKey?: string | undefined;
  },
  limits: MessageLimits,
): string | undefined {
  if (message.data.byteLength > limits.maxDataBytes) {
    return `data of ${message.data.byteLength} bytes exceeds ${limits.maxDataBytes} bytes`;
  }
  const attributes = message.attributes;
  if (attributes !== undefined) {
    let count = 0;
    for (const key in attributes) {
      count++;
      const problem = attributeProblem(key, attributes[key] ?? '', limits);
      if (problem !== undefined) return problem;
    }
    if (count > limits.maxAttributes) {
      return `${count} attributes; at most ${limits.maxAttributes} are allowed`;
    }
  }
  const orderingKey = message.orderingKey;
  if (orderingKey !== undefined && !fitsBytes(orderingKey, limits.maxOrderingKeyBytes)) {
    return `ordering key of ${Buffer.byteLength(orderingKey)} bytes exceeds ${limits.maxOrderingKeyBytes} bytes`;
  }
  return undefined;
}
