export { createArchiveSink, archiveSinkStatsDescription } from './sink.js';
export type { ArchiveSink, ArchiveSinkOptions, ArchiveSinkStats } from './sink.js';
export {
  classifyGcsError,
  createGcsUploader,
  objectNameFor,
  WRITER_VERSION,
} from './gcs-uploader.js';
export type { GcsUploader, GcsUploaderOptions, UploadResult } from './gcs-uploader.js';
export { compileKeyTemplate, DEFAULT_KEY_TEMPLATE_OPTIONS } from './key-template.js';
export type { KeyInput, KeyLayout, KeyTemplate, KeyTemplateOptions } from './key-template.js';
export { jsonLine, readJsonPayload } from './json-line.js';
export type { ArchiveRecord } from './json-line.js';
export { DEFAULT_GZIP_LEVEL, writeJsonlGzip } from './jsonl-writer.js';
export type { EncodedBatch } from './jsonl-writer.js';
export { DEFAULT_MAX_PART_LENGTH, joinObjectName, safePathPart } from './path-safety.js';
export type { PathPartOptions } from './path-safety.js';
