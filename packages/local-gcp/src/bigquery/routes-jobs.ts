import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BigQueryContext, RouteResponse } from './context.js';
import { BigQueryApiError } from './errors.js';
import type { JobRecord, QueryRequest } from './jobs.js';
import { encodePageToken, intParam, pageOf, pageStart } from './paging.js';
import { readJsonBody } from './request-body.js';
import { METADATA_BODY_BYTES } from './routes-datasets.js';
import { toFieldResources } from './schema-mapping.js';
import { compileRowEncoder, timestampFormatOf, type TimestampFormat } from './value-encoding.js';

const QUERY_BODY_BYTES = 10 * 1024 * 1024;

/** POST /projects/PROJECT/queries (jobs.query): runs the query and answers with the first page. */
export async function handleQuery(
  ctx: BigQueryContext,
  projectId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body } = await readJsonBody(request, QUERY_BODY_BYTES);
  const location = typeof body['location'] === 'string' ? body['location'] : 'US';
  const options = (body['formatOptions'] ?? {}) as Record<string, unknown>;
  const format = timestampFormatOf(options['useInt64Timestamp'], options['timestampOutputFormat']);
  const jobCreationMode = body['jobCreationMode'];
  if (
    jobCreationMode !== undefined &&
    (typeof jobCreationMode !== 'string' || !JOB_CREATION_MODES.has(jobCreationMode))
  ) {
    throw BigQueryApiError.invalid(
      `Invalid value for jobCreationMode: ${JSON.stringify(jobCreationMode)}`,
    );
  }
  const queryId = `job_${randomUUID().replaceAll('-', '_')}`;
  const query: QueryRequest = { ...body, query: body['query'] };
  const configuration = {
    query: {
      query: body['query'],
      useLegacySql: false,
      ...pick(body, ['queryParameters', 'parameterMode', 'defaultDataset']),
    },
  };
  const job = await ctx.jobs.run(projectId, queryId, location, query, configuration);
  if (job.error !== undefined) throw job.error;
  const maxResults =
    typeof body['maxResults'] === 'number' ? body['maxResults'] : ctx.defaultPageRows;
  const statistics = job.resource['statistics'] as Record<string, unknown>;
  return {
    status: 200,
    body: {
      kind: 'bigquery#queryResponse',
      ...resultsPage(job, 0, maxResults, format),
      // QueryResponse in the REST reference: the query's id, where and when it ran, what it cost.
      queryId,
      location,
      ...(jobCreationMode === 'JOB_CREATION_OPTIONAL'
        ? { jobCreationReason: { code: 'OTHER' } }
        : {}),
      creationTime: statistics['creationTime'],
      startTime: statistics['startTime'],
      endTime: statistics['endTime'],
      totalBytesBilled: '0',
      totalSlotMs: '0',
    },
  };
}

/** `jobCreationMode` values of jobs.query; every query here creates a job. */
const JOB_CREATION_MODES: ReadonlySet<string> = new Set([
  'JOB_CREATION_MODE_UNSPECIFIED',
  'JOB_CREATION_REQUIRED',
  'JOB_CREATION_OPTIONAL',
]);

/** POST /projects/PROJECT/jobs (jobs.insert): only query jobs; the job is DONE when this returns. */
export async function handleJobInsert(
  ctx: BigQueryContext,
  projectId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body } = await readJsonBody(request, QUERY_BODY_BYTES);
  const configuration = (body['configuration'] ?? {}) as Record<string, unknown>;
  const query = configuration['query'] as Record<string, unknown> | undefined;
  if (query === undefined) {
    throw BigQueryApiError.invalid('Only query jobs are supported by the local BigQuery server.');
  }
  const reference = (body['jobReference'] ?? {}) as Record<string, unknown>;
  const jobId =
    typeof reference['jobId'] === 'string' && reference['jobId'] !== ''
      ? reference['jobId']
      : `job_${randomUUID().replaceAll('-', '_')}`;
  const location = typeof reference['location'] === 'string' ? reference['location'] : 'US';
  if (ctx.jobs.has(projectId, jobId)) {
    throw BigQueryApiError.duplicate(`Already Exists: Job ${projectId}:${location}.${jobId}`);
  }
  const job = await ctx.jobs.run(
    projectId,
    jobId,
    location,
    { ...query, query: query['query'], dryRun: configuration['dryRun'] },
    configuration,
  );
  return { status: 200, body: job.resource };
}

/** GET /projects/PROJECT/queries/JOB_ID (getQueryResults). */
export function handleGetQueryResults(
  ctx: BigQueryContext,
  projectId: string,
  jobId: string,
  url: URL,
): RouteResponse {
  const job = ctx.jobs.get(projectId, jobId, url.searchParams.get('location') ?? undefined);
  if (job.error !== undefined) throw job.error;
  const format = timestampFormatOf(
    url.searchParams.get('formatOptions.useInt64Timestamp'),
    url.searchParams.get('formatOptions.timestampOutputFormat'),
  );
  const maxResults = intParam(url, 'maxResults') ?? ctx.defaultPageRows;
  return {
    status: 200,
    body: {
      kind: 'bigquery#getQueryResultsResponse',
      etag: randomUUID(),
      ...resultsPage(job, pageStart(url), maxResults, format),
    },
  };
}

export function handleJobGet(
  ctx: BigQueryContext,
  projectId: string,
  jobId: string,
  url: URL,
): RouteResponse {
  return {
    status: 200,
    body: ctx.jobs.get(projectId, jobId, url.searchParams.get('location') ?? undefined).resource,
  };
}

export function handleJobList(ctx: BigQueryContext, projectId: string, url: URL): RouteResponse {
  const page = pageOf(ctx.jobs.list(projectId), pageStart(url), intParam(url, 'maxResults'));
  return {
    status: 200,
    body: {
      kind: 'bigquery#jobList',
      etag: randomUUID(),
      jobs: page.items.map((job) => ({
        ...pick(job.resource, [
          'kind',
          'id',
          'jobReference',
          'configuration',
          'status',
          'statistics',
          'user_email',
        ]),
        state: 'DONE',
        ...(job.error === undefined
          ? {}
          : { errorResult: { reason: job.error.reason, message: job.error.message } }),
      })),
      ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
    },
  };
}

export async function handleJobCancel(
  ctx: BigQueryContext,
  projectId: string,
  jobId: string,
  request: IncomingMessage,
  url: URL,
): Promise<RouteResponse> {
  await readJsonBody(request, METADATA_BODY_BYTES);
  const job = ctx.jobs.cancel(projectId, jobId, url.searchParams.get('location') ?? undefined);
  return { status: 200, body: { kind: 'bigquery#jobCancelResponse', job: job.resource } };
}

/** The `dmlStats` counter each DML statement type fills. */
const DML_COUNTERS: Readonly<Record<string, string>> = {
  INSERT: 'insertedRowCount',
  UPDATE: 'updatedRowCount',
  DELETE: 'deletedRowCount',
};

function resultsPage(
  job: JobRecord,
  start: number,
  maxResults: number,
  format: TimestampFormat,
): Record<string, unknown> {
  const result = job.result;
  const base = {
    jobReference: { projectId: job.projectId, jobId: job.jobId, location: job.location },
    jobComplete: true,
    cacheHit: false,
    totalBytesProcessed: '0',
  };
  if (result === undefined) return { ...base, totalRows: '0' };
  if (result.numDmlAffectedRows !== undefined) {
    const statistics = job.resource['statistics'] as { query?: { statementType?: string } };
    const counter = DML_COUNTERS[statistics.query?.statementType ?? ''];
    return {
      ...base,
      schema: { fields: [] },
      totalRows: '0',
      numDmlAffectedRows: String(result.numDmlAffectedRows),
      ...(counter === undefined
        ? {}
        : { dmlStats: { [counter]: String(result.numDmlAffectedRows) } }),
    };
  }
  const rows = result.rows.slice(start, start + maxResults);
  const next = start + rows.length;
  const encode = compileRowEncoder(result.fields, format);
  return {
    ...base,
    schema: { fields: toFieldResources(result.fields) },
    totalRows: String(result.rows.length),
    ...(next < result.rows.length && rows.length > 0 ? { pageToken: encodePageToken(next) } : {}),
    ...(rows.length > 0 ? { rows: rows.map(encode) } : {}),
  };
}

function pick(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
