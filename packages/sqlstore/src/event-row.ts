import {
  decodeEnvelope,
  emit,
  TributaryError,
  type Message,
  type Transformer,
} from '@tributary/messagepipeline';

/** One row of the event table. */
export interface EventRow {
  /** The event id: the primary key, so a redelivered event cannot make a second row. */
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly userId: string | null;
  /** The event's `data` as JSON text. */
  readonly data: string;
  /** The event's own `timestamp`, else the publish time. */
  readonly createdAt: Date;
  /** When the event entered the system: the `received_at` attribute, else the publish time. */
  readonly receivedAt: Date;
}

/** The attributes {@link eventRowTransformer} reads besides the payload. */
export const eventAttributes = Object.freeze({
  /** The event id (`Idempotency-Key` or the event's `id`), set by http-ingest. */
  id: 'event_id',
  type: 'type',
  source: 'source',
  /** RFC 3339 time the event was received. */
  receivedAt: 'received_at',
});

const decoder = new TextDecoder('utf-8', { fatal: true });

function invalid(message: Message, problem: string): TributaryError {
  return TributaryError.permanent('INVALID_PAYLOAD', `message ${message.id}: ${problem}`);
}

function time(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Maps a message to an {@link EventRow}. The payload (unwrapped from a Tributary or Go envelope)
 * must be a JSON object `{type, source, data?, id?, timestamp?, user_id?}`, the shape
 * http-ingest publishes. The id is the payload's `id`, else the `event_id` attribute, else the
 * transport's message id. Anything else is a permanent `INVALID_PAYLOAD` (dead-lettered).
 * Column sizes are left to the database: a value too long fails its row there, alone.
 */
export function toEventRow(message: Message): EventRow {
  const unwrapped = decodeEnvelope(message);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(unwrapped.data));
  } catch {
    throw invalid(message, 'payload is not UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(message, 'payload is not a JSON object');
  }
  const event = parsed as Record<string, unknown>;
  const attributes = message.attributes;
  const type = event['type'] ?? attributes[eventAttributes.type];
  const source = event['source'] ?? attributes[eventAttributes.source];
  if (typeof type !== 'string' || type === '')
    throw invalid(message, '"type" must be a non-empty string');
  if (typeof source !== 'string' || source === '') {
    throw invalid(message, '"source" must be a non-empty string');
  }
  const id = event['id'] ?? attributes[eventAttributes.id] ?? message.id;
  if (typeof id !== 'string' || id === '')
    throw invalid(message, '"id" must be a non-empty string');
  const userId = event['user_id'];
  if (
    userId !== undefined &&
    userId !== null &&
    typeof userId !== 'string' &&
    typeof userId !== 'number'
  ) {
    throw invalid(message, '"user_id" must be a string or a number');
  }
  const receivedAt = time(attributes[eventAttributes.receivedAt]) ?? message.publishTime;
  return {
    id,
    type,
    source,
    userId: userId === undefined || userId === null ? null : String(userId),
    data: JSON.stringify(event['data'] ?? null),
    createdAt: time(event['timestamp']) ?? receivedAt,
    receivedAt,
  };
}

/** {@link toEventRow} as a pipeline transformer. */
export const eventRowTransformer: Transformer<EventRow> = (message) => emit(toEventRow(message));
