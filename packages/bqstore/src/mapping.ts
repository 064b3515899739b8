import { readFile } from 'node:fs/promises';
import { decodeEnvelope, TributaryError, type Message } from '@tributary/messagepipeline';
import * as z from 'zod';
import { isRecord, type TableField } from './schema.js';

/** Enrichment as one RECORD (or JSON) column, or flattened into top-level columns. */
export type EnrichmentMapping =
  | { readonly mode: 'record'; readonly column: string }
  | { readonly mode: 'flatten'; readonly prefix?: string | undefined };

/** How a message becomes a row. Without options, the JSON payload alone is the row. */
export interface RowMappingOptions {
  /** Column for the message id (the insertId too). */
  readonly messageIdColumn?: string | undefined;
  /** Column for the publish time (TIMESTAMP). */
  readonly publishTimeColumn?: string | undefined;
  /** Column for the time the sink mapped the message (TIMESTAMP). */
  readonly ingestTimeColumn?: string | undefined;
  /** Chosen attributes as columns: attribute name → column name. A missing attribute is null. */
  readonly attributeColumns?: Readonly<Record<string, string>> | undefined;
  /** Every attribute as one JSON text column (works for a JSON or a STRING column). */
  readonly attributesJsonColumn?: string | undefined;
  /** Where enrichment goes; without it, enrichment is not written. */
  readonly enrichment?: EnrichmentMapping | undefined;
  /**
   * Code-level transformer, run last: receives the mapped row and the (unwrapped) message and
   * returns the row to write. Throw `TributaryError.permanent` to dead-letter the message.
   */
  readonly transform?:
    ((row: Record<string, unknown>, message: Message) => Record<string, unknown>) | undefined;
  /** @defaultValue `() => new Date()` */
  readonly now?: (() => Date) | undefined;
}

/** Maps one message to one row; throws a permanent `INVALID_PAYLOAD` error when it cannot. */
export type RowMapper = (message: Message) => Record<string, unknown>;

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Creates the mapper: unwraps the envelope (v1, or a Go envelope whose `payload` is base64),
 * parses the JSON payload (it must be an object), then adds the configured metadata columns
 * (which win over payload fields of the same name) and runs `transform`.
 */
export function createRowMapper(options: RowMappingOptions = {}): RowMapper {
  const now = options.now ?? (() => new Date());
  const attributeColumns = Object.entries(options.attributeColumns ?? {});
  const { enrichment, transform } = options;
  return (original) => {
    const message = decodeEnvelope(original);
    let payload: unknown;
    try {
      payload = JSON.parse(decoder.decode(message.data));
    } catch (error) {
      throw TributaryError.permanent(
        'INVALID_PAYLOAD',
        `the payload is not JSON: ${(error as Error).message}`,
        error,
      );
    }
    if (!isRecord(payload)) {
      throw TributaryError.permanent(
        'INVALID_PAYLOAD',
        'the payload is not a JSON object, so it cannot be a row',
      );
    }
    const row = payload;
    if (enrichment !== undefined && Object.keys(message.enrichment).length > 0) {
      if (enrichment.mode === 'record') row[enrichment.column] = message.enrichment;
      else {
        const prefix = enrichment.prefix ?? '';
        for (const [key, value] of Object.entries(message.enrichment))
          row[`${prefix}${key}`] = value;
      }
    }
    if (options.messageIdColumn !== undefined) row[options.messageIdColumn] = message.id;
    if (options.publishTimeColumn !== undefined) {
      row[options.publishTimeColumn] = message.publishTime.toISOString();
    }
    if (options.ingestTimeColumn !== undefined) row[options.ingestTimeColumn] = now().toISOString();
    for (const [attribute, column] of attributeColumns) {
      row[column] = message.attributes[attribute] ?? null;
    }
    if (options.attributesJsonColumn !== undefined) {
      row[options.attributesJsonColumn] = JSON.stringify(message.attributes);
    }
    return transform === undefined ? row : transform(row, message);
  };
}

/**
 * The columns the metadata options add, for a table the sink creates: message id STRING,
 * publish and ingest time TIMESTAMP, attribute columns STRING, the attributes column JSON, and a
 * `record` enrichment column JSON (declare it as a RECORD in your schema to get typed fields).
 * Columns `declared` already has are left out.
 */
export function metadataColumns(
  options: RowMappingOptions,
  declared: readonly TableField[],
): TableField[] {
  const have = new Set(declared.map((f) => f.name.toLowerCase()));
  const out: TableField[] = [];
  const add = (name: string | undefined, type: string, description: string): void => {
    if (name === undefined || have.has(name.toLowerCase())) return;
    have.add(name.toLowerCase());
    out.push({ name, type, mode: 'NULLABLE', description });
  };
  add(options.messageIdColumn, 'STRING', 'Pub/Sub message id');
  add(options.publishTimeColumn, 'TIMESTAMP', 'Pub/Sub publish time');
  add(options.ingestTimeColumn, 'TIMESTAMP', 'when the sink wrote the row');
  for (const [attribute, column] of Object.entries(options.attributeColumns ?? {})) {
    add(column, 'STRING', `attribute ${attribute}`);
  }
  add(options.attributesJsonColumn, 'JSON', 'every attribute');
  if (options.enrichment?.mode === 'record') add(options.enrichment.column, 'JSON', 'enrichment');
  return out;
}

const columnName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,299}$/, 'expected a column name (letters, digits, _)');

/** The declarative mapping file (JSON) the app reads; every key is optional. */
export const RowMappingFile = z
  .object({
    messageIdColumn: columnName.optional(),
    publishTimeColumn: columnName.optional(),
    ingestTimeColumn: columnName.optional(),
    attributeColumns: z.record(z.string().min(1), columnName).optional(),
    attributesJsonColumn: columnName.optional(),
    enrichment: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('record'), column: columnName }).strict(),
        z.object({ mode: z.literal('flatten'), prefix: z.string().optional() }).strict(),
      ])
      .optional(),
  })
  .strict();

/**
 * Checks a parsed mapping file; every problem is listed with its key.
 * @throws `TributaryError` `CONFIG_INVALID` naming `source` and each problem.
 */
export function parseRowMapping(value: unknown, source = 'mapping'): RowMappingOptions {
  const parsed = RowMappingFile.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`,
    );
    throw TributaryError.permanent('CONFIG_INVALID', `${source}: ${problems.join('; ')}`);
  }
  const data = parsed.data;
  const columns = [
    data.messageIdColumn,
    data.publishTimeColumn,
    data.ingestTimeColumn,
    data.attributesJsonColumn,
    data.enrichment?.mode === 'record' ? data.enrichment.column : undefined,
    ...Object.values(data.attributeColumns ?? {}),
  ].filter((c): c is string => c !== undefined);
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.toLowerCase())) {
      throw TributaryError.permanent(
        'CONFIG_INVALID',
        `${source}: column '${column}' is mapped twice`,
      );
    }
    seen.add(column.toLowerCase());
  }
  return data;
}

/**
 * Reads and checks a JSON mapping file.
 * @throws `TributaryError` `CONFIG_INVALID` naming the file and each problem.
 */
export async function loadRowMappingFile(path: string): Promise<RowMappingOptions> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw TributaryError.permanent(
      'CONFIG_INVALID',
      `${path}: cannot be read as JSON: ${(error as Error).message}`,
    );
  }
  return parseRowMapping(value, path);
}
