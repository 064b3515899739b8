import { join } from 'node:path';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import {
  findFreePort,
  startAppProcess,
  testEnv,
  uniqueName,
  waitForAppReady,
  type AppProcess,
} from '@tributary/local-gcp';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_URL, sqlSinkEnvironment } from './test-support/sink-env.js';

const main = join(import.meta.dirname, 'main.ts');

let pubsub: PubSub;
let pool: Pool;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(() => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
  pool = createPool({ uri: MYSQL_URL, connectionLimit: 2 });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pubsub.close();
  await pool.end();
});

async function count(table: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM \`${table}\``,
  );
  const row = rows[0];
  expect(Number(row?.['n'])).toBe(Number(row?.['ids']));
  return Number(row?.['n']);
}

async function tableCount(table: string): Promise<number> {
  return count(table).catch(() => 0); // the table appears when the sink has migrated
}

async function waitFor(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A topic and subscription of their own, and a table name; all removed after the file. */
async function setup(): Promise<{ topic: Topic; subscription: string; table: string }> {
  const [topic] = await pubsub.createTopic(uniqueName('sql'));
  const [subscription] = await topic.createSubscription(uniqueName('sql-sub'), {
    ackDeadlineSeconds: 10,
  });
  const table = uniqueName('sink', '_');
  cleanups.push(
    () => topic.delete(),
    () => subscription.delete(),
    () => pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema_version\``),
  );
  return { topic, subscription: subscription.name, table };
}

describe('the sql-sink process', () => {
  it('fails startup naming a bad MYSQL_URL without printing it (exit 78)', async () => {
    const child = startAppProcess(
      main,
      sqlSinkEnvironment({
        SUBSCRIPTION: 'events-sub',
        DEAD_LETTER_TOPIC: 'dead-letters',
        MYSQL_URL: 'postgres://u:hunter2@db/events',
      }),
    );
    expect(await child.exit).toBe(78);
    expect(child.stderr()).toContain('MYSQL_URL');
    expect(child.output()).not.toContain('hunter2');
    expect(child.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('writes 10,000 events exactly once across a SIGKILL and a restart, then drains on SIGTERM', async () => {
    const { topic, subscription, table } = await setup();
    const total = 10_000;
    const publisher = pubsub.topic(topic.name, {
      batching: { maxMessages: 1000, maxMilliseconds: 20 },
    });
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        publisher.publishMessage({
          json: { id: `k-${i}`, type: 'click', source: 'web', data: { i } },
          attributes: { type: 'click', source: 'web' },
        }),
      ),
    );
    const port = await findFreePort();
    const env = sqlSinkEnvironment({
      SUBSCRIPTION: subscription,
      DEAD_LETTER_TOPIC: 'unused-dead-letters',
      MYSQL_TABLE: table,
      PORT: String(port),
      BATCH_MAX_ITEMS: '200',
      MAX_IN_FLIGHT_MESSAGES: '1000',
    });
    let child: AppProcess = startAppProcess(main, env);
    await waitFor(
      async () => (await tableCount(table)) >= 2_000,
      60_000,
      () => `first 2000 rows: ${child.output()}`,
    );
    child.process.kill('SIGKILL');
    await child.exit;
    const atKill = await count(table);
    expect(atKill).toBeLessThan(total);

    child = startAppProcess(main, env);
    await waitForAppReady(`http://127.0.0.1:${port}`, child);
    await waitFor(
      async () => (await count(table)) === total,
      90_000,
      () => `all ${total} rows: ${child.output()}`,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/tributary_sql_rows_written_total\{[^}]*\} \d+/);
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
    expect(await count(table)).toBe(total);
    const [missing] = await pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${table}\` WHERE id NOT LIKE 'k-%'`,
    );
    expect(Number(missing[0]?.['n'])).toBe(0);
    process.stdout.write(
      `sql-sink SIGKILL: killed at ${atKill} rows; ${total} rows after restart\n`,
    );
  }, 180_000);
});
