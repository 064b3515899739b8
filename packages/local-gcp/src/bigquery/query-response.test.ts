import type { GetRowsOptions, Table } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import { caught, serveThisFile, uniqueName } from './test-support/bigquery-client.js';

const local = serveThisFile();

async function timestampTable(): Promise<Table> {
  const [dataset] = await local.bq.createDataset(uniqueName('fmt'));
  const [table] = await dataset.createTable('t', { schema: 'ts:TIMESTAMP' });
  await table.insert([{ ts: '2023-01-01T12:00:00.123456Z' }], { partialRetries: 0 });
  return table;
}

// QueryResponse in the REST reference (jobs.query): kind, schema, jobReference, queryId,
// location, totalRows, rows, totalBytesProcessed, totalBytesBilled, totalSlotMs, jobComplete,
// cacheHit, creationTime, startTime, endTime; dmlStats and numDmlAffectedRows for DML.
describe('jobs.query response shape', () => {
  it('carries queryId, location, timing and cost fields next to the rows', async () => {
    const [rows, , response] = await local.bq.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    expect(response).toMatchObject({
      kind: 'bigquery#queryResponse',
      queryId: expect.stringMatching(/^job_/) as unknown,
      location: 'US',
      jobComplete: true,
      cacheHit: false,
      totalRows: '1',
      totalBytesProcessed: '0',
      totalBytesBilled: '0',
      totalSlotMs: '0',
      creationTime: expect.stringMatching(/^\d+$/) as unknown,
      startTime: expect.stringMatching(/^\d+$/) as unknown,
      endTime: expect.stringMatching(/^\d+$/) as unknown,
      schema: { fields: [{ name: 'one', type: 'INTEGER', mode: 'NULLABLE' }] },
    });
    const body = response as { queryId: string; jobReference: { jobId: string } };
    expect(body.jobReference.jobId).toBe(body.queryId);
  });

  it('reports dmlStats for DML', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('dml'));
    await dataset.createTable('t', { schema: 'a:INTEGER' });
    const [, , response] = await local.bq.query(
      `INSERT INTO \`${dataset.id ?? ''}.t\` (a) VALUES (1), (2)`,
    );
    expect(response).toMatchObject({
      numDmlAffectedRows: '2',
      dmlStats: { insertedRowCount: '2' },
    });
  });
});

// The client library's "Timestamp Output Format" system tests (nodejs-bigquery
// system-test/timestamp_output_format.ts) expect exactly these combinations to fail with this
// message on the real service; the others succeed.
describe('formatOptions: useInt64Timestamp with timestampOutputFormat', () => {
  const both = 'Cannot specify both use_int64_timestamp and timestamp_output_format.';

  it.each([
    ['FLOAT64', true, both],
    ['ISO8601_STRING', true, both],
    ['INT64', true, undefined],
    ['TIMESTAMP_OUTPUT_FORMAT_UNSPECIFIED', true, undefined],
    ['FLOAT64', false, undefined],
    ['ISO8601_STRING', false, undefined],
    ['SECONDS', false, 'Invalid value for formatOptions.timestampOutputFormat: "SECONDS"'],
  ])('tabledata.list with %s and useInt64Timestamp=%s', async (format, useInt64, message) => {
    const table = await timestampTable();
    const options = {
      'formatOptions.timestampOutputFormat': format,
      'formatOptions.useInt64Timestamp': useInt64,
    } as GetRowsOptions;
    if (message === undefined) {
      const [rows] = await table.getRows(options);
      expect((rows[0] as { ts: { value: string } }).ts.value).toBe(
        '2023-01-01T12:00:00.123456000Z',
      );
      return;
    }
    const error = await caught(() => table.getRows(options));
    expect([error['code'], error.message]).toEqual([400, message]);
  });

  it('refuses the same combination in jobs.query and jobs.getQueryResults', async () => {
    const fromQuery = await caught(() =>
      local.bq.query('SELECT CURRENT_TIMESTAMP() AS ts', {
        'formatOptions.timestampOutputFormat': 'ISO8601_STRING',
        'formatOptions.useInt64Timestamp': true,
      }),
    );
    expect([fromQuery['code'], fromQuery.message]).toEqual([400, both]);
    const [job] = await local.bq.createQueryJob('SELECT CURRENT_TIMESTAMP() AS ts');
    // getQueryResults always sends useInt64Timestamp=true, so any FLOAT64/ISO8601 request fails.
    const fromResults = await caught(() =>
      job.getQueryResults({ 'formatOptions.timestampOutputFormat': 'FLOAT64' }),
    );
    expect([fromResults['code'], fromResults.message]).toEqual([400, both]);
  });
});
