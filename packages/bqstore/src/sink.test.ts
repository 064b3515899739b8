import type { BigQuery } from '@google-cloud/bigquery';
import type { BigQueryServer } from '@tributary/local-gcp';
import type { FlushReason } from '@tributary/messagepipeline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createInsertAllWriter } from './insert-all-writer.js';
import type { TableSchema } from './schema.js';
import { dedupViewQuery } from './table-manager.js';
import { privateServer, readRows, sharedClient } from './test-support/bigquery.js';
import { counts, sinkFixture, waitUntil, type SinkFixture } from './test-support/pipeline.js';

const SCHEMA: TableSchema = {
  fields: [
    { name: 'device_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'seq', type: 'INT64' },
    {
      name: 'readings',
      type: 'RECORD',
      mode: 'REPEATED',
      fields: [{ name: 'value', type: 'FLOAT64' }],
    },
    { name: 'ts', type: 'TIMESTAMP' },
  ],
};
const MAPPING = { messageIdColumn: 'message_id', publishTimeColumn: 'publish_time' };

function reading(i: number): string {
  return JSON.stringify({
    device_id: `d${i % 4}`,
    seq: i,
    readings: [{ value: i }, { value: i + 0.5 }],
    ts: '2026-01-01T00:00:00Z',
  });
}

const bq = sharedClient();
let fixture: SinkFixture;

afterEach(async () => {
  await fixture.cleanup(bq);
});

describe('BigQuery sink (Pub/Sub emulator -> local BigQuery)', () => {
  it('writes 7 messages with batch size 5 as exactly 7 rows: a size flush, then an age flush', async () => {
    fixture = await sinkFixture('seven');
    const reasons: FlushReason[] = [];
    await fixture.startSink(bq, {
      table: 'readings',
      schema: SCHEMA,
      mapping: MAPPING,
      maxItems: 5,
      maxWaitMs: 500,
      observer: (event) => {
        if (event.type === 'batch-flushed') reasons.push(event.reason);
      },
    });
    const ids = await fixture.publish(Array.from({ length: 7 }, (_, i) => ({ data: reading(i) })));
    const table = fixture.table('readings');
    await waitUntil(
      async () => (await counts(bq, table)).rows >= 7,
      () => `rows: ${reasons.join()}`,
    );
    expect(await counts(bq, table)).toEqual({ rows: 7, distinct: 7 });
    expect(reasons).toEqual(['items', 'age']);
    const rows = await readRows(bq, table);
    expect(rows.map((r) => r['message_id']).sort()).toEqual([...ids].sort());
  });

  it('writes the 97 valid rows of a batch and dead-letters the 3 invalid ones with field paths', async () => {
    fixture = await sinkFixture('invalid');
    const sink = await fixture.startSink(bq, {
      table: 'readings',
      schema: SCHEMA,
      mapping: MAPPING,
      maxItems: 100,
      maxWaitMs: 2_000,
    });
    const bad: Record<number, string> = {
      10: JSON.stringify({ device_id: 'x', readings: [{ value: 1 }, { value: 'abc' }] }),
      50: JSON.stringify({ device_id: 'x', seq: '12x' }),
      90: JSON.stringify({ seq: 1 }),
    };
    await fixture.publish(Array.from({ length: 100 }, (_, i) => ({ data: bad[i] ?? reading(i) })));
    const table = fixture.table('readings');
    await waitUntil(
      async () => fixture.deadLetters.length >= 3 && (await counts(bq, table)).rows >= 97,
      () => `dead letters ${fixture.deadLetters.length}`,
    );
    expect(await counts(bq, table)).toEqual({ rows: 97, distinct: 97 });
    const letters = fixture.deadLetters.map((m) => m.attributes);
    expect(letters.map((a) => a['error.code'])).toEqual([
      'SCHEMA_MISMATCH',
      'SCHEMA_MISMATCH',
      'SCHEMA_MISMATCH',
    ]);
    expect(letters.map((a) => a['error.message']).sort()).toEqual([
      'device_id: REQUIRED field is missing',
      'readings[1].value: expected FLOAT64, got "abc"',
      'seq: expected INT64, got "12x"',
    ]);
    expect(sink.stats()).toMatchObject({ rowsWritten: 97, deadLetteredValidation: 3 });
  });

  it('creates the dataset and table with partitioning and clustering', async () => {
    fixture = await sinkFixture('create');
    const sink = await fixture.startSink(bq, {
      table: 'events',
      schema: SCHEMA,
      mapping: MAPPING,
      timePartitioning: { type: 'HOUR', field: 'ts', expirationMs: 86_400_000 },
      clustering: ['device_id'],
    });
    const [metadata] = await bq.dataset(fixture.datasetId).table('events').getMetadata();
    expect(metadata.timePartitioning).toEqual({
      type: 'HOUR',
      field: 'ts',
      expirationMs: '86400000',
    });
    expect(metadata.clustering).toEqual({ fields: ['device_id'] });
    const fields = (metadata.schema as TableSchema).fields;
    expect(fields.map((f) => [f.name, f.type, f.mode ?? 'NULLABLE'])).toEqual([
      ['device_id', 'STRING', 'REQUIRED'],
      ['seq', 'INTEGER', 'NULLABLE'], // tables.get answers with the legacy type names
      ['readings', 'RECORD', 'REPEATED'],
      ['ts', 'TIMESTAMP', 'NULLABLE'],
      ['message_id', 'STRING', 'NULLABLE'],
      ['publish_time', 'TIMESTAMP', 'NULLABLE'],
    ]);
    expect(sink.stats().tablesCreated).toBe(1);
  });

  it('evolve: adds a NULLABLE column with the inferred type and writes the value', async () => {
    fixture = await sinkFixture('evolve');
    const sink = await fixture.startSink(bq, {
      table: 'readings',
      schema: SCHEMA,
      mapping: MAPPING,
      unknownFields: 'evolve',
    });
    await fixture.publish([
      { data: JSON.stringify({ device_id: 'a', battery: 0.5, firmware: 'v2' }) },
    ]);
    const table = fixture.table('readings');
    await waitUntil(
      async () => (await counts(bq, table)).rows >= 1,
      () => 'row',
    );
    const [metadata] = await bq.dataset(fixture.datasetId).table('readings').getMetadata();
    const fields = (metadata.schema as TableSchema).fields;
    expect(fields.slice(-2).map((f) => [f.name, f.type, f.mode])).toEqual([
      ['battery', 'FLOAT', 'NULLABLE'],
      ['firmware', 'STRING', 'NULLABLE'],
    ]);
    const rows = await readRows(bq, table);
    expect(rows[0]).toMatchObject({ device_id: 'a', battery: 0.5, firmware: 'v2' });
    expect(sink.stats().schemaChanges).toBe(2);
  });

  it('dead-letter policy: a message with an unknown field is dead-lettered, the rest written', async () => {
    fixture = await sinkFixture('unknown');
    await fixture.startSink(bq, { table: 'readings', schema: SCHEMA, mapping: MAPPING });
    await fixture.publish([
      { data: reading(1) },
      { data: JSON.stringify({ device_id: 'a', extra: 1, readings: [{ value: 1, unit: 'C' }] }) },
    ]);
    const table = fixture.table('readings');
    await waitUntil(
      async () => fixture.deadLetters.length >= 1 && (await counts(bq, table)).rows >= 1,
      () => 'dead letter',
    );
    expect(fixture.deadLetters[0]?.attributes).toMatchObject({
      'error.code': 'SCHEMA_MISMATCH',
      'error.message': `extra, readings[0].unit: no such column in test-proj.${fixture.datasetId}.readings`,
    });
  });

  it('ignore policy: drops unknown fields, writes the row and counts them', async () => {
    fixture = await sinkFixture('ignore');
    const sink = await fixture.startSink(bq, {
      table: 'readings',
      schema: SCHEMA,
      mapping: MAPPING,
      unknownFields: 'ignore',
    });
    await fixture.publish([{ data: JSON.stringify({ device_id: 'a', extra: 1 }) }]);
    const table = fixture.table('readings');
    await waitUntil(
      async () => (await counts(bq, table)).rows >= 1,
      () => 'row',
    );
    expect(sink.stats().unknownFieldsDropped).toBe(1);
  });

  it('reads Go envelopes (base64 payload) and v1 envelopes with enrichment', async () => {
    fixture = await sinkFixture('envelopes');
    await fixture.startSink(bq, {
      table: 'readings',
      schema: {
        fields: [
          ...SCHEMA.fields,
          { name: 'enrichment', type: 'RECORD', fields: [{ name: 'site', type: 'STRING' }] },
        ],
      },
      mapping: { ...MAPPING, enrichment: { mode: 'record', column: 'enrichment' } },
    });
    const go = JSON.stringify({
      id: 'go-1',
      payload: Buffer.from(JSON.stringify({ device_id: 'go', seq: 1 })).toString('base64'),
      publishTime: '2026-01-01T00:00:00Z',
      enrichmentData: { site: 'berlin' },
    });
    const v1 = JSON.stringify({
      v: 1,
      payload: { device_id: 'v1', seq: 2 },
      enrichment: { site: 'oslo' },
    });
    await fixture.publish([{ data: go }, { data: v1, attributes: { 'tributary-envelope': '1' } }]);
    const table = fixture.table('readings');
    await waitUntil(
      async () => (await counts(bq, table)).rows >= 2,
      () => 'rows',
    );
    const rows = await readRows(bq, table);
    expect(
      rows.map((r) => [r['device_id'], (r['enrichment'] as { site: string }).site]).sort(),
    ).toEqual([
      ['go', 'berlin'],
      ['v1', 'oslo'],
    ]);
  });

  it('creates the de-duplicating view with the table: copies of a message under other insertIds collapse to one row', async () => {
    fixture = await sinkFixture('dedup');
    const dedupView = {
      viewId: '{table}_dedup',
      idColumn: 'message_id',
      orderColumn: 'publish_time',
    };
    await fixture.startSink(bq, { table: 'readings', schema: SCHEMA, mapping: MAPPING, dedupView });
    const table = fixture.table('readings');
    const view = fixture.table('readings_dedup');
    const [metadata] = await bq.dataset(table.datasetId).table(view.tableId).getMetadata();
    expect(metadata.type).toBe('VIEW');
    expect(metadata.view).toEqual({ query: dedupViewQuery(table, dedupView), useLegacySql: false });
    const ids = await fixture.publish(Array.from({ length: 6 }, (_, i) => ({ data: reading(i) })));
    await waitUntil(
      async () => (await counts(bq, table)).rows >= 6,
      () => 'rows',
    );
    // Copies the insertId window cannot catch (another insertId, such as a redelivery after the
    // window, or a second writer): the table holds them, the view does not.
    const copies = ids.slice(0, 3).map((id, k) => ({
      insertId: `copy-${id}`,
      json: {
        device_id: 'copy',
        seq: 100 + k,
        message_id: id,
        publish_time: new Date(Date.now() + 60_000).toISOString(),
      },
    }));
    await bq.dataset(table.datasetId).table(table.tableId).insert(copies, {
      raw: true,
      partialRetries: 0,
    });
    expect(await counts(bq, table)).toEqual({ rows: 9, distinct: 6 });
    expect(await counts(bq, view)).toEqual({ rows: 6, distinct: 6 });
    const viewed = await readRows(bq, view);
    // The first copy by publish time is kept: the sink's, not the later ones.
    expect(viewed.map((r) => r['message_id']).sort()).toEqual([...ids].sort());
    expect(viewed.map((r) => r['device_id'])).not.toContain('copy');
    expect(Object.keys(viewed[0] ?? {}).sort()).toEqual([
      'device_id',
      'message_id',
      'publish_time',
      'readings',
      'seq',
      'ts',
    ]);
  });

  it('routes by a table template over an attribute, one table per value', async () => {
    fixture = await sinkFixture('template');
    const sink = await fixture.startSink(bq, {
      table: 'events_{type}',
      schema: SCHEMA,
      mapping: MAPPING,
    });
    await fixture.publish([
      { data: reading(1), attributes: { type: 'click' } },
      { data: reading(2), attributes: { type: 'view' } },
      { data: reading(3), attributes: { type: 'click' } },
      { data: reading(4) },
      // Rendered, 'events_a.b' is no table id: dead-lettered once, never retried.
      { data: reading(5), attributes: { type: 'a.b' } },
    ]);
    await waitUntil(
      async () =>
        fixture.deadLetters.length >= 2 &&
        (await counts(bq, fixture.table('events_click')).catch(() => ({ rows: 0 }))).rows >= 2 &&
        (await counts(bq, fixture.table('events_view')).catch(() => ({ rows: 0 }))).rows >= 1,
      () => 'routed rows',
    );
    const letters = fixture.deadLetters.map((m) => m.attributes);
    expect(letters.map((a) => a['error.code'])).toEqual(['UNROUTABLE', 'UNROUTABLE']);
    expect(letters.map((a) => a['error.message']).sort()).toEqual([
      "table template 'events_{type}': the message has no attribute 'type'",
      'table template \'events_{type}\': type="a.b" does not make a table id (at most 1024 bytes of letters, marks, numbers, _, - and spaces)',
    ]);
    expect(sink.stats()).toMatchObject({
      tables: 2,
      rowsWritten: 3,
      rowsRetried: 0,
      deadLetteredUnroutable: 2,
    });
  });

  it('keeps one batch per table: a size flush of one table leaves the other open', async () => {
    fixture = await sinkFixture('tables');
    const sink = await fixture.startSink(bq, {
      table: 'events_{type}',
      schema: SCHEMA,
      mapping: MAPPING,
      maxItems: 2,
      maxWaitMs: 20_000,
    });
    await fixture.publish([
      { data: reading(1), attributes: { type: 'click' } },
      { data: reading(2), attributes: { type: 'view' } },
      { data: reading(3), attributes: { type: 'click' } },
    ]);
    await waitUntil(
      async () =>
        (await counts(bq, fixture.table('events_click')).catch(() => ({ rows: 0 }))).rows >= 2,
      () => 'the click table flushed by size',
    );
    // One shared batch would have flushed the view row with a click; its own batch is open.
    expect((await counts(bq, fixture.table('events_view'))).rows).toBe(0);
    await sink.stop();
    expect((await counts(bq, fixture.table('events_view'))).rows).toBe(1);
  });
});

describe('BigQuery sink under injected faults (private server)', () => {
  let server: BigQueryServer;
  let privateBq: BigQuery;
  beforeAll(async () => {
    ({ server, bq: privateBq } = await privateServer());
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ['429 on the next 3 inserts', { status: 429, count: 3 }],
    ['503 on the next 3 inserts', { status: 503, count: 3 }],
    ['a hanging insert', { hangMs: 3_000, count: 1 }],
  ])(
    'retries everything after %s: count(*) = count(distinct message_id) = sent',
    async (_, fault) => {
      fixture = await sinkFixture('faults');
      server.resetInsertAllStats();
      const sink = await fixture.startSink(privateBq, {
        table: 'readings',
        schema: SCHEMA,
        mapping: MAPPING,
        maxItems: 50,
        writer: createInsertAllWriter({ bigquery: privateBq, requestTimeoutMs: 1_000 }),
      });
      server.faults.inject({ kind: 'insertAll', ...fault });
      const sent = 200;
      await fixture.publish(Array.from({ length: sent }, (_, i) => ({ data: reading(i) })));
      const table = fixture.table('readings');
      await waitUntil(
        async () => (await counts(privateBq, table)).rows >= sent,
        () => `rows; stats ${JSON.stringify(sink.stats())}`,
        60_000,
      );
      expect(await counts(privateBq, table)).toEqual({ rows: sent, distinct: sent });
      expect(sink.stats().rowsRetried).toBeGreaterThan(0);
      expect(fixture.deadLetters).toEqual([]);
      const stats = server.insertAllStats();
      expect(stats.refused).toBe(0);
      expect(stats.maxRequestRows).toBeLessThanOrEqual(500);
    },
  );
});
