import { createMessage, encodeEnvelope } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createRowMapper, metadataColumns, parseRowMapping } from './mapping.js';
import { parseTableSchema, schemaFromJsonSchema } from './schema.js';
import {
  datasetIdProblem,
  isDatasetId,
  isTableId,
  renderViewId,
  viewIdTemplateProblem,
} from './ids.js';
import { compileTableTemplate } from './table-template.js';

const encoder = new TextEncoder();

describe('row mapping', () => {
  it('turns the payload into the row and adds metadata columns', () => {
    const map = createRowMapper({
      messageIdColumn: 'message_id',
      publishTimeColumn: 'publish_time',
      ingestTimeColumn: 'ingest_time',
      attributeColumns: { type: 'event_type', missing: 'nothing' },
      attributesJsonColumn: 'attributes',
      now: () => new Date('2026-01-02T00:00:00Z'),
    });
    const row = map(
      createMessage({
        id: 'm1',
        data: encoder.encode('{"a":1}'),
        attributes: { type: 'click' },
        publishTime: new Date('2026-01-01T00:00:00Z'),
      }),
    );
    expect(row).toEqual({
      a: 1,
      message_id: 'm1',
      publish_time: '2026-01-01T00:00:00.000Z',
      ingest_time: '2026-01-02T00:00:00.000Z',
      event_type: 'click',
      nothing: null,
      attributes: '{"type":"click"}',
    });
  });

  it('unwraps a v1 envelope and flattens its enrichment', () => {
    const wire = encodeEnvelope({ data: encoder.encode('{"a":1}'), enrichment: { site: 'x' } });
    const map = createRowMapper({ enrichment: { mode: 'flatten', prefix: 'e_' } });
    const row = map(createMessage({ id: 'm', data: wire.data, attributes: wire.attributes }));
    expect(row).toEqual({ a: 1, e_site: 'x' });
  });

  it('refuses a payload that is not a JSON object (permanent INVALID_PAYLOAD)', () => {
    const map = createRowMapper();
    expect(() => map(createMessage({ id: 'm', data: encoder.encode('[1]') }))).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD', retriable: false }),
    );
  });

  it('checks a mapping file, naming every problem', () => {
    expect(() =>
      parseRowMapping({ messageIdColumn: 'bad name', extra: 1 }, 'mapping.json'),
    ).toThrow(/mapping.json: .*messageIdColumn: expected a column name.*Unrecognized key/);
    expect(() =>
      parseRowMapping({ messageIdColumn: 'a', publishTimeColumn: 'A' }, 'm.json'),
    ).toThrow("m.json: column 'A' is mapped twice");
  });

  it('adds metadata columns the declared schema lacks', () => {
    expect(
      metadataColumns({ messageIdColumn: 'id', publishTimeColumn: 't' }, [
        { name: 'ID', type: 'STRING' },
      ]).map((f) => [f.name, f.type]),
    ).toEqual([['t', 'TIMESTAMP']]);
  });
});

describe('schemas', () => {
  it('derives NULLABLE columns from a zod schema through JSON Schema', () => {
    const Reading = z.object({
      device_id: z.string(),
      at: z.iso.datetime(),
      value: z.number().optional(),
      count: z.int(),
      tags: z.array(z.string()),
      loc: z.object({ lat: z.number() }).nullable(),
    });
    const schema = schemaFromJsonSchema(z.toJSONSchema(Reading));
    expect(schema.fields.map((f) => [f.name, f.type, f.mode])).toEqual([
      ['device_id', 'STRING', 'NULLABLE'],
      ['at', 'TIMESTAMP', 'NULLABLE'],
      ['value', 'FLOAT64', 'NULLABLE'],
      ['count', 'INT64', 'NULLABLE'],
      ['tags', 'STRING', 'REPEATED'],
      ['loc', 'RECORD', 'NULLABLE'],
    ]);
    const required = schemaFromJsonSchema(z.toJSONSchema(Reading), { required: 'required' });
    expect(required.fields[0]?.mode).toBe('REQUIRED');
  });

  it('lists every problem of a schema file with its path', () => {
    expect(() =>
      parseTableSchema(
        [
          { name: 'a', type: 'TEXT' },
          { name: '1b', type: 'STRING' },
          { name: 'r', type: 'RECORD' },
        ],
        'schema.json',
      ),
    ).toThrow(
      'schema.json: a: unknown type "TEXT"; [1]: name "1b" is not a valid column name; r: a RECORD needs "fields"',
    );
  });

  it('resolves table templates from attributes, refusing unusable values', () => {
    const resolve = compileTableTemplate('events_{type}');
    expect(resolve({ type: 'click' })).toBe('events_click');
    expect(() => resolve({})).toThrow(expect.objectContaining({ code: 'UNROUTABLE' }));
    expect(() => resolve({ type: 'a.b' })).toThrow(/type="a.b" does not make a table id/);
    expect(() => resolve({ type: 'x'.repeat(1020) })).toThrow(
      expect.objectContaining({ code: 'UNROUTABLE', retriable: false }),
    );
    // BigQuery's table ids: Unicode letters, marks, numbers, connectors, dashes and spaces.
    expect(resolve({ type: 'kl-ick 2' })).toBe('events_kl-ick 2');
    expect(resolve({ type: 'café_日本' })).toBe('events_café_日本');
    expect(compileTableTemplate('raw-events')({})).toBe('raw-events');
    expect(() => compileTableTemplate('bad.name')).toThrow(/'bad.name' is not a table id/);
    expect(() => compileTableTemplate('events_{}')).toThrow(/empty \{\} placeholder/);
    expect(() => compileTableTemplate('events_{type')).toThrow(/unbalanced/);
    expect(() => compileTableTemplate('')).toThrow(/table/);
  });

  it("checks dataset and table ids by BigQuery's rules", () => {
    expect(isDatasetId('my_dataset_1')).toBe(true);
    expect(isDatasetId('my-dataset')).toBe(false);
    expect(isDatasetId('')).toBe(false);
    expect(isDatasetId('a'.repeat(1025))).toBe(false);
    expect(isTableId('raw events-2026')).toBe(true);
    expect(isTableId('a.b')).toBe(false);
    expect(isTableId('a$b')).toBe(false);
    expect(isTableId('é'.repeat(512))).toBe(true);
    expect(isTableId('é'.repeat(513))).toBe(false); // 1026 UTF-8 bytes
    expect(datasetIdProblem('my_dataset_1')).toBeUndefined();
    expect(datasetIdProblem('my-dataset')).toMatch(/expected a dataset id .*'my-dataset'/);
  });

  it('checks view id templates, where every {table} is the id of the table the view reads', () => {
    expect(viewIdTemplateProblem('{table}_dedup')).toBeUndefined();
    expect(renderViewId('{table}_dedup', 'readings')).toBe('readings_dedup');
    expect(renderViewId('{table}_by_{table}', 'r')).toBe('r_by_r');
    expect(renderViewId('all_dedup', 'readings')).toBe('all_dedup');
    expect(viewIdTemplateProblem('views.{table}')).toMatch(/is not a view id/);
    expect(viewIdTemplateProblem('{type}_dedup')).toMatch(/placeholder other than \{table\}/);
    expect(viewIdTemplateProblem('{table}')).toMatch(/would name the table itself/);
    expect(viewIdTemplateProblem('')).toMatch(/a view id is needed/);
    expect(viewIdTemplateProblem(`{table}${'é'.repeat(513)}`)).toMatch(/longer than/);
  });
});
