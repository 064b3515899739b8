import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import type * as Protobuf from 'protobufjs';
import { isView, type Catalog, type TableEntry } from './catalog.js';
import type { RowsWrittenEvent } from './context.js';
import { writeRows } from './insert-all.js';
import { InsertAllLog, type InsertAllStats } from './request-log.js';
import type { Field, FieldKind } from './schema-mapping.js';
import type { SqlEngine } from './sql-engine.js';
import { WriteApiFaults, type WriteApiMethod } from './write-api-faults.js';
import { decodeRow, typeOfWriterSchema } from './write-api-rows.js';

/** Options of the local BigQuery Storage Write API server (`BigQueryServerOptions.writeApi`). */
export interface BigQueryWriteServerOptions {
  /** @defaultValue '127.0.0.1' */
  readonly host?: string | undefined;
  /** 0 picks a free port. @defaultValue 0 */
  readonly port?: number | undefined;
  /** Largest AppendRows request, in bytes; larger ones end the connection with INVALID_ARGUMENT. @defaultValue 10_485_760 (10 MiB) */
  readonly maxRequestBytes?: number | undefined;
  /**
   * grpc-js's receive limit, in bytes: requests larger than this never reach the server's checks
   * (RESOURCE_EXHAUSTED). Above `maxRequestBytes` so oversized requests get BigQuery's answer.
   * @defaultValue 67_108_864 (64 MiB)
   */
  readonly maxReceiveBytes?: number | undefined;
  /** An AppendRows connection with no request for this long is closed with ABORTED, in milliseconds. @defaultValue 600_000 */
  readonly idleTimeoutMs?: number | undefined;
}

/** A running local BigQuery Storage Write API server (gRPC, insecure, loopback). */
export interface BigQueryWriteServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, for `BIGQUERY_STORAGE_EMULATOR_HOST`. */
  readonly emulatorHost: string;
  /** Fault rules for the next calls (UNAVAILABLE, ABORTED, hangs). */
  readonly faults: WriteApiFaults;
  /** AppendRows requests received so far: count, rows and bytes as serialized on the wire. */
  appendStats(): InsertAllStats;
  /** Cancels every open call and closes the listener. Idempotent. */
  stop(): Promise<void>;
}

/** What the Write API server shares with the REST server. */
export interface WriteApiContext {
  readonly engine: SqlEngine;
  readonly catalog: Catalog;
  readonly onRowsWritten?: ((event: RowsWrittenEvent) => void) | undefined;
}

type Json = Record<string, unknown>;
type StreamType = 'COMMITTED' | 'PENDING' | 'BUFFERED';

interface StreamState {
  readonly name: string;
  readonly type: StreamType;
  readonly table: TableEntry;
  readonly createTime: Date;
  /** The next offset: rows appended so far. */
  rowCount: number;
  /** Rows of a PENDING stream until commit, or of a BUFFERED stream until flushed. */
  readonly held: Record<string, unknown>[];
  /** BUFFERED: rows already flushed (visible). */
  flushed: number;
  finalized: boolean;
  commitTime: Date | undefined;
}

const DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
const SERVICE = 'google.cloud.bigquery.storage.v1.BigQueryWrite';
const SIZE = Symbol('requestBytes');
const STREAM_NAME = /^projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/streams\/([^/]+)$/;
const TABLE_NAME = /^projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/;

/** A gRPC failure: `code` is a grpc status, never one the client retries for a permanent error. */
class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const { status } = grpc;

/**
 * The folder of package `name` as Node finds it from `from` (its own node_modules, then each
 * parent's), without resolving an entry point: a bundle ships only the `.proto` files.
 */
function packageRoot(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${name} from ${from}`);
  }
}

function loadService(): grpc.ServiceDefinition {
  const require = createRequire(import.meta.url);
  const storageRoot = dirname(require.resolve('@google-cloud/bigquery-storage/package.json'));
  const gaxRoot = packageRoot('google-gax', storageRoot);
  // defaults: false, or every field of a DescriptorProto gets a oneofIndex and decoding breaks.
  const definition = protoLoader.loadSync('google/cloud/bigquery/storage/v1/storage.proto', {
    includeDirs: [join(storageRoot, 'build', 'protos'), join(gaxRoot, 'build', 'protos')],
    defaults: false,
    enums: String,
    longs: String,
    oneofs: true,
  });
  const service = { ...(definition[SERVICE] as grpc.ServiceDefinition) };
  const append = service['AppendRows'];
  if (append === undefined) throw new Error(`${SERVICE} has no AppendRows`);
  service['AppendRows'] = {
    ...append,
    requestDeserialize: (bytes: Buffer): unknown => {
      const message = append.requestDeserialize(bytes) as object;
      Object.defineProperty(message, SIZE, { value: bytes.length });
      return message;
    },
  };
  return service;
}

/**
 * Starts a gRPC server for `google.cloud.bigquery.storage.v1.BigQueryWrite` over the REST
 * server's DuckDB catalog: rows appended here are what queries and tabledata.list read.
 */
export async function startWriteApiServer(
  ctx: WriteApiContext,
  options: BigQueryWriteServerOptions = {},
): Promise<BigQueryWriteServer> {
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const faults = new WriteApiFaults();
  const appendLog = new InsertAllLog();
  const streams = new Map<string, StreamState>();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
  });

  function tableOf(projectId: string, datasetId: string, tableId: string): TableEntry {
    const table = ctx.catalog.findTable(projectId, datasetId, tableId);
    if (table === undefined) {
      throw new RpcError(
        status.NOT_FOUND,
        `Table not found: projects/${projectId}/datasets/${datasetId}/tables/${tableId}`,
      );
    }
    if (isView(table)) {
      throw new RpcError(status.INVALID_ARGUMENT, `${table.tableId} is a view, not a table`);
    }
    return table;
  }

  function tableOfParent(parent: unknown): TableEntry {
    const match = TABLE_NAME.exec(typeof parent === 'string' ? parent : '');
    if (match === null) {
      throw new RpcError(status.INVALID_ARGUMENT, `not a table name: ${String(parent)}`);
    }
    return tableOf(match[1] ?? '', match[2] ?? '', match[3] ?? '');
  }

  /** The stream named, or `undefined` with its table for `_default`. */
  function resolveStream(name: unknown): { table: TableEntry; state: StreamState | undefined } {
    const match = STREAM_NAME.exec(typeof name === 'string' ? name : '');
    if (match === null) {
      throw new RpcError(status.INVALID_ARGUMENT, `not a write stream name: ${String(name)}`);
    }
    const table = tableOf(match[1] ?? '', match[2] ?? '', match[3] ?? '');
    if (match[4] === '_default') return { table, state: undefined };
    const state = streams.get(name as string);
    if (state === undefined || state.table !== table) {
      throw new RpcError(status.NOT_FOUND, `Write stream not found: ${String(name)}`);
    }
    return { table, state };
  }

  async function store(table: TableEntry, rows: readonly Record<string, unknown>[]): Promise<void> {
    await writeRows(ctx.engine, table, rows);
    if (ctx.onRowsWritten !== undefined && rows.length > 0) {
      ctx.onRowsWritten({
        projectId: table.projectId,
        datasetId: table.datasetId,
        tableId: table.tableId,
        rows,
      });
    }
  }

  function unary<Req>(
    method: WriteApiMethod,
    handler: (request: Req) => Promise<Json> | Json,
  ): grpc.handleUnaryCall<Req, Json> {
    return (call, callback) => {
      void (async () => {
        try {
          const fault = faults.take(method);
          if (fault?.hangMs !== undefined) await delay(fault.hangMs);
          if (fault?.code !== undefined) throw new RpcError(fault.code, 'injected fault');
          callback(null, await handler(call.request));
        } catch (error) {
          callback(toStatus(error));
        }
      })();
    };
  }

  server.addService(loadService(), {
    CreateWriteStream: unary<Json>('CreateWriteStream', (request) => {
      const table = tableOfParent(request['parent']);
      const type = ((request['writeStream'] as Json | undefined)?.['type'] ?? '') as string;
      if (type !== 'COMMITTED' && type !== 'PENDING' && type !== 'BUFFERED') {
        throw new RpcError(status.INVALID_ARGUMENT, `unsupported write stream type: ${type}`);
      }
      const name = `projects/${table.projectId}/datasets/${table.datasetId}/tables/${table.tableId}/streams/${randomBytes(12).toString('hex')}`;
      const state: StreamState = {
        name,
        type,
        table,
        createTime: new Date(),
        rowCount: 0,
        held: [],
        flushed: 0,
        finalized: false,
        commitTime: undefined,
      };
      streams.set(name, state);
      return streamResource(state, table, true);
    }),
    GetWriteStream: unary<Json>('GetWriteStream', (request) => {
      const { table, state } = resolveStream(request['name']);
      const full = request['view'] === 'FULL';
      return state === undefined
        ? {
            name: request['name'],
            type: 'COMMITTED',
            createTime: timestamp(new Date(Number(table.resource['creationTime'] ?? Date.now()))),
            writeMode: 'INSERT',
            location: 'US',
            ...(full ? { tableSchema: tableSchema(table.fields) } : {}),
          }
        : streamResource(state, table, full);
    }),
    FinalizeWriteStream: unary<Json>('FinalizeWriteStream', (request) => {
      const { state } = resolveStream(request['name']);
      if (state === undefined) {
        throw new RpcError(status.INVALID_ARGUMENT, 'the _default stream cannot be finalized');
      }
      state.finalized = true;
      return { rowCount: String(state.rowCount) };
    }),
    BatchCommitWriteStreams: unary<Json>('BatchCommitWriteStreams', async (request) => {
      const table = tableOfParent(request['parent']);
      const names = (request['writeStreams'] ?? []) as string[];
      const streamErrors: Json[] = [];
      const chosen: StreamState[] = [];
      for (const name of names) {
        const state = streams.get(name);
        const problem =
          state === undefined || state.table !== table
            ? (['STREAM_NOT_FOUND', 'Stream not found'] as const)
            : state.type !== 'PENDING'
              ? (['INVALID_STREAM_TYPE', 'Only PENDING streams can be committed'] as const)
              : state.commitTime !== undefined
                ? (['STREAM_ALREADY_COMMITTED', 'Stream already committed'] as const)
                : !state.finalized
                  ? (['INVALID_STREAM_STATE', 'Stream is not finalized'] as const)
                  : undefined;
        if (problem === undefined && state !== undefined) chosen.push(state);
        else if (problem !== undefined) {
          streamErrors.push({ code: problem[0], entity: name, errorMessage: problem[1] });
        }
      }
      if (streamErrors.length > 0) return { streamErrors };
      // One statement for every stream: the commit is atomic.
      await store(
        table,
        chosen.flatMap((state) => state.held),
      );
      const commitTime = new Date();
      for (const state of chosen) {
        state.commitTime = commitTime;
        state.held.length = 0;
      }
      return { commitTime: timestamp(commitTime) };
    }),
    FlushRows: unary<Json>('FlushRows', async (request) => {
      const { table, state } = resolveStream(request['writeStream']);
      if (state?.type !== 'BUFFERED') {
        throw new RpcError(status.INVALID_ARGUMENT, 'FlushRows is only for BUFFERED streams');
      }
      const offset = Number((request['offset'] as Json | undefined)?.['value'] ?? 0);
      if (offset >= state.rowCount) {
        throw new RpcError(
          status.OUT_OF_RANGE,
          `Offset ${offset} is beyond the end of the stream (${state.rowCount} rows)`,
        );
      }
      if (offset >= state.flushed) {
        const rows = state.held.splice(0, offset + 1 - state.flushed);
        state.flushed = offset + 1;
        await store(table, rows);
      }
      return { offset: String(offset) };
    }),
    AppendRows: (call: grpc.ServerDuplexStream<Json, Json>) => {
      serveAppendRows(call);
    },
  });

  function serveAppendRows(call: grpc.ServerDuplexStream<Json, Json>): void {
    let ended = false;
    let streamName: string | undefined;
    let rowType: Protobuf.Type | undefined;
    let descriptorKey: string | undefined;
    let fieldsSeen: readonly Field[] | undefined;
    let chain = Promise.resolve();
    let idle: NodeJS.Timeout | undefined;

    /** Ends the call with a status: emitting an error, never destroying (that hangs the client). */
    const fail = (code: number, message: string): void => {
      if (ended) return;
      ended = true;
      clearTimeout(idle);
      call.emit('error', { code, details: message });
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        fail(
          status.ABORTED,
          `Closing the stream because it has been inactive for ${idleTimeoutMs} ms`,
        );
      }, idleTimeoutMs);
      idle.unref();
    };
    armIdle();
    call.on('data', (request: Json) => {
      armIdle();
      chain = chain
        .then(() => serveRequest(request))
        .catch((error: unknown) => {
          const { code, details } = toStatus(error);
          fail(code, details);
        });
    });
    call.on('end', () => {
      void chain.then(() => {
        if (ended) return;
        ended = true;
        clearTimeout(idle);
        call.end();
      });
    });
    call.on('cancelled', () => {
      ended = true;
      clearTimeout(idle);
    });

    async function serveRequest(request: Json): Promise<void> {
      if (ended) return;
      const fault = faults.take('AppendRows');
      const injure = async (): Promise<void> => {
        if (fault?.hangMs !== undefined) await delay(fault.hangMs);
        if (fault?.code !== undefined) throw new RpcError(fault.code, 'injected fault');
      };
      if (fault?.afterWrite !== true) await injure();
      const size = (request as { [SIZE]?: number })[SIZE] ?? 0;
      if (size > maxRequestBytes) {
        appendLog.record(size, 0, true);
        throw new RpcError(
          status.INVALID_ARGUMENT,
          `AppendRows request too large: ${size} bytes; the limit is ${maxRequestBytes} bytes`,
        );
      }
      const named = request['writeStream'];
      if (typeof named === 'string' && named !== '') {
        if (streamName !== undefined && named !== streamName) {
          throw new RpcError(status.INVALID_ARGUMENT, 'a connection writes to one stream only');
        }
        streamName = named;
      }
      if (streamName === undefined) {
        throw new RpcError(
          status.INVALID_ARGUMENT,
          'the first AppendRows request needs write_stream',
        );
      }
      const { table, state } = resolveStream(streamName);
      const protoRows = (request['protoRows'] ?? {}) as Json;
      const descriptor = (protoRows['writerSchema'] as Json | undefined)?.['protoDescriptor'];
      if (descriptor !== undefined) {
        const key = JSON.stringify(descriptor);
        if (key !== descriptorKey) {
          try {
            rowType = typeOfWriterSchema(descriptor);
          } catch (error) {
            throw new RpcError(
              status.INVALID_ARGUMENT,
              `invalid writer schema: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
          descriptorKey = key;
        }
      }
      if (rowType === undefined) {
        throw new RpcError(
          status.INVALID_ARGUMENT,
          'the first AppendRows request needs writer_schema',
        );
      }
      fieldsSeen ??= table.fields;
      const schemaChanged = fieldsSeen !== table.fields;
      fieldsSeen = table.fields;
      const respond = (response: Json): void => {
        if (ended) return;
        call.write({
          ...response,
          writeStream: streamName,
          ...(schemaChanged ? { updatedSchema: tableSchema(table.fields) } : {}),
        });
      };
      const requestError = (code: number, message: string): void => {
        respond({ error: { code, message } });
      };

      const serialized = ((protoRows['rows'] as Json | undefined)?.['serializedRows'] ??
        []) as Uint8Array[];
      appendLog.record(size, serialized.length, false);
      const rows: Record<string, unknown>[] = [];
      const rowErrors: Json[] = [];
      for (const [index, bytes] of serialized.entries()) {
        let problem: string;
        try {
          const check = table.validator(decodeRow(rowType, bytes, table.fields), false);
          if (check.ok) {
            rows.push(check.row);
            continue;
          }
          problem = `${check.problem.location === '' ? '' : `${check.problem.location}: `}${check.problem.message}`;
        } catch (error) {
          problem = `cannot decode the row: ${error instanceof Error ? error.message : String(error)}`;
        }
        rowErrors.push({ index: String(index), code: 'FIELDS_ERROR', message: problem });
      }
      if (rowErrors.length > 0) {
        respond({
          error: {
            code: status.INVALID_ARGUMENT,
            message: `${rowErrors.length} of ${serialized.length} rows violate the schema; nothing was written`,
          },
          rowErrors,
        });
        return;
      }
      const offsetValue = request['offset'] as Json | undefined;
      const offset = offsetValue === undefined ? undefined : Number(offsetValue['value'] ?? 0);
      if (state === undefined) {
        if (offset !== undefined) {
          requestError(status.INVALID_ARGUMENT, 'offsets are not supported on the _default stream');
          return;
        }
        await store(table, rows);
        if (fault?.afterWrite === true) await injure();
        respond({ appendResult: {} });
        return;
      }
      if (state.finalized || state.commitTime !== undefined) {
        requestError(status.INVALID_ARGUMENT, `Stream is finalized: ${state.name}`);
        return;
      }
      const start = state.rowCount;
      if (offset !== undefined && offset < start) {
        requestError(
          status.ALREADY_EXISTS,
          `The offset is within the stream, expected offset ${start}, received ${offset}`,
        );
        return;
      }
      if (offset !== undefined && offset > start) {
        requestError(
          status.OUT_OF_RANGE,
          `The offset is beyond the end of the stream, expected offset ${start}, received ${offset}`,
        );
        return;
      }
      // Claim the offsets before the first await: another connection on this stream sees them.
      state.rowCount += rows.length;
      if (state.type === 'COMMITTED') {
        try {
          await store(table, rows);
        } catch (error) {
          if (state.rowCount === start + rows.length) state.rowCount = start;
          throw error;
        }
      } else {
        state.held.push(...rows);
      }
      if (fault?.afterWrite === true) await injure();
      respond({ appendResult: { offset: { value: String(start) } } });
    }
  }

  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host}:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => {
        if (error === null) resolve(bound);
        else reject(error);
      },
    );
  });
  let stopped = false;
  return {
    host,
    port,
    emulatorHost: `${host}:${port}`,
    faults,
    appendStats: () => appendLog.snapshot(),
    stop: () => {
      if (!stopped) {
        stopped = true;
        server.forceShutdown();
      }
      return Promise.resolve();
    },
  };
}

function toStatus(error: unknown): { code: number; details: string } {
  if (error instanceof RpcError) return { code: error.code, details: error.message };
  // An unexpected failure: UNKNOWN, which the client does not retry (INTERNAL it would, forever).
  return { code: status.UNKNOWN, details: error instanceof Error ? error.message : String(error) };
}

function timestamp(date: Date): Json {
  const ms = date.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function streamResource(state: StreamState, table: TableEntry, full: boolean): Json {
  return {
    name: state.name,
    type: state.type,
    createTime: timestamp(state.createTime),
    ...(state.commitTime === undefined ? {} : { commitTime: timestamp(state.commitTime) }),
    writeMode: 'INSERT',
    location: 'US',
    ...(full ? { tableSchema: tableSchema(table.fields) } : {}),
  };
}

const STORAGE_TYPES: Readonly<Record<FieldKind, string>> = {
  STRING: 'STRING',
  BYTES: 'BYTES',
  INTEGER: 'INT64',
  FLOAT: 'DOUBLE',
  NUMERIC: 'NUMERIC',
  BOOLEAN: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  JSON: 'JSON',
  GEOGRAPHY: 'GEOGRAPHY',
  RECORD: 'STRUCT',
};

/** A table's schema as the Storage API's `TableSchema`. */
function tableSchema(fields: readonly Field[]): Json {
  const convert = (field: Field): Json => ({
    name: field.name,
    type: STORAGE_TYPES[field.kind],
    mode: field.mode,
    ...(field.kind === 'RECORD' ? { fields: field.fields.map(convert) } : {}),
    ...(field.maxLength === undefined ? {} : { maxLength: String(field.maxLength) }),
    ...(field.decimal === undefined
      ? {}
      : { precision: String(field.decimal.precision), scale: String(field.decimal.scale) }),
  });
  return { fields: fields.map(convert) };
}
