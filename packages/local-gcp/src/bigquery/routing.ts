/** One BigQuery REST call, recognised from the method and path. */
export type Route =
  | { readonly op: 'dataset.list'; readonly projectId: string }
  | { readonly op: 'dataset.create'; readonly projectId: string }
  | { readonly op: 'dataset.get'; readonly projectId: string; readonly datasetId: string }
  | { readonly op: 'dataset.patch'; readonly projectId: string; readonly datasetId: string }
  | { readonly op: 'dataset.delete'; readonly projectId: string; readonly datasetId: string }
  | { readonly op: 'table.list'; readonly projectId: string; readonly datasetId: string }
  | { readonly op: 'table.create'; readonly projectId: string; readonly datasetId: string }
  | {
      readonly op: 'table.get';
      readonly projectId: string;
      readonly datasetId: string;
      readonly tableId: string;
    }
  | {
      readonly op: 'table.patch';
      readonly projectId: string;
      readonly datasetId: string;
      readonly tableId: string;
    }
  | {
      readonly op: 'table.delete';
      readonly projectId: string;
      readonly datasetId: string;
      readonly tableId: string;
    }
  | {
      readonly op: 'insertAll';
      readonly projectId: string;
      readonly datasetId: string;
      readonly tableId: string;
    }
  | {
      readonly op: 'tabledata.list';
      readonly projectId: string;
      readonly datasetId: string;
      readonly tableId: string;
    }
  | { readonly op: 'query'; readonly projectId: string }
  | { readonly op: 'job.getQueryResults'; readonly projectId: string; readonly jobId: string }
  | { readonly op: 'job.insert'; readonly projectId: string }
  | { readonly op: 'job.list'; readonly projectId: string }
  | { readonly op: 'job.get'; readonly projectId: string; readonly jobId: string }
  | { readonly op: 'job.cancel'; readonly projectId: string; readonly jobId: string }
  | { readonly op: 'unknown' };

/**
 * The operation names fault rules match on (`kind`), such as `dataset.create`, `table.get`,
 * `insertAll`, `tabledata.list`, `query`, `job.insert`, `job.getQueryResults`.
 */
export type BigQueryOperation = Route['op'];

const PREFIX = '/bigquery/v2';

/**
 * Maps a request to a route. Accepts both `/bigquery/v2/projects/…` (the client's `apiEndpoint`)
 * and `/projects/…` (`BIGQUERY_EMULATOR_HOST` used verbatim as base URL).
 */
export function matchRoute(method: string, pathname: string): Route {
  const path = pathname.startsWith(`${PREFIX}/`) ? pathname.slice(PREFIX.length) : pathname;
  const parts = path.split('/').slice(1).map(decodeSegment);
  if (parts[0] !== 'projects' || parts[1] === undefined || parts[1] === '')
    return { op: 'unknown' };
  const projectId = parts[1];
  const rest = parts.slice(2);
  const [a, b, c, d, e] = rest;
  const n = rest.length;
  if (a === 'datasets') {
    if (n === 1) {
      if (method === 'GET') return { op: 'dataset.list', projectId };
      if (method === 'POST') return { op: 'dataset.create', projectId };
    }
    if (b === undefined) return { op: 'unknown' };
    const datasetId = b;
    if (n === 2) {
      if (method === 'GET') return { op: 'dataset.get', projectId, datasetId };
      if (method === 'PATCH' || method === 'PUT')
        return { op: 'dataset.patch', projectId, datasetId };
      if (method === 'DELETE') return { op: 'dataset.delete', projectId, datasetId };
    }
    if (c !== 'tables') return { op: 'unknown' };
    if (n === 3) {
      if (method === 'GET') return { op: 'table.list', projectId, datasetId };
      if (method === 'POST') return { op: 'table.create', projectId, datasetId };
    }
    if (d === undefined) return { op: 'unknown' };
    const tableId = d;
    if (n === 4) {
      if (method === 'GET') return { op: 'table.get', projectId, datasetId, tableId };
      if (method === 'PATCH' || method === 'PUT')
        return { op: 'table.patch', projectId, datasetId, tableId };
      if (method === 'DELETE') return { op: 'table.delete', projectId, datasetId, tableId };
    }
    if (n === 5 && e === 'insertAll' && method === 'POST') {
      return { op: 'insertAll', projectId, datasetId, tableId };
    }
    if (n === 5 && e === 'data' && method === 'GET') {
      return { op: 'tabledata.list', projectId, datasetId, tableId };
    }
    return { op: 'unknown' };
  }
  if (a === 'queries') {
    if (n === 1 && method === 'POST') return { op: 'query', projectId };
    if (n === 2 && b !== undefined && method === 'GET') {
      return { op: 'job.getQueryResults', projectId, jobId: b };
    }
    return { op: 'unknown' };
  }
  if (a === 'jobs') {
    if (n === 1 && method === 'POST') return { op: 'job.insert', projectId };
    if (n === 1 && method === 'GET') return { op: 'job.list', projectId };
    if (n === 2 && b !== undefined && method === 'GET')
      return { op: 'job.get', projectId, jobId: b };
    if (n === 3 && b !== undefined && c === 'cancel' && method === 'POST') {
      return { op: 'job.cancel', projectId, jobId: b };
    }
  }
  return { op: 'unknown' };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
