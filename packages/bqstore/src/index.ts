export { OK, tableName } from './row-writer.js';
export type { RowOutcome, RowToWrite, RowWriter, TableRef } from './row-writer.js';
export {
  createInsertAllWriter,
  DEFAULT_INSERT_ALL_WRITER_OPTIONS,
  INSERT_ALL_LIMITS,
} from './insert-all-writer.js';
export type { InsertAllWriterOptions, InsertRequestEvent } from './insert-all-writer.js';
export {
  createStorageWriteWriter,
  DEFAULT_STORAGE_WRITE_WRITER_OPTIONS,
  STORAGE_WRITE_LIMITS,
} from './storage-write-writer.js';
export type {
  AppendEvent,
  StorageWriteWriter,
  StorageWriteWriterOptions,
} from './storage-write-writer.js';
export { createBigQueryClient } from './client.js';
export type { BigQueryClientOptions } from './client.js';
export { classifyBigQueryError } from './classify-error.js';
export type { BigQueryFailure } from './classify-error.js';
export { columnType, loadSchemaFile, parseTableSchema, schemaFromJsonSchema } from './schema.js';
export type {
  ColumnType,
  FieldMode,
  JsonSchemaOptions,
  TableField,
  TableSchema,
} from './schema.js';
export { compileRowValidator } from './validate.js';
export type { RowCheck, RowValidator, RowViolation, UnknownField } from './validate.js';
export { inferField } from './infer-field.js';
export {
  createRowMapper,
  loadRowMappingFile,
  metadataColumns,
  parseRowMapping,
  RowMappingFile,
} from './mapping.js';
export type { EnrichmentMapping, RowMapper, RowMappingOptions } from './mapping.js';
export {
  datasetIdProblem,
  isDatasetId,
  isTableId,
  renderViewId,
  tableTemplateProblem,
  VIEW_TABLE_PLACEHOLDER,
  viewIdTemplateProblem,
} from './ids.js';
export { compileTableTemplate } from './table-template.js';
export type { TableResolver } from './table-template.js';
export { compareSchemas, createTableManager, dedupViewQuery } from './table-manager.js';
export type {
  ColumnAddition,
  DedupView,
  EnsuredTable,
  TableManager,
  TableSpec,
  TimePartitioning,
} from './table-manager.js';
export {
  bigQuerySinkStatsDescription,
  createBigQuerySink,
  DEFAULT_BIGQUERY_SINK_OPTIONS,
} from './sink.js';
export type {
  BigQuerySink,
  BigQuerySinkEvent,
  BigQuerySinkOptions,
  BigQuerySinkStats,
  DeadLetterReason,
  SinkRow,
  UnknownFieldPolicy,
} from './sink.js';
