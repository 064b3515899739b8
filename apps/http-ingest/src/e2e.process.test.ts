import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import {
  findFreePort,
  startAppProcess,
  testEnv,
  uniqueName,
  waitForAppReady,
  type AppProcess,
} from '@tributary/local-gcp';
import { createPool, type RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { API_KEY, API_KEY_HASH, ingestEnvironment } from './test-support/ingest-harness.js';

// POST /events/batch -> http-ingest -> Pub/Sub (emulator) -> sql-sink -> MariaDB -> SELECT.

const ingestMain = join(import.meta.dirname, 'main.ts');
const sinkMain = join(import.meta.dirname, '../../sql-sink/src/main.ts');
const MYSQL_URL = process.env['MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function start(
  main: string,
  env: Record<string, string>,
): Promise<{ child: AppProcess; url: string }> {
  const port = await findFreePort();
  const child = startAppProcess(main, ingestEnvironment({ ...env, PORT: String(port) }));
  cleanups.push(async () => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await child.exit;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForAppReady(url, child);
  return { child, url };
}

describe('http-ingest to sql-sink', () => {
  it('lands a posted batch in the table once, retries included', async () => {
    const pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
    cleanups.push(() => pubsub.close());
    const [topic] = await pubsub.createTopic(uniqueName('e2e'));
    const [subscription] = await topic.createSubscription(uniqueName('e2e-sql'));
    const table = uniqueName('e2e', '_');
    const pool = createPool({ uri: MYSQL_URL, connectionLimit: 1 });
    cleanups.push(
      () => topic.delete(),
      () => subscription.delete(),
      () => pool.end(),
      () => pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema_version\``),
    );

    const sink = await start(sinkMain, {
      SUBSCRIPTION: subscription.name,
      DEAD_LETTER_TOPIC: 'unused-dead-letters',
      MYSQL_URL,
      MYSQL_TABLE: table,
      BATCH_MAX_WAIT_MS: '100',
    });
    const ingest = await start(ingestMain, { TOPIC: topic.name, API_KEYS: API_KEY_HASH });

    const events = Array.from({ length: 50 }, (_, i) =>
      i === 13
        ? { type: 'broken', data: {} }
        : {
            type: i % 2 === 0 ? 'page_view' : 'click',
            source: 'web',
            user_id: `u${i % 5}`,
            timestamp: '2026-01-02T03:04:05.678Z',
            data: { i },
          },
    );
    const post = () =>
      fetch(`${ingest.url}/events/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': API_KEY,
          'idempotency-key': 'e2e-batch-1',
        },
        body: JSON.stringify({ events }),
      });
    const first = await post();
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ accepted: 49, rejected: 1, failed: 0 });

    const count = async (): Promise<number> => {
      const [rows] = await pool
        .query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``)
        .catch(() => [[{ n: 0 }]] as unknown as [RowDataPacket[]]);
      return Number(rows[0]?.['n']);
    };
    const deadline = Date.now() + 60_000;
    let rows = await count();
    while (rows < 49 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await count();
    }
    expect(rows, sink.child.output()).toBe(49);

    // The client retries the whole batch: nothing new lands.
    expect((await post()).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await count()).toBe(49);

    const [selected] = await pool.query<RowDataPacket[]>(
      `SELECT id, type, source, user_id, data, created_at FROM \`${table}\` WHERE id = ?`,
      ['e2e-batch-1:4'],
    );
    expect(selected[0]).toMatchObject({
      id: 'e2e-batch-1:4',
      type: 'page_view',
      source: 'web',
      user_id: 'u4',
      data: { i: 4 },
      created_at: new Date('2026-01-02T03:04:05.678Z'),
    });
    const [byType] = await pool.query<RowDataPacket[]>(
      `SELECT type, COUNT(*) AS n FROM \`${table}\` GROUP BY type ORDER BY type`,
    );
    expect(byType.map((r): [string, number] => [String(r['type']), Number(r['n'])])).toEqual([
      ['click', 24],
      ['page_view', 25],
    ]);

    ingest.child.process.kill('SIGTERM');
    sink.child.process.kill('SIGTERM');
    expect(await ingest.child.exit).toBe(0);
    expect(await sink.child.exit).toBe(0);
  }, 120_000);
});
