import type { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryServer, type BigQueryServer } from './server.js';
import {
  caught,
  clientFor,
  PROJECT,
  READINGS_SCHEMA,
  uniqueName,
} from './test-support/bigquery-client.js';

let server: BigQueryServer;
let bq: BigQuery;
let ds: string;

beforeAll(async () => {
  server = await startBigQueryServer();
  bq = clientFor(server);
  ds = uniqueName('q');
  const [dataset] = await bq.createDataset(ds);
  const [table] = await dataset.createTable('readings', { schema: READINGS_SCHEMA });
  await table.insert(
    [
      {
        deviceId: 'd1',
        ts: '2026-01-01T00:00:00Z',
        temp: 20,
        count: 1,
        ok: true,
        tags: ['a'],
        loc: { lat: 1.5, lng: 2.5 },
      },
      {
        deviceId: 'd1',
        ts: '2026-01-01T01:00:00Z',
        temp: 22,
        count: 2,
        ok: false,
        tags: ['a', 'b'],
        loc: null,
      },
      {
        deviceId: 'd2',
        ts: '2026-01-01T02:00:00Z',
        temp: 30,
        count: 5,
        ok: true,
        tags: [],
        loc: { lat: 3, lng: 4 },
      },
      {
        deviceId: 'd3',
        ts: '2026-01-02T00:00:00Z',
        temp: null,
        count: 7,
        ok: null,
        tags: ['c'],
        samples: [{ at: '2026-01-02T00:00:01Z', values: [1, 2, 3] }],
      },
    ],
    { partialRetries: 0 },
  );
});

afterAll(async () => {
  await server.stop();
});

describe('bq.query (jobs.query)', () => {
  it('answers SELECT … WHERE over inserted rows with decoded values', async () => {
    const [rows] = await bq.query(
      `SELECT deviceId, ts, temp, count, ok, tags, loc, samples FROM \`${PROJECT}.${ds}.readings\` WHERE count = 1`,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.deviceId).toBe('d1');
    expect(row.ts.value).toBe('2026-01-01T00:00:00.000Z');
    expect(row).toMatchObject({
      temp: 20,
      count: 1,
      ok: true,
      tags: ['a'],
      loc: { lat: 1.5, lng: 2.5 },
      samples: [],
    });
  });

  it('aggregates with GROUP BY and names unnamed columns f0_, f1_', async () => {
    const [rows] = await bq.query(
      `SELECT deviceId, COUNT(*) AS n, SUM(count) AS total, AVG(temp) AS mean, MIN(ts) AS first, MAX(temp), COUNT(temp)
       FROM ${ds}.readings GROUP BY deviceId ORDER BY deviceId`,
    );
    expect(
      (rows as Record<string, { value?: string }>[]).map((r) => [
        r['deviceId'],
        r['n'],
        r['total'],
        r['mean'],
        r['first']?.value,
        r['f0_'],
        r['f1_'],
      ]),
    ).toEqual([
      ['d1', 2, 3, 21, '2026-01-01T00:00:00.000Z', 22, 2],
      ['d2', 1, 5, 30, '2026-01-01T02:00:00.000Z', 30, 1],
      ['d3', 1, 7, null, '2026-01-02T00:00:00.000Z', null, 0],
    ]);
  });

  it('reports the result schema in BigQuery type names', async () => {
    const [, , response] = await bq.query(
      `SELECT deviceId, count, temp, ok, ts, tags, loc, CAST(count AS NUMERIC) AS n, DATE '2026-01-01' AS d, JSON '{"a":1}' AS j
       FROM \`${ds}.readings\` LIMIT 1`,
    );
    const fields = (
      response as { schema: { fields: { name: string; type: string; mode: string }[] } }
    ).schema.fields;
    expect(fields.map((f) => `${f.name}:${f.type}:${f.mode}`)).toEqual([
      'deviceId:STRING:NULLABLE',
      'count:INTEGER:NULLABLE',
      'temp:FLOAT:NULLABLE',
      'ok:BOOLEAN:NULLABLE',
      'ts:TIMESTAMP:NULLABLE',
      'tags:STRING:REPEATED',
      'loc:RECORD:NULLABLE',
      'n:NUMERIC:NULLABLE',
      'd:DATE:NULLABLE',
      'j:JSON:NULLABLE',
    ]);
  });

  it('orders and limits', async () => {
    const [rows] = await bq.query(
      `SELECT deviceId, count FROM ${ds}.readings ORDER BY count DESC LIMIT 2`,
    );
    expect(rows).toEqual([
      { deviceId: 'd3', count: 7 },
      { deviceId: 'd2', count: 5 },
    ]);
  });

  it('binds named parameters (scalars, TIMESTAMP, arrays)', async () => {
    const [rows] = await bq.query({
      query: `SELECT deviceId, count FROM \`${ds}.readings\`
              WHERE count >= @min AND deviceId IN UNNEST(@ids) AND ts < @before AND ok = @ok
              ORDER BY count`,
      params: { min: 1, ids: ['d1', 'd2'], before: bq.timestamp('2026-01-01T01:30:00Z'), ok: true },
    });
    expect(rows).toEqual([{ deviceId: 'd1', count: 1 }]);
    const [floats] = await bq.query({
      query: `SELECT COUNT(*) AS n FROM ${ds}.readings WHERE temp > @t AND deviceId = @name`,
      params: { t: 20.5, name: 'd1' },
    });
    expect(floats).toEqual([{ n: 1 }]);
  });

  it('binds positional parameters', async () => {
    const [rows] = await bq.query({
      query: `SELECT deviceId FROM ${ds}.readings WHERE count > ? AND deviceId <> ? ORDER BY deviceId`,
      params: [1, 'd3'],
    });
    expect(rows).toEqual([{ deviceId: 'd1' }, { deviceId: 'd2' }]);
  });

  it('understands GoogleSQL strings, comments, SAFE_CAST, typed literals and UNNEST', async () => {
    const [rows] = await bq.query(`
      # a GoogleSQL comment
      SELECT "double \\"quoted\\"" AS s, 'it\\'s' AS t, SAFE_CAST('x' AS INT64) AS bad, CAST('7' AS INT64) AS good,
             TIMESTAMP '2026-01-01 00:00:00+00' AS at, ARRAY_LENGTH(tags) AS nTags, CURRENT_TIMESTAMP() IS NOT NULL AS now
      FROM \`${ds}\`.\`readings\` WHERE 'b' IN UNNEST(tags)`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      s: 'double "quoted"',
      t: "it's",
      bad: null,
      good: 7,
      nTags: 2,
      now: true,
    });
    expect(rows[0].at.value).toBe('2026-01-01T00:00:00.000Z');
  });

  it('resolves one-part table names against defaultDataset', async () => {
    const [rows] = await bq.query({
      query: 'SELECT COUNT(*) AS n FROM readings',
      defaultDataset: { datasetId: ds },
    });
    expect(rows).toEqual([{ n: 4 }]);
  });

  it('surfaces SQL errors as 400 invalidQuery', async () => {
    const error = await caught(() => bq.query(`SELECT nope FROM ${ds}.readings`));
    expect(error['code']).toBe(400);
    expect((error['errors'] as { reason: string }[])[0]?.reason).toBe('invalidQuery');
    expect(error.message).toMatch(/nope/);
    const syntax = await caught(() => bq.query('SELEC 1'));
    expect(syntax['code']).toBe(400);
    const missingParam = await caught(() =>
      bq.query({ query: 'SELECT @x AS x', params: { y: 1 } }),
    );
    expect(missingParam.message).toMatch(/Query parameter 'x' not found/);
  });

  it('answers 404 notFound for a missing table or dataset', async () => {
    const table = await caught(() => bq.query(`SELECT 1 FROM \`${PROJECT}.${ds}.missing\``));
    expect(table['code']).toBe(404);
    expect(table.message).toBe(
      `Not found: Table ${PROJECT}:${ds}.missing was not found in location US`,
    );
    const dataset = await caught(() => bq.query('SELECT 1 FROM nosuchds.t'));
    expect(dataset['code']).toBe(404);
  });

  it('runs DML and reports affected rows', async () => {
    const [dataset] = await bq.createDataset(uniqueName('dml'));
    const [table] = await dataset.createTable('t', { schema: 'a:STRING,n:INTEGER' });
    await table.insert(
      [
        { a: 'x', n: 1 },
        { a: 'y', n: 2 },
      ],
      { partialRetries: 0 },
    );
    const [job] = await bq.createQueryJob(
      `UPDATE ${dataset.id ?? ''}.t SET n = n + 10 WHERE a = 'y'`,
    );
    const [, , response] = await job.getQueryResults();
    expect((response as { numDmlAffectedRows: string }).numDmlAffectedRows).toBe('1');
    const [rows] = await bq.query(`SELECT n FROM ${dataset.id ?? ''}.t ORDER BY n`);
    expect(rows).toEqual([{ n: 1 }, { n: 12 }]);
  });

  it('refuses legacy SQL and DDL', async () => {
    // Legacy SQL makes the client use jobs.insert: the job comes back DONE with an error.
    const legacy = await caught(() => bq.query({ query: 'SELECT 1', useLegacySql: true }));
    expect((legacy['errors'] as { reason: string }[])[0]?.reason).toBe('invalidQuery');
    const ddl = await caught(() => bq.query(`DROP TABLE ${ds}.readings`));
    expect(ddl['code']).toBe(400);
  });
});

describe('createQueryJob + getQueryResults (jobs.insert)', () => {
  it('runs a job, gets it, and pages its results', async () => {
    const [job, resource] = await bq.createQueryJob({
      query: `SELECT deviceId, count FROM \`${ds}.readings\` ORDER BY count`,
    });
    expect(resource.status?.state).toBe('DONE');
    expect(resource.jobReference?.jobId).toBe(job.id);
    const [metadata] = await job.getMetadata();
    expect(metadata.status.state).toBe('DONE');

    const [first, next, response] = (await job.getQueryResults({
      maxResults: 3,
      autoPaginate: false,
    })) as unknown as [
      { count: number }[],
      Record<string, unknown> | null,
      { totalRows: string; pageToken?: string },
    ];
    expect(first.map((r) => r.count)).toEqual([1, 2, 5]);
    expect(response.totalRows).toBe('4');
    expect(next).not.toBeNull();
    const [second, last] = (await job.getQueryResults(next ?? {})) as unknown as [
      { count: number }[],
      unknown,
    ];
    expect(second.map((r) => r.count)).toEqual([7]);
    expect(last).toBeNull();

    const [all] = await job.getQueryResults();
    expect(all).toHaveLength(4);
  });

  it('surfaces a failed query job', async () => {
    const error = await caught(() => bq.createQueryJob('SELECT * FROM nothing_here'));
    expect((error['errors'] as { reason: string }[])[0]?.reason).toBe('invalidQuery');
  });

  it('answers 404 for an unknown job', async () => {
    const error = await caught(() => bq.job('no-such-job').getQueryResults());
    expect(error['code']).toBe(404);
  });

  it('answers a dry run with the schema only', async () => {
    const [job] = await bq.createQueryJob({
      query: `SELECT deviceId FROM ${ds}.readings`,
      dryRun: true,
    });
    const fields = (
      job.metadata as { statistics: { query: { schema: { fields: { name: string }[] } } } }
    ).statistics.query.schema.fields;
    expect(fields.map((f) => f.name)).toEqual(['deviceId']);
  });
});

describe('fault injection on queries', () => {
  it('an injected 503 on jobs.query is retried by the client', async () => {
    server.faults.inject({ kind: 'query', status: 503 });
    const [rows] = await bq.query(`SELECT COUNT(*) AS n FROM ${ds}.readings`);
    expect(rows).toEqual([{ n: 4 }]);
  });

  it('an injected 500 on getQueryResults surfaces when retries are off', async () => {
    const noRetry = clientFor(server, { autoRetry: false });
    const [job] = await noRetry.createQueryJob(`SELECT 1 AS one`);
    server.faults.inject({ kind: 'job.getQueryResults', status: 500 });
    const error = await caught(() => job.getQueryResults());
    expect(error['code']).toBe(500);
  });
});
