import {
  createBatchingService,
  emit,
  InvalidArgumentError,
  silentLogger,
  TributaryError,
  type BatchingService,
  type BatchingServiceOptions,
  type DeadLetterSink,
  type ItemFailure,
  type Logger,
  type StatsDescription,
} from '@tributary/messagepipeline';
import { inferField } from './infer-field.js';
import { createRowMapper, metadataColumns, type RowMappingOptions } from './mapping.js';
import { tableName, type RowOutcome, type RowWriter, type TableRef } from './row-writer.js';
import type { TableSchema } from './schema.js';
import type { ColumnAddition, DedupView, TableManager, TimePartitioning } from './table-manager.js';
import { datasetIdProblem, renderViewId, viewIdTemplateProblem } from './ids.js';
import { compileTableTemplate } from './table-template.js';
import { compileRowValidator, type RowValidator, type UnknownField } from './validate.js';

/** What happens to a field the table does not have. */
export type UnknownFieldPolicy = 'ignore' | 'dead-letter' | 'evolve';

/** Why a row was dead-lettered, as counted by {@link BigQuerySinkStats}. */
export type DeadLetterReason =
  'mapping' | 'unroutable' | 'validation' | 'unknown-field' | 'bigquery-invalid';

/** What the sink reports as it works (the app turns these into metrics). */
export type BigQuerySinkEvent =
  | { readonly type: 'rows-written'; readonly table: string; readonly rows: number }
  | { readonly type: 'dead-lettered'; readonly reason: DeadLetterReason }
  | { readonly type: 'schema-change'; readonly table: string; readonly columns: readonly string[] }
  | { readonly type: 'table-created'; readonly table: string }
  | { readonly type: 'unknown-fields-dropped'; readonly fields: number };

/** Options for {@link createBigQuerySink}. */
export interface BigQuerySinkOptions extends Omit<
  BatchingServiceOptions<SinkRow>,
  'transformer' | 'processor' | 'stage'
> {
  /** @defaultValue `bigquery-sink` */
  readonly stage?: string | undefined;
  readonly writer: RowWriter;
  readonly tables: TableManager;
  readonly projectId: string;
  readonly datasetId: string;
  /** A table id, or a template over attributes such as `events_{type}` (one table per value). */
  readonly table: string;
  /**
   * The schema of tables the sink creates (NULLABLE unless marked). Without it, tables must
   * exist and are used as they are.
   */
  readonly schema?: TableSchema | undefined;
  /** Create the dataset and table when missing (needs `schema`). @defaultValue true */
  readonly autoCreate?: boolean | undefined;
  readonly timePartitioning?: TimePartitioning | undefined;
  readonly clustering?: readonly string[] | undefined;
  /** Dataset location when the sink creates it. */
  readonly location?: string | undefined;
  /** A de-duplicating view created with each new table (`{table}` in `viewId` is the table id). */
  readonly dedupView?: DedupView | undefined;
  readonly mapping?: RowMappingOptions | undefined;
  /** @defaultValue `dead-letter` */
  readonly unknownFields?: UnknownFieldPolicy | undefined;
  /** Most distinct tables a template may route to; more is `UNROUTABLE`. @defaultValue 100 */
  readonly maxTables?: number | undefined;
  readonly onEvent?: ((event: BigQuerySinkEvent) => void) | undefined;
}

/** Counters of a {@link BigQuerySink}. */
export interface BigQuerySinkStats {
  readonly rowsWritten: number;
  readonly rowsRetried: number;
  readonly deadLetteredMapping: number;
  readonly deadLetteredUnroutable: number;
  readonly deadLetteredValidation: number;
  readonly deadLetteredUnknownField: number;
  readonly deadLetteredBigQueryInvalid: number;
  readonly unknownFieldsDropped: number;
  readonly schemaChanges: number;
  readonly tablesCreated: number;
  readonly tables: number;
}

/** How {@link BigQuerySinkStats} is exported (see `exposeStats`). */
export const bigQuerySinkStatsDescription: StatsDescription<BigQuerySinkStats> = {
  rowsWritten: { kind: 'counter', help: 'Rows BigQuery accepted' },
  rowsRetried: { kind: 'counter', help: 'Rows sent again after a retriable failure' },
  deadLetteredMapping: { kind: 'counter', help: 'Rows dead-lettered: payload not a JSON object' },
  deadLetteredUnroutable: { kind: 'counter', help: 'Rows dead-lettered: no table for the message' },
  deadLetteredValidation: { kind: 'counter', help: 'Rows dead-lettered: did not fit the schema' },
  deadLetteredUnknownField: { kind: 'counter', help: 'Rows dead-lettered: unknown fields' },
  deadLetteredBigQueryInvalid: { kind: 'counter', help: 'Rows dead-lettered: BigQuery invalid' },
  unknownFieldsDropped: { kind: 'counter', help: 'Unknown fields dropped (ignore policy)' },
  schemaChanges: { kind: 'counter', help: 'Columns added by the evolve policy' },
  tablesCreated: { kind: 'counter', help: 'Tables the sink created' },
  tables: { kind: 'gauge', help: 'Tables the sink writes to' },
};

/** A BatchingService that writes messages as rows, with its counters. */
export interface BigQuerySink extends Omit<BatchingService, 'stats'> {
  stats(): BigQuerySinkStats;
}

/** The payload the sink batches: a validated row and its table. */
export interface SinkRow {
  readonly table: TableRef;
  readonly insertId: string;
  readonly row: Record<string, unknown>;
}

interface TableState {
  readonly ref: TableRef;
  validator: RowValidator;
  /** Serialises schema patches of this table. */
  evolving: Promise<void>;
}

/** The defaults of {@link BigQuerySinkOptions}. */
export const DEFAULT_BIGQUERY_SINK_OPTIONS: {
  readonly stage: string;
  readonly autoCreate: boolean;
  readonly unknownFields: UnknownFieldPolicy;
  readonly maxTables: number;
} = Object.freeze({
  stage: 'bigquery-sink',
  autoCreate: true,
  unknownFields: 'dead-letter',
  maxTables: 100,
});

const POLICIES: ReadonlySet<string> = new Set(['ignore', 'dead-letter', 'evolve']);

/**
 * Pub/Sub (any consumer) → BigQuery on the core BatchingService. Each message is mapped to a
 * row, routed to its table (creating it on first use), and validated against the table schema
 * before any writer sees it; unknown fields follow the policy. Each flush groups rows by table
 * and hands each group to the writer; every message is settled by its own row's outcome: ok →
 * ack; invalid (ours or BigQuery's) → dead-letter with the field path, then ack; retriable →
 * retried with backoff inside the budget, then nacked; a missing table or denied access → held.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createBigQuerySink(options: BigQuerySinkOptions): BigQuerySink {
  const policy = options.unknownFields ?? DEFAULT_BIGQUERY_SINK_OPTIONS.unknownFields;
  if (!POLICIES.has(policy)) {
    throw InvalidArgumentError.for('unknownFields', 'must be ignore, dead-letter or evolve');
  }
  const autoCreate = options.autoCreate ?? DEFAULT_BIGQUERY_SINK_OPTIONS.autoCreate;
  const maxTables = options.maxTables ?? DEFAULT_BIGQUERY_SINK_OPTIONS.maxTables;
  const stage = options.stage ?? DEFAULT_BIGQUERY_SINK_OPTIONS.stage;
  const datasetProblem = datasetIdProblem(options.datasetId);
  if (datasetProblem !== undefined) throw InvalidArgumentError.for('datasetId', datasetProblem);
  const resolveTable = compileTableTemplate(options.table);
  const viewProblem =
    options.dedupView === undefined ? undefined : viewIdTemplateProblem(options.dedupView.viewId);
  if (viewProblem !== undefined) throw InvalidArgumentError.for('dedupView.viewId', viewProblem);
  const mapRow = createRowMapper(options.mapping);
  const logger: Logger = (options.logger ?? silentLogger).child({ component: 'bigquery-sink' });
  const { writer, tables: manager, onEvent } = options;
  const declared: TableSchema | undefined =
    options.schema === undefined
      ? undefined
      : {
          fields: [
            ...options.schema.fields,
            ...metadataColumns(options.mapping ?? {}, options.schema.fields),
          ],
        };
  if (autoCreate && declared === undefined && options.table.includes('{')) {
    throw InvalidArgumentError.for('schema', 'is needed to create the tables of a template');
  }

  const counts = {
    rowsWritten: 0,
    rowsRetried: 0,
    deadLetteredMapping: 0,
    deadLetteredUnroutable: 0,
    deadLetteredValidation: 0,
    deadLetteredUnknownField: 0,
    deadLetteredBigQueryInvalid: 0,
    unknownFieldsDropped: 0,
    schemaChanges: 0,
    tablesCreated: 0,
  };
  const reasons = new WeakMap<TributaryError, DeadLetterReason>();
  const refuse = (reason: DeadLetterReason, error: TributaryError): TributaryError => {
    reasons.set(error, reason);
    return error;
  };
  const states = new Map<string, Promise<TableState>>();

  async function openTable(ref: TableRef): Promise<TableState> {
    const name = tableName(ref);
    let schema: TableSchema;
    if (autoCreate && declared !== undefined) {
      const ensured = await manager.ensure({
        table: ref,
        schema: declared,
        timePartitioning: options.timePartitioning,
        clustering: options.clustering,
        location: options.location,
        dedupView:
          options.dedupView === undefined
            ? undefined
            : {
                ...options.dedupView,
                viewId: renderViewId(options.dedupView.viewId, ref.tableId),
              },
      });
      schema = ensured.schema;
      if (ensured.created) {
        counts.tablesCreated++;
        onEvent?.({ type: 'table-created', table: name });
        logger.info({ table: name }, 'table created');
      } else if (ensured.mismatches.length > 0 && policy !== 'evolve') {
        logger.warn(
          { table: name, mismatches: ensured.mismatches, unknownFields: policy },
          'the table differs from the declared schema; it is used as it is',
        );
      }
    } else {
      schema = await manager.schema(ref);
    }
    return { ref, validator: compileRowValidator(schema.fields), evolving: Promise.resolve() };
  }

  function tableState(ref: TableRef): Promise<TableState> {
    const key = ref.tableId;
    let state = states.get(key);
    if (state === undefined) {
      if (states.size >= maxTables) {
        throw refuse(
          'unroutable',
          TributaryError.permanent(
            'UNROUTABLE',
            `table ${ref.tableId} would exceed maxTables (${maxTables})`,
          ),
        );
      }
      state = openTable(ref);
      states.set(key, state);
      // A failed open is forgotten, so the next message tries again.
      state.catch(() => {
        if (states.get(key) === state) states.delete(key);
      });
    }
    return state;
  }

  async function evolve(state: TableState, unknown: readonly UnknownField[]): Promise<number> {
    const additions: ColumnAddition[] = [];
    let dropped = 0;
    for (const field of unknown) {
      const inferred = inferField(field.name, field.value);
      if (inferred === undefined) dropped++;
      else additions.push({ parents: field.parents, field: inferred });
    }
    if (additions.length === 0) return dropped;
    const run = state.evolving.then(async () => {
      // Another row may have added these columns meanwhile.
      const schema = await manager.addColumns(state.ref, additions);
      const before = state.validator;
      state.validator = compileRowValidator(schema.fields);
      if (before !== state.validator) {
        const columns = additions.map((a) => [...a.parents, a.field.name].join('.'));
        counts.schemaChanges += columns.length;
        onEvent?.({ type: 'schema-change', table: tableName(state.ref), columns });
        logger.info(
          { table: tableName(state.ref), columns },
          'schema changed: NULLABLE columns added',
        );
      }
    });
    state.evolving = run.catch(() => undefined);
    await run;
    return dropped;
  }

  const service = createBatchingService<SinkRow>({
    ...options,
    stage,
    logger: options.logger,
    deadLetter:
      options.deadLetter === undefined ? undefined : countingDeadLetters(options.deadLetter),
    transformer: async (message) => {
      let tableId: string;
      let row: Record<string, unknown>;
      try {
        tableId = resolveTable(message.attributes);
      } catch (error) {
        throw refuse('unroutable', error as TributaryError);
      }
      try {
        row = mapRow(message);
      } catch (error) {
        if (error instanceof TributaryError && !error.retriable) throw refuse('mapping', error);
        throw error;
      }
      const ref: TableRef = { projectId: options.projectId, datasetId: options.datasetId, tableId };
      const state = await tableState(ref);
      let check = state.validator.check(row);
      if (check.ok && check.unknown.length > 0) {
        const unknown = check.unknown;
        if (policy === 'dead-letter') {
          throw refuse(
            'unknown-field',
            TributaryError.permanent(
              'SCHEMA_MISMATCH',
              `${unknown.map((u) => u.path).join(', ')}: no such column in ${tableName(ref)}`,
            ),
          );
        }
        let dropped = unknown.length;
        if (policy === 'evolve') {
          dropped = await evolve(state, unknown);
          check = state.validator.check(row);
        }
        if (dropped > 0 || (check.ok && check.unknown.length > 0)) {
          row = state.validator.strip(row);
          counts.unknownFieldsDropped += dropped;
          onEvent?.({ type: 'unknown-fields-dropped', fields: dropped });
        }
      }
      if (!check.ok) {
        throw refuse(
          'validation',
          TributaryError.permanent('SCHEMA_MISMATCH', check.violation.message),
        );
      }
      return emit({ table: ref, insertId: message.id, row });
    },
    // One batch per table, each flushed by its own size and age (the core's keyed batching).
    key: (item) => item.payload.table.tableId,
    maxOpenKeys: maxTables,
    processor: async (items, signal) => {
      // Keyed batching gives one table per batch; grouping keeps a direct call with mixed tables right.
      const groups = new Map<string, { ref: TableRef; indexes: number[] }>();
      items.forEach((item, index) => {
        const key = item.payload.table.tableId;
        let group = groups.get(key);
        if (group === undefined) {
          group = { ref: item.payload.table, indexes: [] };
          groups.set(key, group);
        }
        group.indexes.push(index);
      });
      const failures: ItemFailure[] = [];
      await Promise.all(
        [...groups.values()].map(async ({ ref, indexes }) => {
          let outcomes: RowOutcome[];
          try {
            outcomes = await writer.write(
              ref,
              indexes.map((i) => {
                const { insertId, row } = (items[i] as (typeof items)[number]).payload;
                return { insertId, row };
              }),
              signal,
            );
          } catch (error) {
            // A table deleted since it was opened is opened (and created) again next time.
            if (error instanceof TributaryError && error.code === 'NOT_FOUND') {
              states.delete(ref.tableId);
            }
            for (const index of indexes) failures.push({ index, error });
            return;
          }
          let written = 0;
          outcomes.forEach((outcome, k) => {
            const index = indexes[k] as number;
            switch (outcome.kind) {
              case 'ok':
                written++;
                return;
              case 'invalid': {
                const at = outcome.location === '' ? '' : `${outcome.location}: `;
                failures.push({
                  index,
                  error: refuse(
                    'bigquery-invalid',
                    TributaryError.permanent(
                      'INVALID_PAYLOAD',
                      `${at}${outcome.message} (BigQuery ${outcome.reason})`,
                    ),
                  ),
                });
                return;
              }
              case 'retriable':
                counts.rowsRetried++;
                failures.push({
                  index,
                  error: TributaryError.transient(
                    outcome.reason === 'rateLimitExceeded' || outcome.reason === 'http429'
                      ? 'RATE_LIMITED'
                      : outcome.reason === 'timeout'
                        ? 'TIMEOUT'
                        : 'UNAVAILABLE',
                    `${tableName(ref)}: ${outcome.reason}: ${outcome.message}`,
                  ),
                });
                return;
            }
          });
          counts.rowsWritten += written;
          if (written > 0)
            onEvent?.({ type: 'rows-written', table: tableName(ref), rows: written });
        }),
      );
      return failures;
    },
  });

  function countingDeadLetters(sink: DeadLetterSink): DeadLetterSink {
    return {
      async deadLetter(message, error, at) {
        await sink.deadLetter(message, error, at);
        const reason = reasons.get(error);
        if (reason === undefined) return;
        switch (reason) {
          case 'mapping':
            counts.deadLetteredMapping++;
            break;
          case 'unroutable':
            counts.deadLetteredUnroutable++;
            break;
          case 'validation':
            counts.deadLetteredValidation++;
            break;
          case 'unknown-field':
            counts.deadLetteredUnknownField++;
            break;
          case 'bigquery-invalid':
            counts.deadLetteredBigQueryInvalid++;
            break;
        }
        onEvent?.({ type: 'dead-lettered', reason });
      },
    };
  }

  const start = service.start.bind(service);
  return Object.assign(service, {
    stats: (): BigQuerySinkStats => ({ ...counts, tables: states.size }),
    // A single table is opened before the first message, so a schema mismatch is reported at
    // startup; a failure here is logged and retried with the first message.
    start: async (): Promise<void> => {
      if (!options.table.includes('{')) {
        const ref = {
          projectId: options.projectId,
          datasetId: options.datasetId,
          tableId: options.table,
        };
        await tableState(ref).catch((error: unknown) => {
          logger.warn(
            { table: tableName(ref), err: error },
            'opening the table failed; retried with the first message',
          );
        });
      }
      await start();
    },
  });
}
