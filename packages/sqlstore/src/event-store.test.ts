import { createMessage, type BatchContext, type ProcessableItem } from '@tributary/messagepipeline';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { toEventRow, type EventRow } from './event-row.js';
import { createEventStore, type EventStore } from './event-store.js';
import {
  countRows,
  dropTable,
  eventMessage,
  useSqlTestContext,
  uniqueTable,
} from './test-support/mysql.js';

/** A batch flushed by size, not keyed: how the sink's service calls the store. */
const sizeFlush: BatchContext = { key: undefined, reason: 'items' };

const context = useSqlTestContext();
const pool = (): Pool => context.pool();

async function startedStore(): Promise<EventStore> {
  const table = uniqueTable('store');
  const store = createEventStore({ pool: pool(), table });
  context.cleanup(() => dropTable(pool(), table));
  await store.start();
  context.cleanup(() => store.stop());
  return store;
}

function items(ids: readonly string[], overrides: Record<string, Record<string, unknown>> = {}) {
  return ids.map((id): ProcessableItem<EventRow> => {
    const message = eventMessage(id, overrides[id] ?? {});
    return { message, payload: toEventRow(message) };
  });
}

const ids = (n: number, prefix = 'e'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('event store', () => {
  it('writes a batch in one statement with every column', async () => {
    const store = await startedStore();
    const batch = items(['a', 'b'], {
      a: { user_id: 42, timestamp: '2024-05-01T10:00:00.123456Z' },
    });
    expect(await store.write(batch, new AbortController().signal, sizeFlush)).toEqual([]);
    const [rows] = await pool().query<RowDataPacket[]>(
      `SELECT id, type, source, user_id, data, created_at FROM \`${store.table}\` ORDER BY id`,
    );
    expect(rows.map((r) => ({ ...r }))).toEqual([
      {
        id: 'a',
        type: 'user_action',
        source: 'web',
        user_id: '42',
        data: { n: 'a' },
        created_at: new Date('2024-05-01T10:00:00.123Z'),
      },
      expect.objectContaining({ id: 'b', user_id: null }),
    ]);
    expect(store.stats()).toMatchObject({ rowsWritten: 2, statements: 1, duplicateRows: 0 });
  });

  it('writes a redelivered event once and counts the duplicate', async () => {
    const store = await startedStore();
    const signal = new AbortController().signal;
    expect(await store.write(items(ids(10)), signal, sizeFlush)).toEqual([]);
    expect(await store.write(items([...ids(5), 'new']), signal, sizeFlush)).toEqual([]);
    expect(await countRows(pool(), store.table)).toBe(11);
    expect(store.stats()).toMatchObject({ rowsWritten: 11, duplicateRows: 5 });
  });

  it('isolates a row too long for its column and writes the rest of the batch', async () => {
    const store = await startedStore();
    const batch = items(ids(50), { e17: { type: 'x'.repeat(300) } });
    const failures = await store.write(batch, new AbortController().signal, sizeFlush);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.index).toBe(17);
    expect(failures[0]?.error).toMatchObject({ retriable: false, code: 'SINK_FAILED' });
    expect((failures[0]?.error as Error).message).toMatch(/ER_DATA_TOO_LONG \(1406\)/);
    expect(await countRows(pool(), store.table)).toBe(49);
    expect(store.stats()).toMatchObject({ rowsWritten: 49, rowsRejected: 1 });
    expect(store.stats().bisections).toBeGreaterThan(0);
  });

  it('reports a missing table as a destination failure and turns not ready', async () => {
    const store = await startedStore();
    await pool().query(`DROP TABLE \`${store.table}\``);
    const failures = await store.write(items(['a']), new AbortController().signal, sizeFlush);
    expect(failures[0]?.error).toMatchObject({ destination: true, code: 'NOT_FOUND' });
    expect(store.health()).toMatchObject({ ready: false });
  });

  it('refuses a payload that is not an event', () => {
    const message = createMessage({ id: 'x', data: Buffer.from('[1]') });
    expect(() => toEventRow(message)).toThrow(/not a JSON object/);
    const noType = createMessage({ id: 'y', data: Buffer.from('{"source":"web"}') });
    expect(() => toEventRow(noType)).toThrow(/"type"/);
  });

  it('takes the id from the event_id attribute, then the message id', () => {
    const fromAttribute = createMessage({
      id: 'transport-id',
      data: Buffer.from('{"type":"t","source":"s"}'),
      attributes: { event_id: 'key-1', received_at: '2024-01-01T00:00:00Z' },
    });
    expect(toEventRow(fromAttribute)).toMatchObject({
      id: 'key-1',
      data: 'null',
      receivedAt: new Date('2024-01-01T00:00:00Z'),
      createdAt: new Date('2024-01-01T00:00:00Z'),
    });
    const bare = createMessage({
      id: 'transport-id',
      data: Buffer.from('{"type":"t","source":"s"}'),
    });
    expect(toEventRow(bare).id).toBe('transport-id');
  });
});
