import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configMarkdownTable, loadConfig } from '@tributary/runtime';
import { describe, expect, it } from 'vitest';
import { EnrichmentEnv } from './config.js';

const minimal = {
  GOOGLE_CLOUD_PROJECT: 'test-proj',
  INPUT_SUBSCRIPTION: 'raw-enrichment',
  OUTPUT_TOPIC: 'enriched',
  DEAD_LETTER_TOPIC: 'dead-letters',
  LOOKUPS_FILE: join(import.meta.dirname, '../lookups.example.yaml'),
};

describe('EnrichmentEnv', () => {
  it('applies the defaults (Redis unset: LRU only)', () => {
    const config = loadConfig(EnrichmentEnv, minimal);
    expect(config.REDIS_URL).toBeUndefined();
    expect(config).toMatchObject({
      REDIS_CLUSTER: false,
      BREAKER_FAILURE_THRESHOLD: 5,
      BREAKER_COOLDOWN_MS: 5_000,
      CONCURRENCY: 200,
      MAX_DELIVERY_ATTEMPTS: 0,
    });
  });

  it('accepts a Cluster seed list and refuses a non-Redis URL', () => {
    const urls = 'redis://10.0.0.1:6379,redis://10.0.0.2:6379';
    expect(loadConfig(EnrichmentEnv, { ...minimal, REDIS_URL: urls }).REDIS_URL).toBe(urls);
    expect(() => loadConfig(EnrichmentEnv, { ...minimal, REDIS_URL: 'http://x' })).toThrow(
      'REDIS_URL',
    );
  });

  it('is documented in the README, every variable with its default', async () => {
    const readme = await readFile(join(import.meta.dirname, '../README.md'), 'utf8');
    // Prettier aligns the table's columns; compare its rows with the spaces squeezed out.
    const squeeze = (text: string) => text.replace(/ +/g, ' ');
    const rows = configMarkdownTable(EnrichmentEnv).split('\n');
    for (const row of rows.filter((line) => !/^[|\- ]+$/.test(line))) {
      expect(squeeze(readme)).toContain(squeeze(row));
    }
  });
});
