import * as z from 'zod';

/** An id or idempotency key: printable ASCII, because the SQL sink keys rows on it. */
export const EventId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
  .describe('Event id, 1-128 printable ASCII characters; the de-duplication key downstream');

const Name = z.string().min(1).max(128);

/** One event, as a client sends it: seed 003's `{type, source, data}` plus optional fields. */
export const IncomingEvent = z.strictObject({
  id: EventId.optional(),
  type: Name.describe('What happened, such as user_action'),
  source: Name.describe('Who sent it, such as web'),
  data: z.record(z.string(), z.unknown()).describe('The event body, any JSON object'),
  timestamp: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('When it happened (RFC 3339); defaults to the receive time downstream'),
  user_id: z
    .union([Name, z.number().int()])
    .optional()
    .describe('The user it concerns, for per-user queries'),
});

/** The parsed event. */
export type IncomingEvent = z.infer<typeof IncomingEvent>;

/** `POST /events/batch`: the envelope; its events are checked one by one. */
export function batchSchema(maxEvents: number) {
  return z.strictObject({
    events: z.array(z.unknown()).min(1).max(maxEvents).describe(`1 to ${maxEvents} events`),
  });
}

/** One problem of a request body: where (a dotted path, `''` for the body) and what. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** zod's issues as {@link FieldError}s, with paths relative to `prefix`. */
export function fieldErrors(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldError[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.'),
    message: issue.message,
  }));
}
