// The de-duplicating view infra/ deploys next to the sink's table (modules/bigquery-events), run
// as written there against the local BigQuery server through the official client: the Terraform
// query must stay bqstore's dedupViewQuery, read the column the app's mapping writes the message
// id to, and leave one row per message id however many copies the table holds.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createBigQueryClient,
  dedupViewQuery,
  loadRowMappingFile,
  loadSchemaFile,
  type TableRef,
} from '@tributary/bqstore';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const infra = join(root, 'infra');

/** The value of `name = "…"` in the body of a block of `hcl` that `header` starts. */
function attribute(hcl: string, header: string, name: string): string {
  const start = hcl.indexOf(header);
  expect(start, `${header} in the Terraform`).toBeGreaterThanOrEqual(0);
  const match = new RegExp(`^\\s*${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`, 'm').exec(
    hcl.slice(start),
  );
  expect(match, `${name} of ${header}`).not.toBeNull();
  return match?.[1] ?? '';
}

/** The view's query as Terraform would send it for the root module's values. */
async function terraformViewQuery(table: TableRef): Promise<{ query: string; idColumn: string }> {
  const module = await readFile(join(infra, 'modules', 'bigquery-events', 'main.tf'), 'utf8');
  const rootModule = await readFile(join(infra, 'main.tf'), 'utf8');
  const idColumn = attribute(rootModule, 'module "bigquery"', 'message_id_column');
  const template = attribute(module, 'resource "google_bigquery_table" "dedup"', 'query');
  const query = template
    .replaceAll('${var.message_id_column}', idColumn)
    .replaceAll('${var.project_id}', table.projectId)
    .replaceAll('${google_bigquery_dataset.this.dataset_id}', table.datasetId)
    .replaceAll('${google_bigquery_table.events.table_id}', table.tableId);
  expect(query, 'every interpolation of the view query is known').not.toContain('${');
  return { query, idColumn };
}

describe("infra's de-duplicating view", () => {
  it('is dedupViewQuery over the column the mapping writes message ids to', async () => {
    const table = { projectId: 'p', datasetId: 'd', tableId: 'events' };
    const { query, idColumn } = await terraformViewQuery(table);
    expect(query).toBe(dedupViewQuery(table, { viewId: 'events_dedup', idColumn }));
    // infra/app-bigquery-sink.tf runs the sink with this mapping file (the image's examples/).
    const mapping = await loadRowMappingFile(
      join(import.meta.dirname, '..', 'mapping.example.json'),
    );
    expect(mapping.messageIdColumn).toBe(idColumn);
  });

  it('returns one row per message id over a table holding copies of messages', async () => {
    const projectId = testEnv().GOOGLE_CLOUD_PROJECT;
    const bq = createBigQueryClient({ projectId, requestTimeoutMs: 10_000 });
    const [dataset] = await bq.createDataset(uniqueName('dedup', '_'));
    const table: TableRef = { projectId, datasetId: dataset.id ?? '', tableId: 'events' };
    const schema = await loadSchemaFile(join(infra, 'schemas', 'events.json'));
    // As modules/bigquery-events creates it for the root module.
    const [events] = await dataset.createTable(table.tableId, {
      schema: { fields: schema.fields as never },
      timePartitioning: { type: 'DAY', field: 'publish_time' },
      clustering: { fields: ['device_id', 'event_type'] },
    });
    const { query } = await terraformViewQuery(table);
    // What google_bigquery_table with view { use_legacy_sql = false } sends, through the client.
    const [view] = await dataset.createTable('events_dedup', { view: query });

    // Copies insertId cannot catch: each under its own insertId, as after a redelivery outside
    // BigQuery's de-duplication window or from the at-least-once Storage Write writer.
    const copies = { m1: 3, m2: 2, m3: 1 };
    const rows = Object.entries(copies).flatMap(([id, n]) =>
      Array.from({ length: n }, (_, copy) => ({
        insertId: `${id}-${copy}`,
        json: {
          device_id: `device-${id}`,
          value: copy,
          message_id: id,
          publish_time: '2026-12-01T00:00:00Z',
          event_type: 'reading',
        },
      })),
    );
    await events.insert(rows, { raw: true, partialRetries: 0 });

    const count = async (id: string): Promise<unknown> => {
      const [result] = await bq.query(
        `SELECT count(*) AS n, count(DISTINCT message_id) AS ids FROM \`${projectId}.${table.datasetId}.${id}\``,
      );
      return result[0];
    };
    expect(await count('events')).toEqual({ n: 6, ids: 3 });
    expect(await count('events_dedup')).toEqual({ n: 3, ids: 3 });
    const [viewed] = await bq.query(
      `SELECT * FROM \`${projectId}.${table.datasetId}.events_dedup\` ORDER BY message_id`,
    );
    expect(viewed.map((row: Record<string, unknown>) => row['message_id'])).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
    // The view has the table's columns and no helper column of its own.
    const [metadata] = await view.getMetadata();
    expect(metadata.type).toBe('VIEW');
    expect((metadata.schema.fields as { name: string }[]).map((f) => f.name)).toEqual(
      schema.fields.map((f) => f.name),
    );
  });
});
