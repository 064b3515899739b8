import * as z from 'zod';
import { batchSchema, IncomingEvent } from './event-schema.js';

/** What the OpenAPI document needs to know of the configuration. */
export interface OpenApiOptions {
  readonly maxEvents: number;
  readonly maxBodyBytes: number;
  readonly apiKeys: boolean;
  readonly oidc: boolean;
}

const FieldErrorSchema = z.object({ path: z.string(), message: z.string() });
const ErrorDetail = z.object({
  code: z.string(),
  message: z.string(),
  fields: z.array(FieldErrorSchema).optional(),
});
const ErrorBody = z.object({ error: ErrorDetail });
const Accepted = z.object({
  id: z.string(),
  messageId: z.string(),
  duplicate: z.boolean().optional(),
});
const BatchResult = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  failed: z.number().int(),
  results: z.array(
    z.object({
      index: z.number().int(),
      id: z.string().optional(),
      status: z.enum(['accepted', 'rejected', 'failed']),
      messageId: z.string().optional(),
      duplicate: z.boolean().optional(),
      error: ErrorDetail.optional(),
    }),
  ),
});

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Schema error: `error.fields` lists each field path',
  401: 'No credentials, or unknown ones',
  403: 'Authenticated, but not allowed',
  413: 'Body larger than the limit',
  415: 'Content type is not application/json',
  429: 'Too many requests in flight: retry after `Retry-After` seconds',
  503: 'Not ready (starting, draining) or Pub/Sub unavailable: retry after `Retry-After` seconds',
};

const errors = (statuses: readonly number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      json(ref('Error'), ERROR_DESCRIPTIONS[status] ?? 'Error'),
    ]),
  );

/**
 * The OpenAPI 3.0 document of the API, generated from the same zod schemas that validate the
 * requests (`z.toJSONSchema` with a registry, so each schema is a named component).
 */
export function openApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  registry.add(IncomingEvent, { id: 'Event' });
  registry.add(batchSchema(options.maxEvents), { id: 'Batch' });
  registry.add(ErrorBody, { id: 'Error' });
  registry.add(Accepted, { id: 'Accepted' });
  registry.add(BatchResult, { id: 'BatchResult' });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'openapi-3.0',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const security: Record<string, unknown>[] = [];
  const securitySchemes: Record<string, unknown> = {};
  if (options.apiKeys) {
    securitySchemes['apiKey'] = { type: 'apiKey', in: 'header', name: 'X-API-Key' };
    security.push({ apiKey: [] });
  }
  if (options.oidc) {
    securitySchemes['googleIdToken'] = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' };
    security.push({ googleIdToken: [] });
  }
  const idempotencyKey = {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Becomes the event id (in a batch, `<key>:<index>` for events without an id): a retry with the same key is published under the same id',
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  };
  const body = (id: string) => ({
    required: true,
    description: `JSON, at most ${options.maxBodyBytes} bytes`,
    content: { 'application/json': { schema: ref(id) } },
  });
  const either = { oneOf: [ref('BatchResult'), ref('Error')] };
  return {
    openapi: '3.0.3',
    info: { title: 'Tributary http-ingest', version: '1' },
    security,
    paths: {
      '/events': {
        post: {
          summary: 'Ingest one event; 202 once Pub/Sub has confirmed it',
          parameters: [idempotencyKey],
          requestBody: body('Event'),
          responses: {
            202: json(ref('Accepted'), 'Published'),
            ...errors([400, 401, 403, 413, 415, 429, 503]),
          },
        },
      },
      '/events/batch': {
        post: {
          summary: `Ingest up to ${options.maxEvents} events; a result per event`,
          parameters: [idempotencyKey],
          requestBody: body('Batch'),
          responses: {
            202: json(ref('BatchResult'), 'At least one event published: read each result'),
            400: json(either, 'The envelope is invalid, or every event is'),
            ...errors([401, 403, 413, 415, 429]),
            503: json(either, 'Not ready, or no event could be published'),
          },
        },
      },
    },
    components: { schemas, securitySchemes },
  };
}
