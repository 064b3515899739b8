import {
  createBatchingService,
  type DeadLetterSink,
  type Message,
  type PipelineEvent,
  type TributaryError,
} from '@tributary/messagepipeline';
import { createInMemoryBroker, type InMemoryBroker } from '@tributary/messagepipeline/broker';
import { createConnection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { eventRowTransformer } from './event-row.js';
import { createEventStore, type EventStore } from './event-store.js';
import {
  countRows,
  dropTable,
  MYSQL_URL,
  uniqueTable,
  useSqlTestContext,
} from './test-support/mysql.js';

// The event store on a BatchingService, fed by the in-memory broker: what the sql-sink app runs.

const context = useSqlTestContext();
const pool = (): Pool => context.pool();

interface Sink {
  readonly broker: InMemoryBroker;
  readonly store: EventStore;
  readonly events: PipelineEvent[];
  readonly deadLetters: { message: Message; error: TributaryError }[];
  publish(events: readonly Record<string, unknown>[]): Promise<void>;
  /** Resolves once `n` messages were acked. */
  acked(n: number): Promise<void>;
}

async function startSink(maxItems = 100): Promise<Sink> {
  const table = uniqueTable('sink');
  const broker = createInMemoryBroker();
  broker.createTopic('raw');
  broker.createSubscription('sql', { topic: 'raw' });
  const store = createEventStore({ pool: pool(), table });
  const events: PipelineEvent[] = [];
  const deadLetters: Sink['deadLetters'] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let ackCount = 0;
  const deadLetter: DeadLetterSink = {
    deadLetter(message, error) {
      deadLetters.push({ message, error });
      return Promise.resolve();
    },
  };
  const service = createBatchingService({
    stage: 'sql-sink',
    consumer: broker.consumer('sql'),
    transformer: eventRowTransformer,
    processor: store.write,
    deadLetter,
    maxItems,
    maxWaitMs: 50,
    retry: { maxAttempts: 4, initialBackoffMs: 50 },
    observer: (event) => {
      events.push(event);
      if (event.type !== 'acked') return;
      ackCount += 1;
      for (const waiter of waiters.filter((w) => w.n <= ackCount)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  });
  await store.start();
  await service.start();
  const producer = broker.producer('raw');
  context.cleanup(() => dropTable(pool(), table));
  context.cleanup(() => broker.close());
  context.cleanup(() => store.stop());
  context.cleanup(() => service.stop());
  return {
    broker,
    store,
    events,
    deadLetters,
    async publish(list) {
      await Promise.all(
        list.map((event) => producer.publish({ data: Buffer.from(JSON.stringify(event)) })),
      );
    },
    acked: (n) =>
      ackCount >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
  };
}

const event = (i: number, extra: Record<string, unknown> = {}) => ({
  id: `ev-${i}`,
  type: 'click',
  source: 'web',
  data: { i },
  ...extra,
});

describe('event store on the batching service', () => {
  it('dead-letters a row with an oversized field with its MySQL code, and writes its batch', async () => {
    const sink = await startSink();
    await sink.publish(
      Array.from({ length: 40 }, (_, i) => event(i, i === 7 ? { source: 's'.repeat(500) } : {})),
    );
    await sink.acked(40);
    expect(await countRows(pool(), sink.store.table)).toBe(39);
    expect(sink.deadLetters).toHaveLength(1);
    const [dead] = sink.deadLetters;
    expect(JSON.parse(Buffer.from(dead?.message.data ?? []).toString()).id).toBe('ev-7');
    expect(dead?.error.message).toMatch(
      /^insert into '\w+': ER_DATA_TOO_LONG \(1406\): Data too long for column 'source'/,
    );
    expect(sink.events.filter((e) => e.type === 'nacked')).toEqual([]);
  });

  it('retries a batch whose connection is killed mid-statement, and writes it once', async () => {
    const sink = await startSink(500);
    const table = sink.store.table;
    // Hold the table so the sink's INSERT waits in the server, then kill that connection.
    const locker = await createConnection({ uri: MYSQL_URL });
    context.cleanup(() => locker.end());
    await locker.query(`LOCK TABLES \`${table}\` WRITE`);
    await sink.publish(Array.from({ length: 300 }, (_, i) => event(i)));
    let threadId: number | undefined;
    for (let i = 0; i < 200 && threadId === undefined; i++) {
      const [rows] = await locker.query<RowDataPacket[]>(
        `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ?`,
        [`INSERT INTO \`${table}\`%`],
      );
      threadId = rows[0]?.['ID'] as number | undefined;
      if (threadId === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(threadId).toBeDefined();
    await locker.query(`KILL CONNECTION ${Number(threadId)}`);
    await locker.query('UNLOCK TABLES');
    await sink.acked(300);
    expect(await countRows(pool(), table)).toBe(300);
    const retried = sink.events.filter((e) => e.type === 'retried');
    expect(retried.length).toBeGreaterThan(0);
    expect(retried[0]).toMatchObject({ error: { retriable: true } });
    expect(sink.deadLetters).toEqual([]);
    expect(sink.store.stats()).toMatchObject({ rowsWritten: 300, duplicateRows: 0 });
    expect(sink.store.stats().failedStatements).toBeGreaterThan(0);
  });
});
