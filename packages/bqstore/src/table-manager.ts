import type { BigQuery, TableMetadata } from '@google-cloud/bigquery';
import { TributaryError } from '@tributary/messagepipeline';
import { classifyBigQueryError, statusAndReason } from './classify-error.js';
import { tableName, type TableRef } from './row-writer.js';
import { columnType, type TableField, type TableSchema } from './schema.js';

/** Time partitioning of a new table. */
export interface TimePartitioning {
  /** @defaultValue `DAY` */
  readonly type?: 'DAY' | 'HOUR' | undefined;
  /** A TIMESTAMP (or DATE / DATETIME) column; without one, partitions are by ingestion time. */
  readonly field?: string | undefined;
  /** Partitions older than this are deleted by BigQuery. @defaultValue undefined (kept) */
  readonly expirationMs?: number | undefined;
}

/** A view with one row per message id over a table written at least once. */
export interface DedupView {
  /** The view's table id. */
  readonly viewId: string;
  /** The column that holds the message id. */
  readonly idColumn: string;
  /** Of the copies of a message, the first by this column is kept. @defaultValue `idColumn` */
  readonly orderColumn?: string | undefined;
}

/** What a table should look like when it has to be created. */
export interface TableSpec {
  readonly table: TableRef;
  readonly schema: TableSchema;
  readonly timePartitioning?: TimePartitioning | undefined;
  /** Up to four top-level columns. */
  readonly clustering?: readonly string[] | undefined;
  /** Dataset location when the dataset is created. @defaultValue the service's default (US) */
  readonly location?: string | undefined;
  readonly description?: string | undefined;
  /** Also create this de-duplicating view when the table is created. */
  readonly dedupView?: DedupView | undefined;
}

/** What {@link TableManager.ensure} found or did. */
export interface EnsuredTable {
  /** The table's schema now (the live one for an existing table). */
  readonly schema: TableSchema;
  /** Whether the table was created by this call. */
  readonly created: boolean;
  /** How an existing table differs from the declared schema; empty when created or identical. */
  readonly mismatches: readonly string[];
}

/** A column to add: its parent RECORD path (`[]` for top level) and the field, NULLABLE. */
export interface ColumnAddition {
  readonly parents: readonly string[];
  readonly field: TableField;
}

/** Creates and inspects tables; the sink's only schema-changing calls go through it. */
export interface TableManager {
  /**
   * Makes sure the table exists: creates the dataset and the table (with partitioning,
   * clustering and the optional view) when missing; an existing table is used as it is and its
   * differences from `spec.schema` are returned.
   * @throws `TributaryError` destination error when access is denied; transient on 5xx.
   */
  ensure(spec: TableSpec): Promise<EnsuredTable>;
  /** The live schema. */
  schema(table: TableRef): Promise<TableSchema>;
  /**
   * Adds NULLABLE columns (nested ones inside their RECORD) through a table patch; columns that
   * exist by then are left alone. Returns the schema after the patch.
   */
  addColumns(table: TableRef, additions: readonly ColumnAddition[]): Promise<TableSchema>;
}

/** Creates a {@link TableManager} on the official client. */
export function createTableManager(bigquery: BigQuery): TableManager {
  const handle = (table: TableRef) =>
    bigquery.dataset(table.datasetId, { projectId: table.projectId }).table(table.tableId);

  async function readSchema(table: TableRef): Promise<{ schema: TableSchema; etag?: string }> {
    const [metadata] = (await call(table, () => handle(table).getMetadata())) as unknown as [
      TableMetadata,
    ];
    const fields = (metadata.schema?.fields ?? []) as TableField[];
    return { schema: { fields }, ...(metadata.etag === undefined ? {} : { etag: metadata.etag }) };
  }

  async function createDataset(spec: TableSpec): Promise<void> {
    const { table } = spec;
    try {
      await bigquery.createDataset(table.datasetId, {
        projectId: table.projectId,
        ...(spec.location === undefined ? {} : { location: spec.location }),
      });
    } catch (error) {
      if (statusAndReason(error).status !== 409) throw classify(table, error);
    }
  }

  async function createTable(spec: TableSpec): Promise<boolean> {
    const { table } = spec;
    const metadata: TableMetadata = { schema: { fields: spec.schema.fields as never } };
    if (spec.timePartitioning !== undefined) {
      const p = spec.timePartitioning;
      metadata.timePartitioning = {
        type: p.type ?? 'DAY',
        ...(p.field === undefined ? {} : { field: p.field }),
        ...(p.expirationMs === undefined ? {} : { expirationMs: String(p.expirationMs) }),
      };
    }
    if (spec.clustering !== undefined && spec.clustering.length > 0) {
      metadata.clustering = { fields: [...spec.clustering] };
    }
    if (spec.description !== undefined) metadata.description = spec.description;
    const dataset = bigquery.dataset(table.datasetId, { projectId: table.projectId });
    for (let attempt = 0; ; attempt++) {
      try {
        await dataset.createTable(table.tableId, metadata);
        return true;
      } catch (error) {
        const { status } = statusAndReason(error);
        if (status === 409) return false; // another instance was first
        if (status === 404 && attempt === 0) {
          await createDataset(spec);
          continue;
        }
        throw classify(table, error);
      }
    }
  }

  return {
    async ensure(spec) {
      let existing: TableSchema | undefined;
      try {
        existing = (await readSchema(spec.table)).schema;
      } catch (error) {
        if (!(error instanceof TributaryError && error.code === 'NOT_FOUND')) throw error;
      }
      if (existing === undefined) {
        const created = await createTable(spec);
        if (created && spec.dedupView !== undefined) await createView(spec, spec.dedupView);
        const schema = created ? spec.schema : (await readSchema(spec.table)).schema;
        return { schema, created, mismatches: created ? [] : compareSchemas(spec.schema, schema) };
      }
      return {
        schema: existing,
        created: false,
        mismatches: compareSchemas(spec.schema, existing),
      };
    },
    async schema(table) {
      return (await readSchema(table)).schema;
    },
    async addColumns(table, additions) {
      for (let attempt = 1; ; attempt++) {
        const { schema, etag } = await readSchema(table);
        const fields = addFields(schema.fields, additions);
        if (fields === schema.fields) return schema;
        try {
          await handle(table).setMetadata({
            schema: { fields: fields as never },
            ...(etag ? { etag } : {}),
          });
          return { fields };
        } catch (error) {
          // A concurrent patch (412, or 400 for a schema that no longer matches): read again.
          const { status } = statusAndReason(error);
          if (attempt >= 3 || (status !== 412 && status !== 400)) throw classify(table, error);
        }
      }
    },
  };

  async function createView(spec: TableSpec, view: DedupView): Promise<void> {
    const dataset = bigquery.dataset(spec.table.datasetId, { projectId: spec.table.projectId });
    try {
      await dataset.createTable(view.viewId, {
        view: { query: dedupViewQuery(spec.table, view), useLegacySql: false },
      });
    } catch (error) {
      if (statusAndReason(error).status !== 409) throw classify(spec.table, error);
    }
  }
}

/**
 * The query of a de-duplicating view: one row per `idColumn`, the first by `orderColumn`.
 */
export function dedupViewQuery(table: TableRef, view: DedupView): string {
  const id = quote(view.idColumn);
  const order = quote(view.orderColumn ?? view.idColumn);
  const source = `\`${table.projectId}.${table.datasetId}.${table.tableId}\``;
  return (
    `SELECT * EXCEPT (_dedup_rank) FROM (SELECT *, ROW_NUMBER() OVER ` +
    `(PARTITION BY ${id} ORDER BY ${order}) AS _dedup_rank FROM ${source}) WHERE _dedup_rank = 1`
  );
}

function quote(name: string): string {
  return `\`${name.replaceAll('`', '')}\``;
}

/** `fields` with the additions merged in (the same array when nothing is new). */
function addFields(
  fields: readonly TableField[],
  additions: readonly ColumnAddition[],
): readonly TableField[] {
  const state = { changed: false };
  const merge = (
    level: readonly TableField[],
    parents: readonly string[],
    field: TableField,
  ): TableField[] => {
    const [head, ...rest] = parents;
    if (head === undefined) {
      if (level.some((f) => f.name.toLowerCase() === field.name.toLowerCase())) return [...level];
      state.changed = true;
      return [...level, { ...field, mode: field.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE' }];
    }
    return level.map((f) =>
      f.name.toLowerCase() === head.toLowerCase() && columnType(f.type) === 'RECORD'
        ? { ...f, fields: merge(f.fields ?? [], rest, field) }
        : f,
    );
  };
  let result: readonly TableField[] = fields;
  for (const addition of additions) result = merge(result, addition.parents, addition.field);
  return state.changed ? result : fields;
}

/** How `live` differs from `declared`, one line per column (type, mode, missing, extra). */
export function compareSchemas(declared: TableSchema, live: TableSchema): string[] {
  const out: string[] = [];
  const walk = (want: readonly TableField[], have: readonly TableField[], prefix: string): void => {
    const byName = new Map(have.map((f) => [f.name.toLowerCase(), f]));
    for (const field of want) {
      const path = `${prefix}${field.name}`;
      const other = byName.get(field.name.toLowerCase());
      byName.delete(field.name.toLowerCase());
      if (other === undefined) {
        out.push(`${path}: declared, but the table has no such column`);
        continue;
      }
      const wantType = columnType(field.type);
      const haveType = columnType(other.type);
      if (wantType !== haveType) {
        out.push(
          `${path}: declared ${wantType ?? field.type}, the table has ${haveType ?? other.type}`,
        );
      }
      const wantMode = field.mode ?? 'NULLABLE';
      const haveMode = other.mode ?? 'NULLABLE';
      if (wantMode !== haveMode)
        out.push(`${path}: declared ${wantMode}, the table has ${haveMode}`);
      if (wantType === 'RECORD' && haveType === 'RECORD') {
        walk(field.fields ?? [], other.fields ?? [], `${path}.`);
      }
    }
    for (const extra of byName.values()) {
      out.push(`${prefix}${extra.name}: in the table, not declared`);
    }
  };
  walk(declared.fields, live.fields, '');
  return out;
}

async function call<T>(table: TableRef, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw classify(table, error);
  }
}

function classify(table: TableRef, error: unknown): TributaryError {
  const failure = classifyBigQueryError(error);
  const message = `${tableName(table)}: ${error instanceof Error ? error.message : String(error)}`;
  switch (failure.kind) {
    case 'destination':
      return new TributaryError(failure.error.code, message, { destination: true, cause: error });
    case 'retriable':
      return TributaryError.transient('UNAVAILABLE', message, error);
    case 'invalid':
      return TributaryError.permanent('CONFIG_INVALID', message, error);
  }
}
