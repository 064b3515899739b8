import type { BigQuery, Table } from '@google-cloud/bigquery';
import { adapt, managedwriter, protos } from '@google-cloud/bigquery-storage';
import grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryServer, type BigQueryServer } from './server.js';
import { caught, clientFor, PROJECT, uniqueName } from './test-support/bigquery-client.js';
import { jsonWriterFor, writerClientFor } from './test-support/write-client.js';
import type { BigQueryWriteServer } from './write-api.js';

const SCHEMA = [
  { name: 'deviceId', type: 'STRING', mode: 'REQUIRED' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'day', type: 'DATE' },
  { name: 'temp', type: 'FLOAT' },
  { name: 'count', type: 'INTEGER' },
  { name: 'price', type: 'NUMERIC' },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  {
    name: 'loc',
    type: 'RECORD',
    fields: [
      { name: 'lat', type: 'FLOAT' },
      { name: 'lng', type: 'FLOAT' },
    ],
  },
];

let server: BigQueryServer;
let writeApi: BigQueryWriteServer;
let bq: BigQuery;
let client: managedwriter.WriterClient;

beforeAll(async () => {
  server = await startBigQueryServer({ writeApi: {} });
  if (server.writeApi === undefined) throw new Error('writeApi was not started');
  writeApi = server.writeApi;
  bq = clientFor(server);
  client = writerClientFor(writeApi);
});

afterAll(async () => {
  client.close();
  await server.stop();
});

interface Target {
  readonly table: Table;
  /** `projects/…/datasets/…/tables/…` */
  readonly parent: string;
}

async function newTable(): Promise<Target> {
  const datasetId = uniqueName('wapi');
  const [dataset] = await bq.createDataset(datasetId);
  const [table] = await dataset.createTable('readings', { schema: SCHEMA });
  return { table, parent: `projects/${PROJECT}/datasets/${datasetId}/tables/readings` };
}

async function rowsOf(table: Table): Promise<Record<string, unknown>[]> {
  const [rows] = await table.getRows();
  return rows as Record<string, unknown>[];
}

describe('the _default stream', () => {
  it('writes rows that REST reads, with no offset in the result', async () => {
    const { table, parent } = await newTable();
    const { writer } = await jsonWriterFor(client, `${parent}/streams/_default`);
    const result = await writer
      .appendRows([
        {
          deviceId: 'd1',
          ts: new Date('2026-01-01T00:00:00.123Z'),
          day: new Date('2026-01-02T00:00:00Z'),
          temp: 21.5,
          count: 7,
          price: '12.50',
          tags: ['a', 'b'],
          loc: { lat: 1.5, lng: 2.5 },
        },
        { deviceId: 'd2' },
      ])
      .getResult();
    writer.close();
    expect(result.error).toBeFalsy();
    expect(result.rowErrors ?? []).toEqual([]);
    expect(result.appendResult?.offset).toBeFalsy();
    const rows = await rowsOf(table);
    const byDevice = new Map(rows.map((row) => [row['deviceId'], row]));
    expect([...byDevice.keys()].sort()).toEqual(['d1', 'd2']);
    const d1 = byDevice.get('d1');
    expect((d1?.['ts'] as { value: string }).value).toBe('2026-01-01T00:00:00.123Z');
    expect((d1?.['day'] as { value: string }).value).toBe('2026-01-02');
    expect(d1?.['temp']).toBe(21.5);
    expect(d1?.['count']).toBe(7);
    expect(String(d1?.['price'])).toBe('12.5');
    expect(d1?.['tags']).toEqual(['a', 'b']);
    expect(d1?.['loc']).toEqual({ lat: 1.5, lng: 2.5 });
  });

  it('rejects an offset on the _default stream with INVALID_ARGUMENT', async () => {
    const { table, parent } = await newTable();
    const { writer } = await jsonWriterFor(client, `${parent}/streams/_default`);
    const result = await writer.appendRows([{ deviceId: 'd1' }], 0).getResult();
    writer.close();
    expect(result.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await rowsOf(table)).toHaveLength(0);
  });

  it('returns row errors for rows that violate the schema and writes none of the request', async () => {
    const { table, parent } = await newTable();
    const { writer } = await jsonWriterFor(client, `${parent}/streams/_default`);
    const result = await writer
      .appendRows([{ deviceId: 'ok' }, { deviceId: 'bad', price: 'not a number' }])
      .getResult();
    expect(result.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(result.rowErrors).toHaveLength(1);
    expect(Number(result.rowErrors?.[0]?.index)).toBe(1);
    expect(result.rowErrors?.[0]?.code).toBe('FIELDS_ERROR');
    expect(result.rowErrors?.[0]?.message).toMatch(/price/);
    // The connection is still usable after an in-response error.
    const next = await writer.appendRows([{ deviceId: 'after' }]).getResult();
    writer.close();
    expect(next.error).toBeFalsy();
    expect((await rowsOf(table)).map((row) => row['deviceId'])).toEqual(['after']);
  });

  it('refuses a request over 10 MB with INVALID_ARGUMENT (not a code the client retries)', async () => {
    const { table, parent } = await newTable();
    const { writer, errors } = await jsonWriterFor(client, `${parent}/streams/_default`);
    const big = 'x'.repeat(1024 * 1024);
    const rows = Array.from({ length: 11 }, (_, index) => ({ deviceId: `d${index}`, tags: [big] }));
    const error = await caught(() => writer.appendRows(rows).getResult());
    writer.close();
    expect((error as { code?: number }).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.message).toMatch(/too large/);
    expect(errors.map((e) => (e as { code?: number }).code)).toContain(
      grpc.status.INVALID_ARGUMENT,
    );
    expect(await rowsOf(table)).toHaveLength(0);
  });

  it('announces the new schema after a table patch', async () => {
    const { table, parent } = await newTable();
    const { writer, connection } = await jsonWriterFor(client, `${parent}/streams/_default`);
    const updated = new Promise<unknown>((resolve) => {
      connection.onSchemaUpdated(resolve);
    });
    expect((await writer.appendRows([{ deviceId: 'before' }]).getResult()).error).toBeFalsy();
    await table.setMetadata({ schema: [...SCHEMA, { name: 'extra', type: 'STRING' }] });
    const response = await writer.appendRows([{ deviceId: 'during' }]).getResult();
    expect(response.updatedSchema?.fields?.map((field) => field.name)).toContain('extra');
    await updated;
    // JSONWriter rebuilt its descriptor from updated_schema: the new column can be written.
    const after = await writer.appendRows([{ deviceId: 'after', extra: 'x' }]).getResult();
    writer.close();
    expect(after.error).toBeFalsy();
    const rows = await rowsOf(table);
    expect(rows.find((row) => row['deviceId'] === 'after')?.['extra']).toBe('x');
  });
});

describe('committed streams', () => {
  it('appends at explicit offsets and reports each start offset', async () => {
    const { table, parent } = await newTable();
    const streamId = await client.createWriteStream({
      streamType: managedwriter.CommittedStream,
      destinationTable: parent,
    });
    expect(streamId.startsWith(`${parent}/streams/`)).toBe(true);
    const { writer } = await jsonWriterFor(client, streamId);
    const first = await writer.appendRows([{ deviceId: 'a' }, { deviceId: 'b' }], 0).getResult();
    const second = await writer.appendRows([{ deviceId: 'c' }], 2).getResult();
    expect(first.error).toBeFalsy();
    expect(Number(first.appendResult?.offset?.value)).toBe(0);
    expect(Number(second.appendResult?.offset?.value)).toBe(2);
    // Visible at once, without finalize.
    expect((await rowsOf(table)).map((row) => row['deviceId']).sort()).toEqual(['a', 'b', 'c']);

    const duplicate = await writer.appendRows([{ deviceId: 'again' }], 1).getResult();
    expect(duplicate.error?.code).toBe(grpc.status.ALREADY_EXISTS);
    const gap = await writer.appendRows([{ deviceId: 'far' }], 9).getResult();
    expect(gap.error?.code).toBe(grpc.status.OUT_OF_RANGE);
    const next = await writer.appendRows([{ deviceId: 'd' }], 3).getResult();
    expect(Number(next.appendResult?.offset?.value)).toBe(3);
    writer.close();

    const finalized = await client.finalizeWriteStream({ name: streamId });
    expect(Number(finalized.rowCount)).toBe(4);
    expect((await rowsOf(table)).map((row) => row['deviceId']).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('answers appends to a finalized stream with an error', async () => {
    const { parent } = await newTable();
    const streamId = await client.createWriteStream({
      streamType: managedwriter.CommittedStream,
      destinationTable: parent,
    });
    await client.finalizeWriteStream({ name: streamId });
    const { writer } = await jsonWriterFor(client, streamId);
    const result = await writer.appendRows([{ deviceId: 'late' }], 0).getResult();
    writer.close();
    expect(result.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('pending streams', () => {
  it('shows rows only after finalize and an atomic batch commit', async () => {
    const { table, parent } = await newTable();
    const streamIds = await Promise.all(
      [0, 1].map(() =>
        client.createWriteStream({
          streamType: managedwriter.PendingStream,
          destinationTable: parent,
        }),
      ),
    );
    for (const [index, streamId] of streamIds.entries()) {
      const { writer } = await jsonWriterFor(client, streamId);
      const result = await writer.appendRows([{ deviceId: `p${index}` }], 0).getResult();
      writer.close();
      expect(Number(result.appendResult?.offset?.value)).toBe(0);
    }
    expect(await rowsOf(table)).toHaveLength(0);

    const [first, second] = streamIds as [string, string];
    await client.finalizeWriteStream({ name: first });
    const refused = await client.batchCommitWriteStream({
      parent,
      writeStreams: [first, second],
    });
    expect(refused.commitTime).toBeFalsy();
    expect(refused.streamErrors?.map((error) => error.entity)).toEqual([second]);
    expect(await rowsOf(table)).toHaveLength(0);

    await client.finalizeWriteStream({ name: second });
    const committed = await client.batchCommitWriteStream({
      parent,
      writeStreams: [first, second],
    });
    expect(committed.streamErrors ?? []).toEqual([]);
    expect(committed.commitTime).toBeTruthy();
    expect((await rowsOf(table)).map((row) => row['deviceId']).sort()).toEqual(['p0', 'p1']);
  });
});

describe('buffered streams', () => {
  it('makes rows visible up to the flushed offset', async () => {
    const { table, parent } = await newTable();
    const streamId = await client.createWriteStream({
      streamType: managedwriter.BufferedStream,
      destinationTable: parent,
    });
    const { writer, connection } = await jsonWriterFor(client, streamId);
    await writer
      .appendRows([{ deviceId: 'b0' }, { deviceId: 'b1' }, { deviceId: 'b2' }], 0)
      .getResult();
    expect(await rowsOf(table)).toHaveLength(0);
    const flushed = await connection.flushRows({ offset: 1 });
    writer.close();
    expect(Number(flushed?.offset)).toBe(1);
    expect((await rowsOf(table)).map((row) => row['deviceId']).sort()).toEqual(['b0', 'b1']);
  });
});

describe('reconnects', () => {
  it('retries an append on a new connection after an injected UNAVAILABLE', async () => {
    const { table, parent } = await newTable();
    const retrying = writerClientFor(writeApi);
    retrying.enableWriteRetries(true);
    try {
      const { writer } = await jsonWriterFor(retrying, `${parent}/streams/_default`);
      writeApi.faults.inject({ code: grpc.status.UNAVAILABLE, method: 'AppendRows' });
      const result = await writer.appendRows([{ deviceId: 'r1' }]).getResult();
      expect(result.error).toBeFalsy();
      expect((await rowsOf(table)).map((row) => row['deviceId'])).toEqual(['r1']);
    } finally {
      retrying.close();
    }
  });

  it('closes an idle connection with ABORTED, and the next append reconnects', async () => {
    const idleServer = await startBigQueryServer({ writeApi: { idleTimeoutMs: 200 } });
    if (idleServer.writeApi === undefined) throw new Error('writeApi was not started');
    const idleClient = writerClientFor(idleServer.writeApi);
    try {
      const [dataset] = await clientFor(idleServer).createDataset(uniqueName('idle'));
      const [table] = await dataset.createTable('readings', { schema: SCHEMA });
      const streamId = `projects/${PROJECT}/datasets/${dataset.id ?? ''}/tables/readings/streams/_default`;
      const { writer, connection } = await jsonWriterFor(idleClient, streamId);
      expect((await writer.appendRows([{ deviceId: 'i1' }]).getResult()).error).toBeFalsy();
      const closed = await new Promise<unknown>((resolve) => {
        connection.onConnectionError(resolve);
      });
      expect((closed as { code?: number }).code).toBe(grpc.status.ABORTED);
      expect((await writer.appendRows([{ deviceId: 'i2' }]).getResult()).error).toBeFalsy();
      writer.close();
      expect((await rowsOf(table)).map((row) => row['deviceId']).sort()).toEqual(['i1', 'i2']);
    } finally {
      idleClient.close();
      await idleServer.stop();
    }
  });
});

describe('unary RPCs', () => {
  it('answers NOT_FOUND for a missing table and an unknown stream', async () => {
    const { parent } = await newTable();
    const missingTable = await caught(() =>
      client.createWriteStream({
        streamType: managedwriter.CommittedStream,
        destinationTable: `${parent}_missing`,
      }),
    );
    expect(String(missingTable)).toMatch(/not found/i);
    const unknown = await caught(() =>
      client.getWriteStream({ streamId: `${parent}/streams/nope` }),
    );
    expect((unknown as { code?: number }).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('the README example', () => {
  it('appends one row to the _default stream through WriterClient and JSONWriter', async () => {
    const ds = uniqueName('readme');
    const [dataset] = await bq.createDataset(ds);
    const [table] = await dataset.createTable('t', { schema: [{ name: 'name', type: 'STRING' }] });
    // From here on, the README's code.
    const readmeClient = new managedwriter.WriterClient({
      projectId: 'test-proj',
      servicePath: writeApi.host,
      port: writeApi.port,
      sslCreds: grpc.credentials.createInsecure(),
      universeDomain: 'googleapis.com',
    });
    const streamId = `projects/test-proj/datasets/${ds}/tables/t/streams/_default`;
    const { tableSchema } = await readmeClient.getWriteStream({
      streamId,
      view: protos.google.cloud.bigquery.storage.v1.WriteStreamView.FULL,
    });
    if (tableSchema === null || tableSchema === undefined) throw new Error('no table schema');
    const protoDescriptor = adapt.convertStorageSchemaToProto2Descriptor(tableSchema, 'root');
    const connection = await readmeClient.createStreamConnection({ streamId });
    connection.onConnectionError(() => undefined);
    const writer = new managedwriter.JSONWriter({ connection, protoDescriptor });
    const result = await writer.appendRows([{ name: 'a' }]).getResult();
    readmeClient.close();
    expect(result.error).toBeFalsy();
    expect(result.rowErrors ?? []).toEqual([]);
    expect(await rowsOf(table)).toEqual([{ name: 'a' }]);
  });
});
