import { readFileSync } from 'node:fs';
import { configMarkdownTable, ConfigInvalidError, loadConfig } from '@tributary/runtime';
import { describe, expect, it } from 'vitest';
import { SqlSinkEnv } from './config.js';

const base = {
  GOOGLE_CLOUD_PROJECT: 'my-project',
  SUBSCRIPTION: 'events-sql',
  DEAD_LETTER_TOPIC: 'events-dead-letters',
  MYSQL_URL: 'mysql://root@127.0.0.1:3306/test',
};

describe('sql-sink configuration', () => {
  it('documents every variable in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // Prettier aligns the columns: compare the cells, not the padding.
    const cells = (text: string): string =>
      text.replaceAll(/ *\| */g, '|').replaceAll(/\|-+(?=\|)/g, '|-');
    expect(cells(readme)).toContain(cells(configMarkdownTable(SqlSinkEnv)));
  });

  it('applies the defaults', () => {
    expect(loadConfig(SqlSinkEnv, base)).toMatchObject({
      MYSQL_TABLE: 'events',
      MYSQL_POOL_SIZE: 4,
      BATCH_MAX_ITEMS: 500,
      RETRY_MAX_ATTEMPTS: 4,
    });
  });

  it('names every bad variable at once', () => {
    let problems: readonly { variable: string }[] = [];
    try {
      loadConfig(SqlSinkEnv, {
        ...base,
        MYSQL_TABLE: 'drop table;',
        MYSQL_POOL_SIZE: '1',
        MAX_CONCURRENT_FLUSHES: '3',
        MYSQL_TLS_CERT_FILE: 'package.json',
      });
    } catch (error) {
      if (!(error instanceof ConfigInvalidError)) throw error;
      problems = error.problems;
    }
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'MAX_CONCURRENT_FLUSHES',
      'MYSQL_TABLE',
      'MYSQL_TLS_KEY_FILE',
    ]);
  });
});
