import { describe, expect, it } from 'vitest';
import {
  caught,
  column,
  partialFailures,
  serveThisFile,
  uniqueName,
} from './test-support/bigquery-client.js';

const local = serveThisFile();

describe('insertAll type conversions', () => {
  // Mirrors the client library's system test "should return partial errors" (nodejs-bigquery
  // system-test/bigquery.ts), which runs against the real service.
  it('refuses a boolean for a STRING column: invalid with BigQuery message, other rows stopped', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('conv'));
    const [table] = await dataset.createTable('people', { schema: 'name:STRING' });
    const error = await caught(() =>
      table.insert([{ name: 'dave' }, { name: true }], { partialRetries: 0 }),
    );
    expect(error.name).toBe('PartialFailureError');
    expect(error['errors']).toEqual([
      { row: { name: 'dave' }, errors: [{ reason: 'stopped', message: '' }] },
      {
        row: { name: true },
        errors: [
          { reason: 'invalid', message: 'Conversion from bool to std::string is unsupported.' },
        ],
      },
    ]);
    const [rows] = await table.getRows();
    expect(rows).toEqual([]);
  });

  it('with skipInvalidRows writes the STRING row and reports only the boolean one', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('conv'));
    const [table] = await dataset.createTable('people', { schema: 'name:STRING' });
    const error = await caught(() =>
      table.insert([{ name: 'dave' }, { name: false }], {
        skipInvalidRows: true,
        partialRetries: 0,
      }),
    );
    expect(partialFailures(error).map((e) => e.row)).toEqual([{ name: false }]);
    const [rows] = await table.getRows();
    expect(column(rows, 'name')).toEqual(['dave']);
  });

  // The accepted JSON types per column type, as in `normalizeScalar`'s table (BigQuery's
  // streaming-insert rules: strings convert to numbers, booleans and timestamps; numbers and
  // booleans never convert to STRING).
  const cases: readonly [column: string, value: unknown, message: string | undefined][] = [
    ['s', 'text', undefined],
    ['s', 5, 'Conversion from int64 to std::string is unsupported.'],
    ['s', 1.5, 'Conversion from double to std::string is unsupported.'],
    ['s', true, 'Conversion from bool to std::string is unsupported.'],
    ['g', false, 'Conversion from bool to std::string is unsupported.'],
    ['i', '42', undefined],
    ['i', 42, undefined],
    ['i', 4.5, 'Cannot convert value to integer (bad value): 4.5'],
    ['i', true, 'Cannot convert value to integer (bad value): true'],
    ['f', '1.25', undefined],
    ['f', 1.25, undefined],
    ['f', true, 'Cannot convert value to floating point (bad value): true'],
    ['n', '1.5', undefined],
    ['n', 2, undefined],
    ['n', true, 'Invalid NUMERIC value: true'],
    ['b', true, undefined],
    ['b', 'FALSE', undefined],
    ['b', 1, 'Cannot convert value to boolean: 1'],
    ['ts', 1767225600, undefined],
    ['ts', '2026-01-01 00:00:00 UTC', undefined],
    ['d', '2026-01-02', undefined],
    ['d', 20260102, "Invalid date: '20260102'"],
    ['by', 'AAE=', undefined],
  ];

  it('accepts exactly the JSON types BigQuery converts, column type by column type', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('conv'));
    const [table] = await dataset.createTable('matrix', {
      schema:
        'k:INTEGER,s:STRING,g:GEOGRAPHY,i:INTEGER,f:FLOAT,n:NUMERIC,b:BOOLEAN,ts:TIMESTAMP,d:DATE,by:BYTES',
    });
    const rows = cases.map(([name, value], index) => ({ k: index, [name]: value }));
    const error = await caught(() =>
      table.insert(rows, { skipInvalidRows: true, partialRetries: 0 }),
    );
    const refused = new Map(partialFailures(error).map((e) => [e.row['k'], e.errors[0]?.message]));
    expect(cases.map(([name, value], index) => [name, value, refused.get(index)])).toEqual(
      cases.map(([name, value, message]) => [name, value, message]),
    );
    const [written] = await table.getRows();
    expect(column(written, 'k').sort((a, b) => Number(a) - Number(b))).toEqual(
      cases.flatMap(([, , message], index) => (message === undefined ? [index] : [])),
    );
  });
});
