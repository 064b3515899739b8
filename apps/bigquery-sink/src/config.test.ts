import { readFileSync } from 'node:fs';
import { viewIdTemplateProblem } from '@tributary/bqstore';
import { ConfigInvalidError, configMarkdownTable, loadConfig } from '@tributary/runtime';
import { describe, expect, it } from 'vitest';
import { BigQuerySinkEnv } from './config.js';

const base = {
  GOOGLE_CLOUD_PROJECT: 'my-project',
  SUBSCRIPTION: 'events-bq',
  DEAD_LETTER_TOPIC: 'events-dead-letters',
  BIGQUERY_DATASET: 'telemetry',
  BIGQUERY_TABLE: 'readings',
};

function problemsOf(
  env: Readonly<Record<string, string>>,
): { variable: string; problem: string }[] {
  try {
    loadConfig(BigQuerySinkEnv, { ...base, ...env });
  } catch (error) {
    if (!(error instanceof ConfigInvalidError)) throw error;
    return error.problems.map((p) => ({ variable: p.variable, problem: p.problem }));
  }
  return [];
}

describe('bigquery-sink configuration', () => {
  it('documents every variable in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // Prettier aligns the columns: compare the cells, not the padding.
    const cells = (text: string): string =>
      text.replaceAll(/ *\| */g, '|').replaceAll(/\|-+(?=\|)/g, '|-');
    expect(cells(readme)).toContain(cells(configMarkdownTable(BigQuerySinkEnv)));
  });

  it('refuses dataset ids BigQuery refuses (which would otherwise fail every insert)', () => {
    for (const dataset of ['my-dataset', 'a.b', 'x'.repeat(1025), 'données']) {
      expect(problemsOf({ BIGQUERY_DATASET: dataset })).toEqual([
        {
          variable: 'BIGQUERY_DATASET',
          problem: expect.stringContaining('expected a dataset id') as string,
        },
      ]);
    }
    expect(problemsOf({ BIGQUERY_DATASET: 'my_dataset_2' })).toEqual([]);
  });

  it("accepts BigQuery's table ids and templates, and refuses the rest", () => {
    for (const table of ['raw-events', 'événements 2026', 'events_{type}', 'e-{region}-{type}']) {
      expect(problemsOf({ BIGQUERY_TABLE: table })).toEqual([]);
    }
    const refused = {
      'a.b': "'a.b' is not a table id",
      events$: "'events$' is not a table id",
      'events_{}': 'empty {} placeholder',
      'events_{type': 'unbalanced',
      ['t'.repeat(1025)]: 'longer than a table id may be',
    };
    for (const [table, problem] of Object.entries(refused)) {
      expect(problemsOf({ BIGQUERY_TABLE: table })).toEqual([
        { variable: 'BIGQUERY_TABLE', problem: expect.stringContaining(problem) as string },
      ]);
    }
  });

  it('checks the de-duplicating view id with the rule the sink applies', () => {
    for (const view of ['{table}_dedup', 'my view-1', '{table}_by_{table}']) {
      expect(problemsOf({ DEDUP_VIEW: view })).toEqual([]);
      expect(viewIdTemplateProblem(view)).toBeUndefined();
    }
    const refused = {
      'views.{table}': "'views.{table}' is not a view id",
      '{type}_dedup': 'a placeholder other than {table}',
      '{table}': 'would name the table itself',
      ['v'.repeat(1025)]: 'longer than a view id may be',
    };
    for (const [view, problem] of Object.entries(refused)) {
      expect(problemsOf({ DEDUP_VIEW: view })).toEqual([
        { variable: 'DEDUP_VIEW', problem: expect.stringContaining(problem) as string },
      ]);
    }
  });

  it('writes through the Storage Write API by default, and refuses to send the rows of a local REST server to Google', () => {
    expect(loadConfig(BigQuerySinkEnv, base).WRITER).toBe('storage-write');
    expect(problemsOf({ BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:9050' })).toEqual([
      {
        variable: 'BIGQUERY_STORAGE_EMULATOR_HOST',
        problem: expect.stringContaining('required with BIGQUERY_EMULATOR_HOST') as string,
      },
    ]);
    expect(
      problemsOf({
        BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:9050',
        BIGQUERY_STORAGE_EMULATOR_HOST: '127.0.0.1:9060',
      }),
    ).toEqual([]);
    expect(
      problemsOf({ BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:9050', WRITER: 'insertAll' }),
    ).toEqual([]);
  });
});
