import type { BigQuery, Dataset, Table } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchInsertAllStats, INSERT_ALL_STATS_PATH } from './request-log.js';
import { startBigQueryServer, type BigQueryServer } from './server.js';
import {
  caught,
  clientFor,
  column,
  READINGS_SCHEMA,
  uniqueName,
} from './test-support/bigquery-client.js';

let server: BigQueryServer;
let bq: BigQuery;

beforeAll(async () => {
  server = await startBigQueryServer();
  bq = clientFor(server);
});

afterAll(async () => {
  await server.stop();
});

async function readingsTable(): Promise<{ dataset: Dataset; table: Table }> {
  const [dataset] = await bq.createDataset(uniqueName('ins'));
  const [table] = await dataset.createTable('readings', { schema: READINGS_SCHEMA });
  return { dataset, table };
}

const TS = '2026-01-01T00:00:00.123456Z';

describe('insertAll (table.insert)', () => {
  it('writes valid rows with every kind of value', async () => {
    const { table } = await readingsTable();
    await table.insert(
      [
        {
          deviceId: 'd1',
          ts: new Date('2026-01-01T00:00:00.000Z'),
          temp: 21.5,
          count: 3,
          ok: true,
          tags: ['a', 'b'],
          loc: { lat: 1.5, lng: 2.5 },
          samples: [
            { at: TS, values: [1, 2] },
            { at: null, values: [] },
          ],
        },
        { deviceId: 'd2', temp: null, tags: [], loc: null },
      ],
      { partialRetries: 0 },
    );
    const [rows] = await table.getRows();
    expect(rows).toHaveLength(2);
    const [first, second] = rows;
    expect(first.deviceId).toBe('d1');
    expect(first.ts.value).toBe('2026-01-01T00:00:00.000Z');
    expect(first.temp).toBe(21.5);
    expect(first.count).toBe(3);
    expect(first.ok).toBe(true);
    expect(first.tags).toEqual(['a', 'b']);
    expect(first.loc).toEqual({ lat: 1.5, lng: 2.5 });
    expect(first.samples).toHaveLength(2);
    expect(first.samples[0].at.value).toBe('2026-01-01T00:00:00.123456000Z');
    expect(first.samples[0].values).toEqual([1, 2]);
    expect(first.samples[1]).toEqual({ at: null, values: [] });
    expect(second).toEqual({
      deviceId: 'd2',
      ts: null,
      temp: null,
      count: null,
      ok: null,
      tags: [],
      loc: null,
      samples: [],
    });
  });

  it('round-trips BYTES, NUMERIC, DATE, TIME, DATETIME and JSON', async () => {
    const [dataset] = await bq.createDataset(uniqueName('types'));
    const [table] = await dataset.createTable('t', {
      schema: 'b:BYTES,n:NUMERIC,d:DATE,t:TIME,dt:DATETIME,j:JSON,f:FLOAT,i:INTEGER,bo:BOOLEAN',
    });
    await table.insert(
      [
        {
          b: Buffer.from([0, 1, 254, 255]),
          n: '12345.678900001',
          d: bq.date('2026-02-03'),
          t: bq.time('04:05:06.789'),
          dt: bq.datetime('2026-02-03 04:05:06'),
          j: JSON.stringify({ k: [1, 'two'] }),
          f: -0.25,
          i: '9007199254740993',
          bo: false,
        },
      ],
      { partialRetries: 0 },
    );
    const [rows] = await table.getRows({ wrapIntegers: true, parseJSON: true });
    const row = rows[0];
    expect(Buffer.isBuffer(row.b) && [...row.b]).toEqual([0, 1, 254, 255]);
    expect(String(row.n)).toBe('12345.678900001');
    expect(row.d.value).toBe('2026-02-03');
    expect(row.t.value).toBe('04:05:06.789000');
    expect(row.dt.value).toBe('2026-02-03T04:05:06');
    expect(row.j).toEqual({ k: [1, 'two'] });
    expect(row.f).toBe(-0.25);
    expect(row.i.value).toBe('9007199254740993');
    expect(row.bo).toBe(false);
  });

  it('fails the whole request on one invalid row: invalid + stopped, nothing written', async () => {
    const { table } = await readingsTable();
    const error = await caught(() =>
      table.insert(
        [
          { deviceId: 'ok1' },
          { deviceId: 'bad', bogus: 1 },
          { count: 5 },
          { deviceId: 'bad2', count: 'abc' },
          { deviceId: 'ok2' },
        ],
        { partialRetries: 0 },
      ),
    );
    expect(error.name).toBe('PartialFailureError');
    const errors = error['errors'] as {
      row: Record<string, unknown>;
      errors: { reason: string; message: string }[];
    }[];
    expect(errors.map((e) => [e.row, e.errors])).toEqual([
      [{ deviceId: 'ok1' }, [{ reason: 'stopped', message: '' }]],
      [{ deviceId: 'bad', bogus: 1 }, [{ reason: 'invalid', message: 'no such field: bogus.' }]],
      [{ count: 5 }, [{ reason: 'invalid', message: 'Missing required field: deviceId.' }]],
      [
        { deviceId: 'bad2', count: 'abc' },
        [{ reason: 'invalid', message: 'Cannot convert value to integer (bad value): abc' }],
      ],
      [{ deviceId: 'ok2' }, [{ reason: 'stopped', message: '' }]],
    ]);
    const [rows] = await table.getRows();
    expect(rows).toEqual([]);
  });

  it('reports nested problems with their path', async () => {
    const { table } = await readingsTable();
    const error = await caught(() =>
      table.insert(
        [
          { deviceId: 'a', loc: { lat: 1, alt: 3 } },
          { deviceId: 'b', tags: 'notAnArray' },
          { deviceId: 'c', loc: 'notARecord' },
          { deviceId: 'd', ts: 'yesterday' },
        ],
        { partialRetries: 0 },
      ),
    );
    const messages = (error['errors'] as { errors: { message: string }[] }[]).map(
      (e) => e.errors[0]?.message,
    );
    expect(messages[0]).toBe('no such field: loc.alt.');
    expect(messages[1]).toMatch(/repeated field tags/);
    expect(messages[2]).toBe('This field: loc is not a record.');
    expect(messages[3]).toMatch(/Could not parse 'yesterday' as a timestamp/);
  });

  it('with skipInvalidRows writes the valid rows and reports only the invalid ones', async () => {
    const { table } = await readingsTable();
    const error = await caught(() =>
      table.insert([{ deviceId: 'v1' }, { deviceId: 'x', bogus: true }, { deviceId: 'v2' }], {
        skipInvalidRows: true,
        partialRetries: 0,
      }),
    );
    const errors = error['errors'] as {
      row: Record<string, unknown>;
      errors: { reason: string }[];
    }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]?.row).toEqual({ deviceId: 'x', bogus: true });
    expect(errors[0]?.errors[0]?.reason).toBe('invalid');
    const [rows] = await table.getRows();
    expect(column(rows, 'deviceId')).toEqual(['v1', 'v2']);
  });

  it('with ignoreUnknownValues drops unknown fields (also nested ones)', async () => {
    const { table } = await readingsTable();
    await table.insert([{ deviceId: 'u1', bogus: 1, loc: { lat: 1, extra: 'x' } }], {
      ignoreUnknownValues: true,
      partialRetries: 0,
    });
    const [rows] = await table.getRows({ selectedFields: 'deviceId,loc' });
    expect(rows).toEqual([{ deviceId: 'u1', loc: { lat: 1, lng: null } }]);
  });

  it('de-duplicates rows by insertId (raw rows)', async () => {
    const { table } = await readingsTable();
    await table.insert(
      [
        { insertId: 'id-1', json: { deviceId: 'first' } },
        { insertId: 'id-1', json: { deviceId: 'same request' } },
      ],
      { raw: true, partialRetries: 0 },
    );
    await table.insert([{ insertId: 'id-1', json: { deviceId: 'retry' } }], {
      raw: true,
      partialRetries: 0,
    });
    await table.insert([{ insertId: 'id-2', json: { deviceId: 'second' } }], {
      raw: true,
      partialRetries: 0,
    });
    const [rows] = await table.getRows();
    expect(column(rows, 'deviceId')).toEqual(['first', 'second']);
  });

  it('retries partial failures with fresh insertIds by default (partialRetries 3)', async () => {
    const { table } = await readingsTable();
    const error = await caught(() => table.insert([{ deviceId: 'x', bogus: 1 }]));
    expect(error.name).toBe('PartialFailureError');
    const [rows] = await table.getRows();
    expect(rows).toEqual([]);
  });

  it('refuses more than 50,000 rows and bodies over 10 MB like BigQuery', async () => {
    const { table } = await readingsTable();
    const many = Array.from({ length: 50_001 }, (_, i) => ({ deviceId: `d${i}` }));
    const tooMany = await caught(() => table.insert(many, { partialRetries: 0 }));
    expect(tooMany['code']).toBe(400);
    expect(tooMany.message).toBe(
      'too many rows present in the request, limit: 50000 row count: 50001.',
    );

    const big = Array.from({ length: 11 }, (_, i) => ({
      deviceId: `${i}`.padEnd(1024 * 1024, 'x'),
    }));
    const tooBig = await caught(() => table.insert(big, { partialRetries: 0 }));
    expect(tooBig['code']).toBe(400);
    expect(tooBig.message).toBe('Request payload size exceeds the limit: 10485760 bytes.');
    expect((tooBig['errors'] as { reason: string }[])[0]?.reason).toBe('badRequest');
    const [rows] = await table.getRows();
    expect(rows).toEqual([]);
  });

  it('counts the size of every insertAll request, refused ones too', async () => {
    const { table } = await readingsTable();
    server.resetInsertAllStats();
    await table.insert(
      [{ deviceId: 'a' }, { deviceId: 'b' }].map((json, i) => ({ insertId: `${i}`, json })),
      { raw: true, partialRetries: 0 },
    );
    const one = server.insertAllStats();
    expect(one).toMatchObject({ requests: 1, refused: 0, rows: 2, maxRequestRows: 2 });
    expect(one.bytes).toBe(
      Buffer.byteLength(
        JSON.stringify({
          rows: [
            { insertId: '0', json: { deviceId: 'a' } },
            { insertId: '1', json: { deviceId: 'b' } },
          ],
        }),
      ),
    );
    const big = Array.from({ length: 11 }, (_, i) => ({
      deviceId: `${i}`.padEnd(1024 * 1024, 'x'),
    }));
    await caught(() => table.insert(big, { partialRetries: 0 }));
    const two = await fetchInsertAllStats(server.url);
    expect(two).toMatchObject({ requests: 2, refused: 1, rows: 2 });
    expect(two.maxRequestBytes).toBeGreaterThan(11 * 1024 * 1024);
    // A body that is not JSON (a client killed mid-upload sends a cut one) is a bad request,
    // not a refusal for its size.
    const insertUrl = new URL(
      `/bigquery/v2/projects/${table.dataset.projectId}/datasets/${table.dataset.id ?? ''}/tables/${table.id ?? ''}/insertAll`,
      server.url,
    );
    const cut = await fetch(insertUrl, { method: 'POST', body: '{"rows": [{"json": {"devi' });
    expect(cut.status).toBe(400);
    expect(server.insertAllStats()).toMatchObject({ requests: 3, refused: 1 });
    await fetch(new URL(INSERT_ALL_STATS_PATH, server.url), { method: 'DELETE' });
    expect(server.insertAllStats().requests).toBe(0);
  });

  it('answers 404 for rows sent to a missing table', async () => {
    const { dataset } = await readingsTable();
    const error = await caught(() =>
      dataset.table('nope').insert([{ a: 1 }], { partialRetries: 0 }),
    );
    expect(error['code']).toBe(404);
  });

  it('writes to {table}{templateSuffix}, created from the template on first use', async () => {
    const { dataset, table } = await readingsTable();
    await table.insert([{ deviceId: 'tpl' }], { templateSuffix: '_20260101', partialRetries: 0 });
    const [rows] = await dataset.table('readings_20260101').getRows();
    expect(column(rows, 'deviceId')).toEqual(['tpl']);
  });
});

describe('fault injection on insertAll', () => {
  it('a single injected 503 is retried by the client and the rows land once', async () => {
    const { table } = await readingsTable();
    server.faults.inject({ kind: 'insertAll', status: 503 });
    await table.insert([{ insertId: 'f-1', json: { deviceId: 'retried' } }], {
      raw: true,
      partialRetries: 0,
    });
    const [rows] = await table.getRows();
    expect(column(rows, 'deviceId')).toEqual(['retried']);
  });

  it('with autoRetry off, the 503 surfaces as an ApiError', async () => {
    const { dataset } = await readingsTable();
    const noRetry = clientFor(server, { autoRetry: false });
    server.faults.inject({ kind: 'insertAll', status: 503 });
    const error = await caught(() =>
      noRetry
        .dataset(dataset.id ?? '')
        .table('readings')
        .insert([{ deviceId: 'x' }], { partialRetries: 0 }),
    );
    expect(error['code']).toBe(503);
    expect((error['errors'] as { reason: string }[])[0]?.reason).toBe('injectedFault');
  });
});

describe('tabledata.list (table.getRows)', () => {
  it('pages with maxResults + pageToken (autoPaginate false) and startIndex', async () => {
    const { table } = await readingsTable();
    await server.loadRows(
      'test-proj',
      table.dataset.id ?? '',
      'readings',
      Array.from({ length: 25 }, (_, i) => ({
        deviceId: `d${String(i).padStart(2, '0')}`,
        count: i,
      })),
    );
    const seen: string[] = [];
    let query: Record<string, unknown> | null = { maxResults: 10, autoPaginate: false };
    let pages = 0;
    while (query !== null) {
      const [rows, next, response] = (await table.getRows(query)) as unknown as [
        { deviceId: string }[],
        Record<string, unknown> | null,
        { totalRows: string },
      ];
      expect(response.totalRows).toBe('25');
      seen.push(...rows.map((r) => r.deviceId));
      pages += 1;
      query = next;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `d${String(i).padStart(2, '0')}`));

    const [fromIndex] = await table.getRows({
      startIndex: '20',
      maxResults: 3,
      autoPaginate: false,
    });
    expect(column(fromIndex, 'count')).toEqual([20, 21, 22]);

    // With autoPaginate on, the client treats maxResults as a cap on the total.
    const [capped] = await table.getRows({ maxResults: 7 });
    expect(capped).toHaveLength(7);
    const [all] = await table.getRows();
    expect(all).toHaveLength(25);
  });

  it('encodes TIMESTAMP as float seconds when the client asks for it', async () => {
    const { table } = await readingsTable();
    await table.insert([{ deviceId: 'f', ts: '2026-01-01 00:00:00.5 UTC' }], { partialRetries: 0 });
    const [rows] = await table.getRows({ 'formatOptions.useInt64Timestamp': false });
    expect(rows[0].ts.value).toBe('2026-01-01T00:00:00.500Z');
  });
});
