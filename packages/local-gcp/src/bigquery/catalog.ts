import { randomBytes } from 'node:crypto';
import { BigQueryApiError } from './errors.js';
import { InsertIdWindow, type ResolvedInsertIdWindowOptions } from './insert-id-window.js';
import { compileRowValidator, type RowValidator } from './row-validation.js';
import {
  duckColumnType,
  fieldsOfResult,
  parseSchema,
  quoteIdent,
  toFieldResources,
  type Field,
} from './schema-mapping.js';
import type { SqlEngine } from './sql-engine.js';
import { rewriteSql } from './sql-rewrite.js';

type Json = Record<string, unknown>;

/** A dataset: its REST resource and where its tables live in DuckDB (one schema per dataset). */
export interface DatasetEntry {
  readonly projectId: string;
  readonly datasetId: string;
  readonly duckSchema: string;
  resource: Json;
  readonly tables: Map<string, TableEntry>;
}

/**
 * A table or a view: its REST resource, validated schema, DuckDB table (a DuckDB view for a
 * BigQuery view, `resource.type` `VIEW`) and insertId window.
 */
export interface TableEntry {
  readonly projectId: string;
  readonly datasetId: string;
  readonly tableId: string;
  readonly duckTable: string;
  /** `"schema"."table"`, ready for SQL. */
  readonly qualifiedName: string;
  fields: readonly Field[];
  validator: RowValidator;
  /** False while the table has no columns (DuckDB needs at least one). */
  hasStorage: boolean;
  resource: Json;
  readonly insertIds: InsertIdWindow;
}

const META_SCHEMA = '__tributary';
const META_TABLE = `${quoteIdent(META_SCHEMA)}."catalog"`;
const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE_ID = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}$]{1,1024}$/u;

/** Keys copied from create/patch bodies into resources. */
const DATASET_KEYS = [
  'friendlyName',
  'description',
  'labels',
  'defaultTableExpirationMs',
  'defaultPartitionExpirationMs',
  'access',
  'defaultCollation',
  'isCaseInsensitive',
  'maxTimeTravelHours',
  'storageBillingModel',
] as const;
const TABLE_KEYS = [
  'friendlyName',
  'description',
  'labels',
  'expirationTime',
  'timePartitioning',
  'rangePartitioning',
  'clustering',
  'requirePartitionFilter',
] as const;

function etag(): string {
  return randomBytes(12).toString('base64');
}

function pick(body: Json, keys: readonly string[]): Json {
  const picked: Json = {};
  for (const key of keys) if (body[key] !== undefined) picked[key] = body[key];
  return picked;
}

/**
 * Datasets and tables, kept in memory and mirrored to DuckDB: each dataset is a DuckDB schema,
 * each table a DuckDB table, and every resource is also stored in `__tributary.catalog` so a
 * file-backed database comes back with its catalog.
 */
export class Catalog {
  readonly #engine: SqlEngine;
  readonly #idWindow: ResolvedInsertIdWindowOptions;
  readonly #datasets = new Map<string, DatasetEntry>();

  private constructor(engine: SqlEngine, idWindow: ResolvedInsertIdWindowOptions) {
    this.#engine = engine;
    this.#idWindow = idWindow;
  }

  static async open(engine: SqlEngine, idWindow: ResolvedInsertIdWindowOptions): Promise<Catalog> {
    const catalog = new Catalog(engine, idWindow);
    await engine.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(META_SCHEMA)}`);
    await engine.run(
      `CREATE TABLE IF NOT EXISTS ${META_TABLE} (project VARCHAR, dataset VARCHAR, tbl VARCHAR, duck_schema VARCHAR, duck_table VARCHAR, has_storage BOOLEAN, resource VARCHAR)`,
    );
    const stored = await engine.read(
      `SELECT project, dataset, tbl, duck_schema, duck_table, has_storage, resource FROM ${META_TABLE} ORDER BY tbl <> '', project, dataset, tbl`,
    );
    for (const row of stored.rows) {
      const [project, dataset, tbl, duckSchema, duckTable, hasStorage, resource] = row.map((v) =>
        typeof v === 'boolean' ? v : String(v),
      ) as [string, string, string, string, string, boolean, string];
      if (tbl === '') {
        catalog.#datasets.set(key(project, dataset), {
          projectId: project,
          datasetId: dataset,
          duckSchema,
          resource: JSON.parse(resource) as Json,
          tables: new Map(),
        });
        continue;
      }
      const parent = catalog.#datasets.get(key(project, dataset));
      if (parent === undefined) continue;
      const tableResource = JSON.parse(resource) as Json;
      const fields = parseSchema(tableResource['schema']);
      parent.tables.set(tbl, {
        projectId: project,
        datasetId: dataset,
        tableId: tbl,
        duckTable,
        qualifiedName: `${quoteIdent(duckSchema)}.${quoteIdent(duckTable)}`,
        fields,
        validator: compileRowValidator(fields),
        hasStorage,
        resource: tableResource,
        insertIds: new InsertIdWindow(idWindow),
      });
    }
    return catalog;
  }

  // ---- datasets ----

  listDatasets(projectId: string): DatasetEntry[] {
    return [...this.#datasets.values()]
      .filter((entry) => entry.projectId === projectId)
      .sort((a, b) => (a.datasetId < b.datasetId ? -1 : a.datasetId > b.datasetId ? 1 : 0));
  }

  findDataset(projectId: string, datasetId: string): DatasetEntry | undefined {
    return this.#datasets.get(key(projectId, datasetId));
  }

  getDataset(projectId: string, datasetId: string): DatasetEntry {
    const entry = this.findDataset(projectId, datasetId);
    if (entry === undefined)
      throw BigQueryApiError.notFound(`Not found: Dataset ${projectId}:${datasetId}`);
    return entry;
  }

  async createDataset(projectId: string, body: Json): Promise<DatasetEntry> {
    const reference = (body['datasetReference'] ?? {}) as Json;
    const datasetId = reference['datasetId'];
    if (typeof datasetId !== 'string' || !DATASET_ID.test(datasetId)) {
      throw BigQueryApiError.invalid(
        `Invalid dataset ID "${String(datasetId)}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`,
      );
    }
    if (this.findDataset(projectId, datasetId) !== undefined) {
      throw BigQueryApiError.duplicate(`Already Exists: Dataset ${projectId}:${datasetId}`);
    }
    const duckSchema = uniqueName(
      `${projectId}.${datasetId}`,
      [...this.#datasets.values()].map((d) => d.duckSchema).concat(META_SCHEMA, 'main'),
    );
    const now = String(Date.now());
    const entry: DatasetEntry = {
      projectId,
      datasetId,
      duckSchema,
      tables: new Map(),
      resource: {
        kind: 'bigquery#dataset',
        etag: etag(),
        id: `${projectId}:${datasetId}`,
        datasetReference: { projectId, datasetId },
        access: [],
        ...pick(body, DATASET_KEYS),
        location: typeof body['location'] === 'string' ? body['location'] : 'US',
        type: 'DEFAULT',
        creationTime: now,
        lastModifiedTime: now,
      },
    };
    await this.#engine.run(`CREATE SCHEMA ${quoteIdent(duckSchema)}`);
    this.#datasets.set(key(projectId, datasetId), entry);
    await this.#saveDataset(entry);
    return entry;
  }

  async patchDataset(projectId: string, datasetId: string, body: Json): Promise<DatasetEntry> {
    const entry = this.getDataset(projectId, datasetId);
    entry.resource = {
      ...entry.resource,
      ...pick(body, DATASET_KEYS),
      etag: etag(),
      lastModifiedTime: String(Date.now()),
    };
    await this.#saveDataset(entry);
    return entry;
  }

  async deleteDataset(
    projectId: string,
    datasetId: string,
    deleteContents: boolean,
  ): Promise<void> {
    const entry = this.getDataset(projectId, datasetId);
    if (entry.tables.size > 0 && !deleteContents) {
      throw new BigQueryApiError(
        400,
        'resourceInUse',
        `Dataset ${projectId}:${datasetId} is still in use`,
      );
    }
    await this.#engine.run(`DROP SCHEMA ${quoteIdent(entry.duckSchema)} CASCADE`);
    await this.#engine.run(`DELETE FROM ${META_TABLE} WHERE project = $1 AND dataset = $2`, [
      projectId,
      datasetId,
    ]);
    this.#datasets.delete(key(projectId, datasetId));
  }

  // ---- tables ----

  findTable(projectId: string, datasetId: string, tableId: string): TableEntry | undefined {
    return this.findDataset(projectId, datasetId)?.tables.get(tableId);
  }

  getTable(projectId: string, datasetId: string, tableId: string): TableEntry {
    const table = this.findTable(projectId, datasetId, tableId);
    if (table === undefined) {
      throw BigQueryApiError.notFound(`Not found: Table ${projectId}:${datasetId}.${tableId}`);
    }
    return table;
  }

  /** The DuckDB name queries read a table or view by, if it exists and has columns. */
  sqlName(projectId: string, datasetId: string, tableId: string): string | undefined {
    const table = this.findTable(projectId, datasetId, tableId);
    return table?.hasStorage === true ? table.qualifiedName : undefined;
  }

  listTables(projectId: string, datasetId: string): TableEntry[] {
    return [...this.getDataset(projectId, datasetId).tables.values()].sort((a, b) =>
      a.tableId < b.tableId ? -1 : a.tableId > b.tableId ? 1 : 0,
    );
  }

  async createTable(projectId: string, datasetId: string, body: Json): Promise<TableEntry> {
    const dataset = this.getDataset(projectId, datasetId);
    const reference = (body['tableReference'] ?? {}) as Json;
    const tableId = reference['tableId'];
    if (typeof tableId !== 'string' || !TABLE_ID.test(tableId)) {
      throw BigQueryApiError.invalid(`Invalid table ID "${String(tableId)}".`);
    }
    if (body['materializedView'] !== undefined) {
      throw BigQueryApiError.invalid(
        'Materialized views are not supported by the local BigQuery server.',
      );
    }
    if (dataset.tables.has(tableId)) {
      throw BigQueryApiError.duplicate(
        `Already Exists: Table ${projectId}:${datasetId}.${tableId}`,
      );
    }
    if (body['view'] !== undefined) return this.#createView(dataset, tableId, body);
    const fields = parseSchema(body['schema']);
    const rawFields = (body['schema'] as { fields?: unknown } | undefined)?.fields;
    checkPartitioning(body, fields);
    const place = this.#place(dataset, tableId);
    const table = this.#entry(dataset, tableId, place, fields, fields.length > 0, {
      ...pick(body, TABLE_KEYS),
      schema: { fields: toFieldResources(fields, rawFields) },
      numBytes: '0',
      numLongTermBytes: '0',
      numRows: '0',
      type: 'TABLE',
    });
    const { qualifiedName } = place;
    if (table.hasStorage) await this.#engine.run(createTableSql(qualifiedName, fields));
    dataset.tables.set(tableId, table);
    await this.#saveTable(table);
    return table;
  }

  /** A DuckDB name for a new table of `dataset` (DuckDB names are case-insensitive). */
  #place(dataset: DatasetEntry, tableId: string): { duckTable: string; qualifiedName: string } {
    const duckTable = uniqueName(
      tableId,
      [...dataset.tables.values()].map((t) => t.duckTable),
    );
    return {
      duckTable,
      qualifiedName: `${quoteIdent(dataset.duckSchema)}.${quoteIdent(duckTable)}`,
    };
  }

  /** A new table or view entry; `resource` holds what differs between the two. */
  #entry(
    dataset: DatasetEntry,
    tableId: string,
    place: { duckTable: string; qualifiedName: string },
    fields: readonly Field[],
    hasStorage: boolean,
    resource: Json,
  ): TableEntry {
    const { projectId, datasetId } = dataset;
    const now = String(Date.now());
    return {
      projectId,
      datasetId,
      tableId,
      ...place,
      fields,
      validator: compileRowValidator(fields),
      hasStorage,
      insertIds: new InsertIdWindow(this.#idWindow),
      resource: {
        kind: 'bigquery#table',
        etag: etag(),
        id: `${projectId}:${datasetId}.${tableId}`,
        tableReference: { projectId, datasetId, tableId },
        ...resource,
        creationTime: now,
        lastModifiedTime: now,
        location: dataset.resource['location'],
      },
    };
  }

  /**
   * A logical view (`view: {query, useLegacySql: false}`): the GoogleSQL query is translated as a
   * query job's would be and kept as a DuckDB view, so queries read it like a table and see the
   * base tables' rows (and added columns) as they are when queried. Its schema is the query's
   * result columns at creation, as BigQuery reports it.
   */
  async #createView(dataset: DatasetEntry, tableId: string, body: Json): Promise<TableEntry> {
    const { projectId } = dataset;
    const view = body['view'];
    const query = typeof view === 'object' && view !== null ? (view as Json)['query'] : undefined;
    if (typeof query !== 'string' || query.trim() === '') {
      throw BigQueryApiError.invalid('Required parameter is missing: view.query');
    }
    // The REST API reads a view without useLegacySql as legacy SQL; the client sets it to false.
    if ((view as Json)['useLegacySql'] !== false) {
      throw BigQueryApiError.invalid(
        'Legacy SQL views are not supported by the local BigQuery server; set view.useLegacySql: false.',
      );
    }
    const rewritten = rewriteSql(query, {
      projectId,
      duckKeywords: this.#engine.keywords,
      resolveTable: (p, d, t) => this.sqlName(p, d, t),
      datasetExists: (p, d) => this.findDataset(p, d) !== undefined,
      namedParameter: () => undefined,
      positionalParameter: () => undefined,
    });
    if (!['SELECT', 'WITH'].includes(rewritten.firstKeyword)) {
      throw BigQueryApiError.invalidQuery(
        `A view's query must be a SELECT or WITH query, not ${rewritten.firstKeyword || 'this statement'}.`,
      );
    }
    const place = this.#place(dataset, tableId);
    const { qualifiedName } = place;
    let fields: Field[];
    try {
      await this.#engine.run(
        `CREATE VIEW ${qualifiedName} AS ${rewritten.sql.trim().replace(/;\s*$/, '')}`,
      );
      const columns = await this.#engine.read(`SELECT * FROM ${qualifiedName} LIMIT 0`);
      fields = fieldsOfResult(columns.names, columns.types);
    } catch (caught) {
      await this.#engine.run(`DROP VIEW IF EXISTS ${qualifiedName}`);
      throw BigQueryApiError.invalidQuery(
        caught instanceof Error ? caught.message : String(caught),
      );
    }
    const table = this.#entry(dataset, tableId, place, fields, true, {
      ...pick(body, ['friendlyName', 'description', 'labels', 'expirationTime']),
      schema: { fields: toFieldResources(fields, undefined) },
      view: { query, useLegacySql: false },
      type: 'VIEW',
    });
    dataset.tables.set(tableId, table);
    await this.#saveTable(table);
    return table;
  }

  /**
   * Applies tables.patch / tables.update: metadata is merged; a schema may only add NULLABLE or
   * REPEATED fields (top level or inside a non-repeated RECORD) and relax REQUIRED to NULLABLE.
   */
  async patchTable(
    projectId: string,
    datasetId: string,
    tableId: string,
    body: Json,
  ): Promise<TableEntry> {
    const table = this.getTable(projectId, datasetId, tableId);
    if (isView(table) && (body['schema'] !== undefined || body['view'] !== undefined)) {
      throw BigQueryApiError.invalid(
        `Changing the query or schema of view ${projectId}:${datasetId}.${tableId} is not supported by the local BigQuery server; delete and create it.`,
      );
    }
    let fields = table.fields;
    const statements: string[] = [];
    if (body['schema'] !== undefined) {
      const next = parseSchema(body['schema']);
      const where = `${projectId}:${datasetId}.${tableId}`;
      fields = mergeFields(table.fields, next, [], statements, table.qualifiedName, where);
    }
    checkPartitioning({ ...table.resource, ...body }, fields);
    if (statements.length > 0 || fields !== table.fields) {
      if (!table.hasStorage && fields.length > 0) {
        await this.#engine.run(createTableSql(table.qualifiedName, fields));
        table.hasStorage = true;
      } else {
        for (const statement of statements) await this.#engine.run(statement);
      }
      table.fields = fields;
      table.validator = compileRowValidator(fields);
    }
    const rawFields = (body['schema'] as { fields?: unknown } | undefined)?.fields;
    table.resource = {
      ...table.resource,
      ...pick(body, TABLE_KEYS),
      schema: {
        fields: toFieldResources(fields, rawFields ?? (table.resource['schema'] as Json)['fields']),
      },
      etag: etag(),
      lastModifiedTime: String(Date.now()),
    };
    await this.#saveTable(table);
    return table;
  }

  async deleteTable(projectId: string, datasetId: string, tableId: string): Promise<void> {
    const table = this.getTable(projectId, datasetId, tableId);
    if (table.hasStorage) {
      await this.#engine.run(`DROP ${isView(table) ? 'VIEW' : 'TABLE'} ${table.qualifiedName}`);
    }
    await this.#engine.run(
      `DELETE FROM ${META_TABLE} WHERE project = $1 AND dataset = $2 AND tbl = $3`,
      [projectId, datasetId, tableId],
    );
    this.getDataset(projectId, datasetId).tables.delete(tableId);
  }

  /** The table's row count (BigQuery counts the streaming buffer separately; we do not). */
  async numRows(table: TableEntry): Promise<bigint> {
    if (!table.hasStorage || isView(table)) return 0n;
    const result = await this.#engine.read(`SELECT count(*) FROM ${table.qualifiedName}`);
    return BigInt(String(result.rows[0]?.[0] ?? 0));
  }

  async #saveDataset(entry: DatasetEntry): Promise<void> {
    await this.#save(
      entry.projectId,
      entry.datasetId,
      '',
      entry.duckSchema,
      '',
      false,
      entry.resource,
    );
  }

  async #saveTable(table: TableEntry): Promise<void> {
    const dataset = this.getDataset(table.projectId, table.datasetId);
    await this.#save(
      table.projectId,
      table.datasetId,
      table.tableId,
      dataset.duckSchema,
      table.duckTable,
      table.hasStorage,
      table.resource,
    );
  }

  async #save(
    project: string,
    dataset: string,
    tbl: string,
    duckSchema: string,
    duckTable: string,
    hasStorage: boolean,
    resource: Json,
  ): Promise<void> {
    await this.#engine.exclusive(async (connection) => {
      await connection.run(
        `DELETE FROM ${META_TABLE} WHERE project = $1 AND dataset = $2 AND tbl = $3`,
        [project, dataset, tbl],
      );
      await connection.run(`INSERT INTO ${META_TABLE} VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        project,
        dataset,
        tbl,
        duckSchema,
        duckTable,
        hasStorage,
        JSON.stringify(resource),
      ]);
    });
  }
}

/** Whether the entry is a logical view (tables.insert with `view`). */
export function isView(table: TableEntry): boolean {
  return table.resource['type'] === 'VIEW';
}

function key(projectId: string, datasetId: string): string {
  return `${projectId}\u0000${datasetId}`;
}

/** DuckDB names are case-insensitive; BigQuery's are not. Suffix a name that would clash. */
function uniqueName(wanted: string, taken: readonly string[]): string {
  const lower = new Set(taken.map((name) => name.toLowerCase()));
  if (!lower.has(wanted.toLowerCase())) return wanted;
  for (let n = 2; ; n += 1) {
    const candidate = `${wanted}~${n}`;
    if (!lower.has(candidate.toLowerCase())) return candidate;
  }
}

function createTableSql(qualifiedName: string, fields: readonly Field[]): string {
  const columns = fields.map((field) => `${quoteIdent(field.name)} ${duckColumnType(field)}`);
  return `CREATE TABLE ${qualifiedName} (${columns.join(', ')})`;
}

function mergeFields(
  current: readonly Field[],
  next: readonly Field[],
  parents: readonly Field[],
  statements: string[],
  qualifiedName: string,
  where: string,
): Field[] {
  const mismatch = (detail: string): BigQueryApiError =>
    BigQueryApiError.invalid(`Provided Schema does not match Table ${where}. ${detail}`);
  const prefix = parents.map((p) => `${p.name}.`).join('');
  const nextByName = new Map(next.map((field) => [field.name.toLowerCase(), field]));
  const merged: Field[] = [];
  for (const field of current) {
    const replacement = nextByName.get(field.name.toLowerCase());
    if (replacement === undefined)
      throw mismatch(`Field ${prefix}${field.name} is missing in new schema`);
    nextByName.delete(field.name.toLowerCase());
    if (replacement.kind !== field.kind) {
      throw mismatch(
        `Field ${prefix}${field.name} has changed type from ${field.kind} to ${replacement.kind}`,
      );
    }
    const relaxed = field.mode === 'REQUIRED' && replacement.mode === 'NULLABLE';
    if (replacement.mode !== field.mode && !relaxed) {
      throw mismatch(
        `Field ${prefix}${field.name} has changed mode from ${field.mode} to ${replacement.mode}`,
      );
    }
    if (
      replacement.decimal?.precision !== field.decimal?.precision ||
      replacement.decimal?.scale !== field.decimal?.scale ||
      replacement.maxLength !== field.maxLength
    ) {
      throw mismatch(
        `Field ${prefix}${field.name} has changed precision, scale or maxLength; the local BigQuery server does not change them.`,
      );
    }
    const children =
      field.kind === 'RECORD'
        ? mergeFields(
            field.fields,
            replacement.fields,
            [...parents, field],
            statements,
            qualifiedName,
            where,
          )
        : field.fields;
    merged.push({ ...field, mode: replacement.mode, fields: children });
  }
  for (const added of nextByName.values()) {
    if (added.mode === 'REQUIRED') {
      throw mismatch(
        `Cannot add required fields to an existing schema. (field: ${prefix}${added.name})`,
      );
    }
    if (parents.some((parent) => parent.mode === 'REPEATED')) {
      throw BigQueryApiError.invalid(
        `Adding field ${prefix}${added.name} inside a REPEATED RECORD is not supported by the local BigQuery server.`,
      );
    }
    const path = [...parents, added].map((field) => quoteIdent(field.name)).join('.');
    statements.push(`ALTER TABLE ${qualifiedName} ADD COLUMN ${path} ${duckColumnType(added)}`);
    merged.push(added);
  }
  return merged;
}

function checkPartitioning(body: Json, fields: readonly Field[]): void {
  const byName = new Map(fields.map((field) => [field.name.toLowerCase(), field]));
  const partitioning = body['timePartitioning'] as Json | null | undefined;
  // Table in the REST reference: "Only one of timePartitioning and rangePartitioning should be
  // specified."
  if (
    partitioning !== undefined &&
    partitioning !== null &&
    body['rangePartitioning'] !== undefined &&
    body['rangePartitioning'] !== null
  ) {
    throw BigQueryApiError.invalid(
      'Only one of timePartitioning and rangePartitioning may be specified.',
    );
  }
  if (partitioning !== undefined && partitioning !== null) {
    const type = partitioning['type'] ?? 'DAY';
    if (typeof type !== 'string' || !['DAY', 'HOUR', 'MONTH', 'YEAR'].includes(type)) {
      throw BigQueryApiError.invalid(
        `Invalid value for timePartitioning.type: ${JSON.stringify(type)}`,
      );
    }
    const column = partitioning['field'];
    if (column !== undefined && column !== null) {
      const field = typeof column === 'string' ? byName.get(column.toLowerCase()) : undefined;
      if (
        field === undefined ||
        !['TIMESTAMP', 'DATE', 'DATETIME'].includes(field.kind) ||
        field.mode === 'REPEATED'
      ) {
        throw BigQueryApiError.invalid(
          `The field specified for partitioning must be a top-level TIMESTAMP, DATE or DATETIME field: ${JSON.stringify(column)}`,
        );
      }
    }
  }
  const clustering = body['clustering'] as Json | null | undefined;
  if (clustering !== undefined && clustering !== null) {
    const columns = clustering['fields'];
    if (!Array.isArray(columns) || columns.length === 0 || columns.length > 4) {
      throw BigQueryApiError.invalid('Clustering must specify between 1 and 4 fields.');
    }
    for (const column of columns as unknown[]) {
      const field = typeof column === 'string' ? byName.get(column.toLowerCase()) : undefined;
      if (field === undefined || field.kind === 'RECORD' || field.mode === 'REPEATED') {
        throw BigQueryApiError.invalid(
          `The field specified for clustering cannot be found in the schema or is not a top-level scalar: ${JSON.stringify(column)}`,
        );
      }
    }
  }
}
