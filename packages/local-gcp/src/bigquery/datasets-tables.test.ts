import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
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

beforeAll(async () => {
  server = await startBigQueryServer();
  bq = clientFor(server);
});

afterAll(async () => {
  await server.stop();
});

describe('datasets', () => {
  it('creates, gets, lists, patches and deletes a dataset', async () => {
    const name = uniqueName('ds');
    const [dataset, created] = await bq.createDataset(name, {
      location: 'US',
      description: 'first',
    });
    expect(created).toMatchObject({
      kind: 'bigquery#dataset',
      id: `${PROJECT}:${name}`,
      datasetReference: { projectId: PROJECT, datasetId: name },
      location: 'US',
      description: 'first',
    });
    const [exists] = await dataset.exists();
    expect(exists).toBe(true);
    const [metadata] = await bq.dataset(name).getMetadata();
    expect(metadata.datasetReference).toEqual({ projectId: PROJECT, datasetId: name });

    const [datasets] = await bq.getDatasets();
    expect(datasets.map((d) => d.id)).toContain(name);

    const [patched] = await dataset.setMetadata({ description: 'second' });
    expect(patched.description).toBe('second');

    await dataset.delete();
    const [gone] = await bq.dataset(name).exists();
    expect(gone).toBe(false);
  });

  it("answers 404 notFound for a missing dataset, with BigQuery's body", async () => {
    const name = uniqueName('missing');
    const error = await caught(() => bq.dataset(name).getMetadata());
    expect(error['code']).toBe(404);
    expect(error.message).toBe(`Not found: Dataset ${PROJECT}:${name}`);
    expect(error['errors']).toEqual([
      { message: `Not found: Dataset ${PROJECT}:${name}`, domain: 'global', reason: 'notFound' },
    ]);
    const deleteError = await caught(() => bq.dataset(name).delete());
    expect(deleteError['code']).toBe(404);
  });

  it('answers 409 duplicate for an existing dataset', async () => {
    const name = uniqueName('dup');
    await bq.createDataset(name);
    const error = await caught(() => bq.createDataset(name));
    expect(error['code']).toBe(409);
    expect(error.message).toBe(`Already Exists: Dataset ${PROJECT}:${name}`);
    expect((error['errors'] as { reason: string }[])[0]?.reason).toBe('duplicate');
  });

  it('refuses to delete a dataset with tables unless force (deleteContents) is set', async () => {
    const name = uniqueName('full');
    const [dataset] = await bq.createDataset(name);
    await dataset.createTable('t', { schema: [{ name: 'a', type: 'STRING' }] });
    const error = await caught(() => dataset.delete());
    expect(error['code']).toBe(400);
    expect((error['errors'] as { reason: string }[])[0]?.reason).toBe('resourceInUse');
    await dataset.delete({ force: true });
    const [exists] = await dataset.exists();
    expect(exists).toBe(false);
  });
});

describe('tables', () => {
  it('creates a table with a nested REPEATED/RECORD schema and echoes it with legacy type names', async () => {
    const [dataset] = await bq.createDataset(uniqueName('tables'));
    const [table, resource] = await dataset.createTable('readings', {
      schema: READINGS_SCHEMA,
      timePartitioning: { type: 'DAY', field: 'ts' },
      clustering: { fields: ['deviceId'] },
      description: 'sensor readings',
    });
    expect(resource).toMatchObject({
      kind: 'bigquery#table',
      id: `${PROJECT}:${dataset.id ?? ''}.readings`,
      tableReference: { projectId: PROJECT, datasetId: dataset.id, tableId: 'readings' },
      type: 'TABLE',
      numRows: '0',
      timePartitioning: { type: 'DAY', field: 'ts' },
      clustering: { fields: ['deviceId'] },
      description: 'sensor readings',
    });
    const [metadata] = await table.getMetadata();
    // BigQuery echoes a schema as it was given: no mode where the request gave none.
    expect(metadata.schema.fields).toEqual([
      { name: 'deviceId', type: 'STRING', mode: 'REQUIRED' },
      { name: 'ts', type: 'TIMESTAMP' },
      { name: 'temp', type: 'FLOAT' },
      { name: 'count', type: 'INTEGER' },
      { name: 'ok', type: 'BOOLEAN' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      {
        name: 'loc',
        type: 'RECORD',
        fields: [
          { name: 'lat', type: 'FLOAT' },
          { name: 'lng', type: 'FLOAT' },
        ],
      },
      {
        name: 'samples',
        type: 'RECORD',
        mode: 'REPEATED',
        fields: [
          { name: 'at', type: 'TIMESTAMP' },
          { name: 'values', type: 'INTEGER', mode: 'REPEATED' },
        ],
      },
    ]);
    const [tables] = await dataset.getTables();
    expect(tables.map((t) => t.id)).toEqual(['readings']);
  });

  it('accepts every scalar type, including the string-schema shorthand', async () => {
    const [dataset] = await bq.createDataset(uniqueName('types'));
    const [, resource] = await dataset.createTable('all', {
      schema:
        's:STRING,b:BYTES,i:INTEGER,i64:INT64,f:FLOAT,f64:FLOAT64,n:NUMERIC,bo:BOOLEAN,bl:BOOL,ts:TIMESTAMP,d:DATE,t:TIME,dt:DATETIME,j:JSON',
    });
    expect((resource.schema?.fields ?? []).map((f) => f.type)).toEqual([
      'STRING',
      'BYTES',
      'INTEGER',
      'INTEGER',
      'FLOAT',
      'FLOAT',
      'NUMERIC',
      'BOOLEAN',
      'BOOLEAN',
      'TIMESTAMP',
      'DATE',
      'TIME',
      'DATETIME',
      'JSON',
    ]);
  });

  it('answers 404 for a missing table and 409 for a duplicate', async () => {
    const [dataset] = await bq.createDataset(uniqueName('t404'));
    const missing = await caught(() => dataset.table('nope').getMetadata());
    expect(missing['code']).toBe(404);
    expect(missing.message).toBe(`Not found: Table ${PROJECT}:${dataset.id ?? ''}.nope`);
    expect((missing['errors'] as { reason: string }[])[0]?.reason).toBe('notFound');
    const [exists] = await dataset.table('nope').exists();
    expect(exists).toBe(false);

    await dataset.createTable('t', { schema: [{ name: 'a', type: 'STRING' }] });
    const duplicate = await caught(() =>
      dataset.createTable('t', { schema: [{ name: 'a', type: 'STRING' }] }),
    );
    expect(duplicate['code']).toBe(409);
    expect(duplicate.message).toBe(`Already Exists: Table ${PROJECT}:${dataset.id ?? ''}.t`);
    expect((duplicate['errors'] as { reason: string }[])[0]?.reason).toBe('duplicate');

    const inMissingDataset = await caught(() =>
      bq.dataset(uniqueName('none')).createTable('t', {}),
    );
    expect(inMissingDataset['code']).toBe(404);
  });

  it('refuses bad schemas with 400 invalid', async () => {
    const [dataset] = await bq.createDataset(uniqueName('bad'));
    const badType = await caught(() =>
      dataset.createTable('t', { schema: [{ name: 'a', type: 'WAT' }] }),
    );
    expect(badType['code']).toBe(400);
    const emptyRecord = await caught(() =>
      dataset.createTable('t', { schema: [{ name: 'r', type: 'RECORD' }] }),
    );
    expect(emptyRecord['code']).toBe(400);
    const badPartition = await caught(() =>
      dataset.createTable('t', {
        schema: [{ name: 'a', type: 'STRING' }],
        timePartitioning: { type: 'DAY', field: 'a' },
      }),
    );
    expect(badPartition['code']).toBe(400);
  });

  it('deletes a table', async () => {
    const [dataset] = await bq.createDataset(uniqueName('del'));
    const [table] = await dataset.createTable('t', { schema: [{ name: 'a', type: 'STRING' }] });
    await table.delete();
    const [exists] = await table.exists();
    expect(exists).toBe(false);
    const again = await caught(() => table.delete());
    expect(again['code']).toBe(404);
  });

  it('adds columns with setMetadata (tables.patch), top level and inside a RECORD', async () => {
    const [dataset] = await bq.createDataset(uniqueName('patch'));
    const [table] = await dataset.createTable('t', {
      schema: [
        { name: 'a', type: 'STRING', mode: 'REQUIRED' },
        { name: 'r', type: 'RECORD', fields: [{ name: 'x', type: 'INTEGER' }] },
      ],
    });
    await table.insert([{ a: 'before', r: { x: 1 } }], { partialRetries: 0 });
    const [patched] = await table.setMetadata({
      schema: [
        { name: 'a', type: 'STRING', mode: 'NULLABLE' },
        {
          name: 'r',
          type: 'RECORD',
          fields: [
            { name: 'x', type: 'INTEGER' },
            { name: 'y', type: 'STRING' },
          ],
        },
        { name: 'b', type: 'INTEGER' },
      ],
    });
    expect(
      (patched.schema.fields as { name: string; mode?: string }[]).map(
        (f) => `${f.name}:${f.mode ?? '(none)'}`,
      ),
    ).toEqual(['a:NULLABLE', 'r:(none)', 'b:(none)']);
    await table.insert([{ a: 'after', r: { x: 2, y: 'why' }, b: 7 }], { partialRetries: 0 });
    const [rows] = await table.getRows();
    expect(rows).toEqual([
      { a: 'before', r: { x: 1, y: null }, b: null },
      { a: 'after', r: { x: 2, y: 'why' }, b: 7 },
    ]);
    const typeChange = await caught(() =>
      table.setMetadata({
        schema: [
          { name: 'a', type: 'INTEGER' },
          {
            name: 'r',
            type: 'RECORD',
            fields: [
              { name: 'x', type: 'INTEGER' },
              { name: 'y', type: 'STRING' },
            ],
          },
          { name: 'b', type: 'INTEGER' },
        ],
      }),
    );
    expect(typeChange['code']).toBe(400);
  });
});

describe('path forms', () => {
  it('serves the unprefixed /projects/… form that BIGQUERY_EMULATOR_HOST produces', async () => {
    const previous = process.env['BIGQUERY_EMULATOR_HOST'];
    process.env['BIGQUERY_EMULATOR_HOST'] = server.emulatorHost;
    try {
      const plain = new BigQuery({ projectId: PROJECT });
      const name = uniqueName('env');
      const [dataset] = await plain.createDataset(name);
      const [table] = await dataset.createTable('t', { schema: [{ name: 'a', type: 'STRING' }] });
      await table.insert([{ a: 'x' }], { partialRetries: 0 });
      const [rows] = await plain.query(`SELECT a FROM \`${PROJECT}.${name}.t\``);
      expect(rows).toEqual([{ a: 'x' }]);
      // The same dataset through the prefixed form.
      const [exists] = await bq.dataset(name).exists();
      expect(exists).toBe(true);
    } finally {
      if (previous === undefined) delete process.env['BIGQUERY_EMULATOR_HOST'];
      else process.env['BIGQUERY_EMULATOR_HOST'] = previous;
    }
  });
});

describe('views', () => {
  const DEDUP = (table: string): string =>
    `SELECT * EXCEPT (rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts) AS rn FROM \`${PROJECT}.${table}\`) WHERE rn = 1`;

  it('creates a GoogleSQL view (tables.insert with view), reports type VIEW and its schema, and queries it', async () => {
    const [dataset] = await bq.createDataset(uniqueName('view'));
    const name = dataset.id ?? '';
    const [table] = await dataset.createTable('events', {
      schema: [
        { name: 'id', type: 'STRING' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'v', type: 'INT64' },
      ],
    });
    await table.insert(
      [
        { id: 'a', ts: '2026-12-01T00:00:02Z', v: 2 },
        { id: 'a', ts: '2026-12-01T00:00:01Z', v: 1 },
        { id: 'b', ts: '2026-12-01T00:00:03Z', v: 3 },
      ],
      { partialRetries: 0 },
    );
    const [, created] = await dataset.createTable('events_dedup', {
      view: { query: DEDUP(`${name}.events`), useLegacySql: false },
    });
    expect(created).toMatchObject({ type: 'VIEW', view: { useLegacySql: false } });
    const [metadata] = await dataset.table('events_dedup').getMetadata();
    expect(metadata.type).toBe('VIEW');
    expect(metadata.view).toEqual({ query: DEDUP(`${name}.events`), useLegacySql: false });
    expect(metadata.schema.fields).toEqual([
      { name: 'id', type: 'STRING', mode: 'NULLABLE' },
      { name: 'ts', type: 'TIMESTAMP', mode: 'NULLABLE' },
      { name: 'v', type: 'INTEGER', mode: 'NULLABLE' },
    ]);
    const [tables] = await dataset.getTables();
    expect(tables.map((t) => [t.id, (t.metadata as { type?: string }).type])).toEqual([
      ['events', 'TABLE'],
      ['events_dedup', 'VIEW'],
    ]);
    const [rows] = await bq.query(`SELECT id, v FROM ${name}.events_dedup ORDER BY id`);
    expect(rows).toEqual([
      { id: 'a', v: 1 },
      { id: 'b', v: 3 },
    ]);
    // A view reads the table as it is when queried: new rows and added columns show.
    await table.setMetadata({
      schema: [...(metadata.schema.fields as object[]), { name: 'note', type: 'STRING' }],
    });
    await table.insert([{ id: 'c', ts: '2026-12-01T00:00:04Z', v: 4, note: 'x' }], {
      partialRetries: 0,
    });
    const [after] = await bq.query(
      `SELECT v.id, v.note FROM \`${name}.events_dedup\` v ORDER BY 1`,
    );
    expect(after).toEqual([
      { id: 'a', note: null },
      { id: 'b', note: null },
      { id: 'c', note: 'x' },
    ]);
    await dataset.table('events_dedup').delete();
    const [exists] = await dataset.table('events_dedup').exists();
    expect(exists).toBe(false);
    const [still] = await bq.query(`SELECT count(*) AS n FROM ${name}.events`);
    expect(still).toEqual([{ n: 4 }]);
  });

  it("accepts the official client's string form: createTable(id, { view: 'SELECT …' })", async () => {
    const [dataset] = await bq.createDataset(uniqueName('viewstr'));
    const name = dataset.id ?? '';
    const [table] = await dataset.createTable('t', { schema: [{ name: 'id', type: 'STRING' }] });
    await table.insert([{ id: 'a' }, { id: 'a' }, { id: 'b' }], { partialRetries: 0 });
    const query = `SELECT DISTINCT id FROM ${name}.t`;
    // The client turns a string into { query, useLegacySql: false } before it sends tables.insert.
    const [view, created] = await dataset.createTable('v', { view: query });
    expect(created).toMatchObject({ type: 'VIEW', view: { query, useLegacySql: false } });
    const [rows] = await bq.query(`SELECT id FROM ${name}.v ORDER BY id`);
    expect(rows).toEqual([{ id: 'a' }, { id: 'b' }]);
    await view.delete();
    const [tables] = await dataset.getTables();
    expect(tables.map((t) => t.id)).toEqual(['t']);
  });

  it('refuses what BigQuery refuses for views, and what this server does not do', async () => {
    const [dataset] = await bq.createDataset(uniqueName('viewbad'));
    const name = dataset.id ?? '';
    await dataset.createTable('t', { schema: [{ name: 'id', type: 'STRING' }] });
    const [view] = await dataset.createTable('v', {
      view: { query: `SELECT id FROM ${name}.t`, useLegacySql: false },
    });
    const insert = await caught(() => view.insert([{ id: 'x' }], { partialRetries: 0 }));
    expect(insert['code']).toBe(400);
    expect(insert.message).toContain('is a view');
    const list = await caught(() => view.getRows());
    expect(list.message).toBe('Cannot list a table of type VIEW.');
    const missing = await caught(() =>
      dataset.createTable('v2', {
        view: { query: `SELECT id FROM ${name}.nope`, useLegacySql: false },
      }),
    );
    expect(missing['code']).toBe(404);
    const legacy = await caught(() =>
      dataset.createTable('v3', { view: { query: `SELECT id FROM [${PROJECT}:${name}.t]` } }),
    );
    expect(legacy['code']).toBe(400);
    expect(legacy.message).toMatch(/Legacy SQL views are not supported/);
    const badSql = await caught(() =>
      dataset.createTable('v4', { view: { query: 'SELECT nope FROM', useLegacySql: false } }),
    );
    expect(badSql['code']).toBe(400);
    const [after] = await dataset.getTables();
    expect(after.map((t) => t.id)).toEqual(['t', 'v']);
    const patch = await caught(() =>
      view.setMetadata({ view: { query: 'SELECT 1 AS x', useLegacySql: false } }),
    );
    expect(patch['code']).toBe(400);
  });
});

describe('persistence', () => {
  it('keeps datasets, tables and rows in dataDir across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bq-persist-'));
    try {
      const first = await startBigQueryServer({ dataDir });
      const [dataset] = await clientFor(first).createDataset('kept');
      const [table] = await dataset.createTable('t', { schema: READINGS_SCHEMA });
      await table.insert([{ deviceId: 'd1', tags: ['a'], loc: { lat: 1, lng: 2 } }], {
        partialRetries: 0,
      });
      await dataset.createTable('v', {
        view: { query: 'SELECT deviceId FROM kept.t', useLegacySql: false },
      });
      await first.stop();

      const second = await startBigQueryServer({ dataDir });
      try {
        const client = clientFor(second);
        const [metadata] = await client.dataset('kept').table('t').getMetadata();
        expect(metadata.numRows).toBe('1');
        const [rows] = await client.query('SELECT deviceId, tags, loc FROM kept.t');
        expect(rows).toEqual([{ deviceId: 'd1', tags: ['a'], loc: { lat: 1, lng: 2 } }]);
        const [viewed] = await client.query('SELECT deviceId FROM kept.v');
        expect(viewed).toEqual([{ deviceId: 'd1' }]);
        const [view] = await client.dataset('kept').table('v').getMetadata();
        expect(view.type).toBe('VIEW');
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
