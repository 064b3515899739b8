import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import type { BigQueryServer, BigQueryWriteServer } from '@tributary/local-gcp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RowToWrite } from './row-writer.js';
import {
  createStorageWriteWriter,
  type AppendEvent,
  type StorageWriteWriter,
  type StorageWriteWriterOptions,
} from './storage-write-writer.js';
import { CONTRACT_SCHEMA, describeRowWriterContract } from './testing/row-writer-contract.js';
import { createTable, privateServer, PROJECT, readRows } from './test-support/bigquery.js';

let server: BigQueryServer;
let writeApi: BigQueryWriteServer;
let bq: BigQuery;
const datasets: Dataset[] = [];
const writers: StorageWriteWriter[] = [];

beforeAll(async () => {
  ({ server, bq } = await privateServer({ writeApi: {} }));
  if (server.writeApi === undefined) throw new Error('writeApi was not started');
  writeApi = server.writeApi;
});

afterAll(async () => {
  for (const writer of writers.splice(0)) writer.close();
  await server.stop();
});

afterEach(() => {
  writeApi.faults.clear();
});

function newWriter(options: Partial<StorageWriteWriterOptions> = {}): StorageWriteWriter {
  const writer = createStorageWriteWriter({
    projectId: PROJECT,
    emulatorHost: writeApi.emulatorHost,
    reconnectBackoff: { initialDelayMs: 10, maxDelayMs: 50 },
    ...options,
  });
  writers.push(writer);
  return writer;
}

for (const [title, stream] of [
  ['Storage Write writer', 'default'],
  ['Storage Write writer, committed stream (exactly-once)', 'committed'],
] as const) {
  describeRowWriterContract(title, {
    create: async () => {
      const { dataset, table } = await createTable(bq, CONTRACT_SCHEMA, `sw${stream}`);
      datasets.push(dataset);
      return {
        writer: newWriter({ stream }),
        table,
        missingTable: { ...table, tableId: 'missing' },
        rows: () => readRows(bq, table),
      };
    },
    cleanup: async () => {
      for (const writer of writers.splice(0)) writer.close();
      for (const dataset of datasets.splice(0)) await dataset.delete({ force: true });
    },
  });
}

function rows(count: number, pad = 0): RowToWrite[] {
  return Array.from({ length: count }, (_, i) => ({
    insertId: `r${i}`,
    row: { id: `r${i}`.padEnd(pad, '.'), n: i },
  }));
}

describe('Storage Write writer against a private server', () => {
  it('splits a write larger than maxRequestBytes into several appends on one connection', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const events: AppendEvent[] = [];
    const writer = newWriter({ onAppend: (event) => events.push(event) });
    // About 12 MB of rows: more than one 10 MB request may carry.
    const outcomes = await writer.write(table, rows(6_000, 2_000));
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
    expect(events.length).toBeGreaterThan(1);
    expect(events.every((e) => e.result === 'ok')).toBe(true);
    expect(Math.max(...events.map((e) => e.bytes))).toBeLessThanOrEqual(8_000_000);
    expect(events.reduce((sum, e) => sum + e.rows, 0)).toBe(6_000);
    expect(await readRows(bq, table)).toHaveLength(6_000);
  });

  it('maps row_errors from the server to invalid outcomes with the field, and resends the rest', async () => {
    // STRING(3): the writer's own validation does not know the length; the server refuses.
    const { table } = await createTable(bq, {
      fields: [{ name: 'id', type: 'STRING', mode: 'REQUIRED', maxLength: '3' }],
    });
    const events: AppendEvent[] = [];
    const writer = newWriter({ onAppend: (event) => events.push(event) });
    const outcomes = await writer.write(table, [
      { insertId: 'a', row: { id: 'abc' } },
      { insertId: 'b', row: { id: 'toolong' } },
      { insertId: 'c', row: { id: 'xyz' } },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'invalid', 'ok']);
    expect(outcomes[1]).toMatchObject({ kind: 'invalid', location: 'id' });
    expect(events.map((e) => e.result)).toEqual(['rowErrors', 'ok']);
    expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual(['abc', 'xyz']);
  });

  it('encodes TIMESTAMP text and epoch seconds, DATE text and JSON values as BigQuery reads them', async () => {
    const { table } = await createTable(bq, {
      fields: [
        { name: 'id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'day', type: 'DATE' },
        { name: 'doc', type: 'JSON' },
      ],
    });
    const writer = newWriter();
    const outcomes = await writer.write(table, [
      {
        insertId: 'a',
        row: { id: 'a', ts: '2026-01-01T00:00:00.123456Z', day: '2026-01-02', doc: { k: [1] } },
      },
      { insertId: 'b', row: { id: 'b', ts: 1767225600.5 } },
      { insertId: 'c', row: { id: 'c', ts: '2026-01-01 02:00:00' } },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'ok']);
    const stored = (await readRows(bq, table)).sort((x, y) =>
      String(x['id']).localeCompare(String(y['id'])),
    );
    const value = (v: unknown): unknown => (v as { value?: unknown } | null)?.value ?? v;
    expect(stored.map((r) => [r['id'], value(r['ts']), value(r['day'])])).toEqual([
      ['a', '2026-01-01T00:00:00.123456000Z', '2026-01-02'],
      ['b', '2026-01-01T00:00:00.500Z', null],
      ['c', '2026-01-01T02:00:00.000Z', null],
    ]);
    expect(JSON.parse(String(stored[0]?.['doc']))).toEqual({ k: [1] });
  });

  it.each([
    ['UNAVAILABLE', 14],
    ['ABORTED', 10],
  ])('reconnects after %s and writes every row once', async (name, code) => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const events: AppendEvent[] = [];
    const writer = newWriter({ onAppend: (event) => events.push(event) });
    // Open the connection first, so the fault hits an established stream.
    expect((await writer.write(table, rows(1))).map((o) => o.kind)).toEqual(['ok']);
    writeApi.faults.inject({ code, method: 'AppendRows' });
    const outcomes = await writer.write(table, rows(3).slice(1));
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok']);
    expect(events.map((e) => e.reason ?? e.result)).toEqual(['ok', name, 'ok']);
    expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual(['r0', 'r1', 'r2']);
  });

  it('reports rows as retriable once every attempt failed', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = newWriter({ maxAttempts: 2 });
    writeApi.faults.inject({ code: 14, method: 'AppendRows', count: 2 });
    const outcomes = await writer.write(table, rows(2));
    expect(outcomes).toEqual([
      expect.objectContaining({ kind: 'retriable', reason: 'UNAVAILABLE' }),
      expect.objectContaining({ kind: 'retriable', reason: 'UNAVAILABLE' }),
    ]);
    expect(await readRows(bq, table)).toHaveLength(0);
  });

  it('bounds outstanding appends by count', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const bounded: AppendEvent[] = [];
    const unbounded: AppendEvent[] = [];
    const small = { maxRequestBytes: 2_000 };
    const one = newWriter({ ...small, maxOutstandingAppends: 1, onAppend: (e) => bounded.push(e) });
    const many = newWriter({ ...small, onAppend: (e) => unbounded.push(e) });
    expect((await one.write(table, rows(8, 1_500))).every((o) => o.kind === 'ok')).toBe(true);
    expect(
      (
        await many.write(
          table,
          rows(8, 1_500).map((r) => ({ ...r, insertId: `x${r.insertId}` })),
        )
      ).every((o) => o.kind === 'ok'),
    ).toBe(true);
    expect(bounded).toHaveLength(8);
    expect(bounded.every((e) => e.outstandingAppends === 1)).toBe(true);
    // Without the bound the same write pipelines its appends on the connection.
    expect(Math.max(...unbounded.map((e) => e.outstandingAppends))).toBeGreaterThan(1);
  });

  it('remembers at most maxRememberedInsertIds written ids, the newest', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const events: AppendEvent[] = [];
    const writer = newWriter({ maxRememberedInsertIds: 2, onAppend: (e) => events.push(e) });
    for (const one of rows(3))
      expect((await writer.write(table, [one])).map((o) => o.kind)).toEqual(['ok']);
    // r1 and r2 are remembered: not sent again. r0 was forgotten: sent again, stored twice.
    await writer.write(table, rows(3).slice(1));
    expect(events).toHaveLength(3);
    await writer.write(table, rows(1));
    expect(events).toHaveLength(4);
    expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual([
      'r0',
      'r0',
      'r1',
      'r2',
    ]);
  });

  it('follows a table patch: after updated_schema, rows with the new column encode and validate', async () => {
    const { dataset, table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = newWriter();
    expect((await writer.write(table, rows(1))).map((o) => o.kind)).toEqual(['ok']);
    const bqTable = dataset.table(table.tableId);
    const [metadata] = await bqTable.getMetadata();
    const fields = (metadata as { schema: { fields: never[] } }).schema.fields;
    await bqTable.setMetadata({
      schema: { fields: [...fields, { name: 'extra', type: 'STRING' }] },
    });
    // The next answer carries updated_schema; the writer rebuilds its descriptor and validator.
    expect((await writer.write(table, rows(2).slice(1))).map((o) => o.kind)).toEqual(['ok']);
    const outcomes = await writer.write(table, [
      { insertId: 'x', row: { id: 'x', n: 9, extra: 'new' } },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['ok']);
    const stored = await readRows(bq, table);
    expect(stored.find((r) => r['id'] === 'x')?.['extra']).toBe('new');
  });

  it('on the default stream, writes an append twice when its answer is lost (at-least-once)', async () => {
    const { table } = await createTable(bq, CONTRACT_SCHEMA);
    const writer = newWriter();
    expect((await writer.write(table, rows(1))).map((o) => o.kind)).toEqual(['ok']);
    // The server writes r1 and r2, then the connection fails before the answer.
    writeApi.faults.inject({ code: 14, method: 'AppendRows', afterWrite: true });
    const outcomes = await writer.write(table, rows(3).slice(1));
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok']);
    expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual([
      'r0',
      'r1',
      'r1',
      'r2',
      'r2',
    ]);
  });

  describe("stream: 'committed' (exactly-once)", () => {
    it.each([
      ['a failed connection', { code: 14 }, 'UNAVAILABLE'],
      ['a hang past appendTimeoutMs', { hangMs: 1_500 }, 'timeout'],
    ])(
      'writes an append whose answer is lost exactly once (%s): the finalized stream says it landed',
      async (_name, fault, reason) => {
        const { table } = await createTable(bq, CONTRACT_SCHEMA);
        const events: AppendEvent[] = [];
        const writer = newWriter({
          stream: 'committed',
          appendTimeoutMs: 500,
          onAppend: (event) => events.push(event),
        });
        expect((await writer.write(table, rows(1))).map((o) => o.kind)).toEqual(['ok']);
        writeApi.faults.inject({ ...fault, method: 'AppendRows', afterWrite: true });
        const outcomes = await writer.write(table, rows(3).slice(1));
        expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok']);
        expect(events.map((e) => [e.offset, e.reason ?? e.result])).toEqual([
          [0, 'ok'],
          [1, reason],
          [1, 'landed'],
        ]);
        // The next write goes on a new stream, from offset 0.
        expect((await writer.write(table, rows(4).slice(3))).map((o) => o.kind)).toEqual(['ok']);
        expect(events.at(-1)).toMatchObject({ offset: 0, result: 'ok' });
        expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual([
          'r0',
          'r1',
          'r2',
          'r3',
        ]);
      },
    );

    it('sends an append that did not land again, on a new stream', async () => {
      const { table } = await createTable(bq, CONTRACT_SCHEMA);
      const events: AppendEvent[] = [];
      const writer = newWriter({ stream: 'committed', onAppend: (event) => events.push(event) });
      expect((await writer.write(table, rows(1))).map((o) => o.kind)).toEqual(['ok']);
      writeApi.faults.inject({ code: 14, method: 'AppendRows' });
      const outcomes = await writer.write(table, rows(3).slice(1));
      expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok']);
      expect(events.map((e) => [e.offset, e.reason ?? e.result])).toEqual([
        [0, 'ok'],
        [1, 'UNAVAILABLE'],
        [0, 'ok'],
      ]);
      expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual(['r0', 'r1', 'r2']);
    });

    it('holds a table while the unknown append cannot be settled, then counts it once', async () => {
      const { table } = await createTable(bq, CONTRACT_SCHEMA);
      // No insertId window: what the finalize says must be enough to skip the landed rows.
      const writer = newWriter({
        stream: 'committed',
        maxAttempts: 1,
        appendTimeoutMs: 500,
        insertIdWindowMs: 0,
      });
      expect((await writer.write(table, rows(1))).map((o) => o.kind)).toEqual(['ok']);
      writeApi.faults.inject({ code: 14, method: 'AppendRows', afterWrite: true });
      // The finalize answers too late (the client itself retries UNAVAILABLE on it).
      writeApi.faults.inject({ hangMs: 1_500, method: 'FinalizeWriteStream' });
      const first = await writer.write(table, rows(3).slice(1));
      expect(first).toEqual([
        expect.objectContaining({ kind: 'retriable', reason: 'UNAVAILABLE' }),
        expect.objectContaining({ kind: 'retriable', reason: 'UNAVAILABLE' }),
      ]);
      // Redelivered: the finalize now answers that they landed, so they are not sent again.
      const again = await writer.write(table, rows(3).slice(1));
      expect(again.map((o) => o.kind)).toEqual(['ok', 'ok']);
      expect((await readRows(bq, table)).map((r) => r['id']).sort()).toEqual(['r0', 'r1', 'r2']);
    });

    it('refuses a stream mode it does not know', () => {
      expect(() =>
        createStorageWriteWriter({
          projectId: PROJECT,
          stream: 'buffered' as unknown as 'default',
        }),
      ).toThrow(/'default' or 'committed'/);
    });
  });

  it('refuses an emulatorHost that is not host:port', () => {
    expect(() =>
      createStorageWriteWriter({ projectId: PROJECT, emulatorHost: 'localhost' }),
    ).toThrow(/host:port/);
  });
});
