import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import type { BigQueryServer } from '@tributary/local-gcp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createInsertAllWriter, type InsertRequestEvent } from './insert-all-writer.js';
import type { RowToWrite } from './row-writer.js';
import { CONTRACT_SCHEMA, describeRowWriterContract } from './testing/row-writer-contract.js';
import { createTable, privateServer, readRows, sharedClient } from './test-support/bigquery.js';

const shared = sharedClient();
const datasets: Dataset[] = [];

describeRowWriterContract('insertAll writer', {
  create: async () => {
    const { dataset, table } = await createTable(shared, CONTRACT_SCHEMA, 'contract');
    datasets.push(dataset);
    return {
      writer: createInsertAllWriter({ bigquery: shared }),
      table,
      missingTable: { ...table, tableId: 'missing' },
      rows: () => readRows(shared, table),
    };
  },
  cleanup: async () => {
    for (const dataset of datasets.splice(0)) await dataset.delete({ force: true });
  },
});

function rows(count: number, pad = 0): RowToWrite[] {
  return Array.from({ length: count }, (_, i) => ({
    insertId: `r${i}`,
    row: { id: `r${i}`.padEnd(pad, '.'), n: i },
  }));
}

describe('insertAll writer against a private server', () => {
  let server: BigQueryServer;
  let bq: BigQuery;
  beforeAll(async () => {
    ({ server, bq } = await privateServer());
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(() => {
    server.faults.clear();
    server.resetInsertAllStats();
  });

  it('splits a write into requests of at most maxRowsPerRequest rows (500 by default)', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const events: InsertRequestEvent[] = [];
    const writer = createInsertAllWriter({ bigquery: bq, onRequest: (e) => events.push(e) });
    const outcomes = await writer.write(table, rows(1_201));
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
    expect(server.insertAllStats()).toMatchObject({
      requests: 3,
      refused: 0,
      rows: 1_201,
      maxRequestRows: 500,
    });
    expect(events.map((e) => e.rows).sort()).toEqual([201, 500, 500]);
    // The writer's byte count is the body the server read.
    expect(events.reduce((sum, e) => sum + e.bytes, 0)).toBeGreaterThanOrEqual(
      server.insertAllStats().bytes,
    );
  });

  it('never sends a request over 10 MB: 12 MB of rows go in several requests', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = createInsertAllWriter({ bigquery: bq, maxRowsPerRequest: 50_000 });
    const outcomes = await writer.write(table, rows(6_000, 2_000));
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
    const stats = server.insertAllStats();
    expect(stats.refused).toBe(0);
    expect(stats.requests).toBeGreaterThan(1);
    expect(stats.maxRequestBytes).toBeLessThanOrEqual(10_000_000);
    expect(stats.rows).toBe(6_000);
    expect(await readRows(bq, table)).toHaveLength(6_000);
  });

  it('marks a row larger than a request may be invalid and never sends it', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = createInsertAllWriter({ bigquery: bq, maxRequestBytes: 10_000 });
    const outcomes = await writer.write(table, [...rows(2), ...rows(1, 20_000)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'invalid']);
    expect(outcomes[2]).toMatchObject({ reason: 'rowTooLarge' });
    expect(server.insertAllStats().maxRequestBytes).toBeLessThan(10_000);
  });

  it('reports BigQuery invalid rows with reason, location and message', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = createInsertAllWriter({ bigquery: bq });
    const outcomes = await writer.write(table, [
      { insertId: 'a', row: { id: 'a', n: 'abc' } },
      { insertId: 'b', row: { id: 'b' } },
    ]);
    expect(outcomes[0]).toEqual({
      kind: 'invalid',
      reason: 'invalid',
      location: 'n',
      message: 'Cannot convert value to integer (bad value): abc',
    });
    expect(outcomes[1]).toEqual({ kind: 'ok' });
  });

  it('reports the valid rows of a refused request as stopped (retriable) without skipInvalidRows', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = createInsertAllWriter({ bigquery: bq, skipInvalidRows: false });
    const outcomes = await writer.write(table, [
      { insertId: 'a', row: { id: 'a', n: 'abc' } },
      { insertId: 'b', row: { id: 'b' } },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['invalid', 'retriable']);
    expect(outcomes[1]).toMatchObject({ reason: 'stopped' });
    expect(await readRows(bq, table)).toEqual([]);
  });

  it('splits and resends a request the server still refuses as too large', async () => {
    const { server: small, bq: smallBq } = await privateServer({
      insertAllLimits: { maxRequestBytes: 20_000 },
    });
    try {
      const { table } = await createTable(smallBq, CONTRACT_SCHEMA);
      const writer = createInsertAllWriter({ bigquery: smallBq });
      const outcomes = await writer.write(table, rows(100, 500));
      expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
      const stats = small.insertAllStats();
      expect(stats.refused).toBeGreaterThan(0);
      expect(await readRows(smallBq, table)).toHaveLength(100);
    } finally {
      await small.stop();
    }
  });

  it.each([429, 503])('reports every row retriable when the request gets %i', async (status) => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = createInsertAllWriter({ bigquery: bq });
    server.faults.inject({ kind: 'insertAll', status, count: 1 });
    const failed = await writer.write(table, rows(3));
    expect(failed.map((o) => o.kind)).toEqual(['retriable', 'retriable', 'retriable']);
    const again = await writer.write(table, rows(3));
    expect(again.every((o) => o.kind === 'ok')).toBe(true);
    expect(await readRows(bq, table)).toHaveLength(3);
  });

  it('reports a request that hangs past requestTimeoutMs as retriable (timeout)', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = createInsertAllWriter({ bigquery: bq, requestTimeoutMs: 300 });
    server.faults.inject({ kind: 'insertAll', hangMs: 1_500, count: 1 });
    const outcomes = await writer.write(table, rows(2));
    expect(outcomes).toEqual([
      { kind: 'retriable', reason: 'timeout', message: 'insertAll did not answer within 300 ms' },
      { kind: 'retriable', reason: 'timeout', message: 'insertAll did not answer within 300 ms' },
    ]);
  });

  it('refuses options beyond BigQuery limits, naming them', () => {
    expect(() => createInsertAllWriter({ bigquery: bq, maxRowsPerRequest: 50_001 })).toThrow(
      /maxRowsPerRequest/,
    );
    expect(() => createInsertAllWriter({ bigquery: bq, maxRequestBytes: 10_000_001 })).toThrow(
      /maxRequestBytes/,
    );
  });
});
