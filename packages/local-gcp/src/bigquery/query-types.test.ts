import { describe, expect, it } from 'vitest';
import { serveThisFile, uniqueName } from './test-support/bigquery-client.js';

const local = serveThisFile();

async function firstRow(
  query: Parameters<typeof local.bq.query>[0],
): Promise<Record<string, unknown>> {
  const [rows] = await local.bq.query(query);
  expect(rows).toHaveLength(1);
  return rows[0] as Record<string, unknown>;
}

// The client library's own system tests (nodejs-bigquery system-test/bigquery.ts, "SQL
// parameters") run these exact statements against BigQuery: TIMESTAMP, TIME, DATE and DATETIME
// are not reserved in GoogleSQL, so they are valid aliases without AS.
describe('keywords of DuckDB as GoogleSQL aliases', () => {
  it('SELECT ? timestamp / ? date / ? datetime / ? time (positional)', async () => {
    const at = new Date('2026-03-04T05:06:07.000Z');
    expect(await firstRow({ query: 'SELECT ? timestamp', params: [at] })).toEqual({
      timestamp: local.bq.timestamp(at),
    });
    const date = await firstRow({ query: 'SELECT ? date', params: [local.bq.date('2016-12-7')] });
    expect((date['date'] as { value: string }).value).toBe('2016-12-07');
    const datetime = await firstRow({
      query: 'SELECT ? datetime',
      params: [local.bq.datetime('2016-12-7 14:00:00')],
    });
    expect((datetime['datetime'] as { value: string }).value).toBe('2016-12-07T14:00:00');
    const time = await firstRow({ query: 'SELECT ? time', params: [local.bq.time('14:00:00')] });
    expect((time['time'] as { value: string }).value).toBe('14:00:00');
  });

  it('SELECT @time timestamp, @time time and CURRENT_TIMESTAMP() timestamp (named)', async () => {
    const at = new Date('2026-03-04T05:06:07.000Z');
    const row = await firstRow({ query: 'SELECT @time timestamp', params: { time: at } });
    expect((row['timestamp'] as { value: string }).value).toBe('2026-03-04T05:06:07.000Z');
    const time = await firstRow({
      query: 'SELECT @time time',
      params: { time: local.bq.time('01:02:03') },
    });
    expect((time['time'] as { value: string }).value).toBe('01:02:03');
    const now = await firstRow({ query: 'SELECT CURRENT_TIMESTAMP() timestamp' });
    expect(Object.keys(now)).toEqual(['timestamp']);
  });

  it('keeps a column named like a DuckDB reserved word usable (offset, value)', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('kw'));
    await dataset.createTable('t', { schema: 'offset:INTEGER,value:STRING' });
    await dataset.table('t').insert([{ offset: 7, value: 'v' }], { partialRetries: 0 });
    const row = await firstRow({
      query: `SELECT offset, value FROM \`${dataset.id ?? ''}.t\` LIMIT 1 OFFSET 0`,
    });
    expect(row).toEqual({ offset: 7, value: 'v' });
  });
});

// GoogleSQL "Numeric literals": a literal with a decimal point or exponent is FLOAT64; NUMERIC
// comes only from NUMERIC literals, casts and columns (the client decodes NUMERIC as Big).
describe('literal and expression types', () => {
  it('types 3.5 and 1e3 FLOAT64, so the client returns numbers', async () => {
    const row = await firstRow({ query: 'SELECT 3.5 AS x, 1e3 AS y, 3.5 * 2 AS z, 7 AS i' });
    expect(row).toEqual({ x: 3.5, y: 1000, z: 7, i: 7 });
  });

  it("types NUMERIC '…' literals, casts and NUMERIC columns NUMERIC (Big)", async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('num'));
    await dataset.createTable('t', { schema: 'n:NUMERIC' });
    await dataset.table('t').insert([{ n: '2.25' }], { partialRetries: 0 });
    const row = await firstRow({
      query: `SELECT NUMERIC '3.5' AS a, CAST(1 AS NUMERIC) AS b, n, n * 2 AS d FROM \`${dataset.id ?? ''}.t\``,
    });
    expect(Object.values(row).map((v) => (v as object).constructor.name)).toEqual([
      'Big',
      'Big',
      'Big',
      'Big',
    ]);
    expect(Object.values(row).map(String)).toEqual(['3.5', '1', '2.25', '4.5']);
  });
});
