import { describe, expect, it } from 'vitest';
import {
  caught,
  column,
  partialFailures,
  serveThisFile,
  uniqueName,
} from './test-support/bigquery-client.js';

const local = serveThisFile();

describe('schema echo', () => {
  it('keeps the mode absent where the request gave none, in the create response and tables.get', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('schema'));
    const fields = [
      { name: 'a', type: 'STRING' },
      { name: 'b', type: 'INTEGER', mode: 'REQUIRED' },
      { name: 'c', type: 'RECORD', fields: [{ name: 'x', type: 'BOOLEAN' }] },
      { name: 'd', type: 'STRING', mode: 'NULLABLE' },
    ];
    const [table, created] = await dataset.createTable('t', { schema: { fields } });
    expect(created.schema?.fields).toEqual(fields);
    const [metadata] = await table.getMetadata();
    expect(metadata.schema.fields).toEqual(fields);
  });
});

// TableFieldSchema.precision / .scale in the REST reference: only for NUMERIC/BIGNUMERIC;
// 1 <= P - S <= 29 and 0 <= S <= 9; precision alone means scale 0; values must lie in
// [-10^(P-S) + 10^-S, 10^(P-S) - 10^-S].
describe('NUMERIC precision and scale', () => {
  it('are echoed as the REST API does (int64 strings)', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('numeric'));
    const [table] = await dataset.createTable('t', {
      schema: { fields: [{ name: 'amount', type: 'NUMERIC', precision: '5', scale: '2' }] },
    });
    const [metadata] = await table.getMetadata();
    expect(metadata.schema.fields).toEqual([
      { name: 'amount', type: 'NUMERIC', precision: '5', scale: '2' },
    ]);
  });

  it('are enforced on insert: out-of-range rows are invalid, extra digits are rounded', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('numeric'));
    const [table] = await dataset.createTable('t', {
      schema: {
        fields: [
          { name: 'k', type: 'INTEGER' },
          { name: 'amount', type: 'NUMERIC', precision: '5', scale: '2' },
          { name: 'whole', type: 'NUMERIC', precision: '3' },
        ],
      },
    });
    const error = await caught(() =>
      table.insert(
        [
          { k: 1, amount: '999.99', whole: 999 },
          { k: 2, amount: '1000', whole: 1 },
          { k: 3, amount: '-123.456', whole: '12.5' },
          { k: 4, amount: 0, whole: '1000' },
        ],
        { skipInvalidRows: true, partialRetries: 0 },
      ),
    );
    const failures = partialFailures(error);
    expect(failures.map((f) => [f.row['k'], f.errors[0]?.reason, f.errors[0]?.message])).toEqual([
      [2, 'invalid', 'Value 1000 is out of range for NUMERIC(5, 2) field amount.'],
      [4, 'invalid', 'Value 1000 is out of range for NUMERIC(3, 0) field whole.'],
    ]);
    const [rows] = await table.getRows();
    expect(column(rows, 'k')).toEqual([1, 3]);
    expect(rows.map((row) => [String(row['amount']), String(row['whole'])])).toEqual([
      ['999.99', '999'],
      ['-123.46', '13'],
    ]);
  });

  it('refuses precision and scale BigQuery refuses', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('numeric'));
    const bad = [
      { name: 'n', type: 'NUMERIC', precision: '40', scale: '2' },
      { name: 'n', type: 'NUMERIC', precision: '5', scale: '10' },
      { name: 'n', type: 'NUMERIC', scale: '2' },
      { name: 's', type: 'STRING', precision: '5' },
    ];
    for (const [index, field] of bad.entries()) {
      const error = await caught(() =>
        dataset.createTable(`t${index}`, { schema: { fields: [field] } }),
      );
      expect([index, error['code']]).toEqual([index, 400]);
    }
  });
});

// TableFieldSchema.maxLength in the REST reference: only for STRING (characters) and BYTES
// (bytes).
describe('STRING and BYTES maxLength', () => {
  it('is echoed and enforced on insert; refused on other types', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('maxlen'));
    const fields = [
      { name: 'k', type: 'INTEGER' },
      { name: 's', type: 'STRING', maxLength: '3' },
      { name: 'b', type: 'BYTES', maxLength: '2' },
    ];
    const [table] = await dataset.createTable('t', { schema: { fields } });
    const [metadata] = await table.getMetadata();
    expect(metadata.schema.fields).toEqual(fields);
    const error = await caught(() =>
      table.insert(
        [
          { k: 1, s: 'äöü', b: Buffer.from([1, 2]) },
          { k: 2, s: 'abcd' },
          { k: 3, b: Buffer.from([1, 2, 3]) },
        ],
        { skipInvalidRows: true, partialRetries: 0 },
      ),
    );
    expect(partialFailures(error).map((f) => [f.row['k'], f.errors[0]?.message])).toEqual([
      [2, 'Value of length 4 exceeds maxLength 3 of STRING field s.'],
      [3, 'Value of length 3 exceeds maxLength 2 of BYTES field b.'],
    ]);
    const [rows] = await table.getRows();
    expect(column(rows, 'k')).toEqual([1]);
    const refused = await caught(() =>
      dataset.createTable('u', {
        schema: { fields: [{ name: 'i', type: 'INTEGER', maxLength: '3' }] },
      }),
    );
    expect(refused['code']).toBe(400);
  });
});

describe('table options BigQuery refuses together', () => {
  it('refuses timePartitioning with rangePartitioning (Table, REST reference)', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('parts'));
    const error = await caught(() =>
      dataset.createTable('t', {
        schema: 'ts:TIMESTAMP,n:INTEGER',
        timePartitioning: { type: 'DAY', field: 'ts' },
        rangePartitioning: { field: 'n', range: { start: '0', end: '100', interval: '10' } },
      }),
    );
    expect([error['code'], error.message]).toEqual([
      400,
      'Only one of timePartitioning and rangePartitioning may be specified.',
    ]);
  });
});
