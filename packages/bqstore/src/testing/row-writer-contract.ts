import { isTributaryError } from '@tributary/messagepipeline';
import { afterEach, describe, expect, it } from 'vitest';
import type { RowWriter, TableRef } from '../row-writer.js';
import type { TableSchema } from '../schema.js';

/** The schema of every table a contract subject provides. */
export const CONTRACT_SCHEMA: TableSchema = {
  fields: [
    { name: 'id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'n', type: 'INT64' },
    { name: 'value', type: 'FLOAT64' },
  ],
};

/** A writer under test, a fresh empty table with {@link CONTRACT_SCHEMA}, and a way to read it. */
export interface RowWriterSubject {
  readonly writer: RowWriter;
  readonly table: TableRef;
  /** A table that does not exist (its dataset may or may not). */
  readonly missingTable: TableRef;
  /** The rows the table holds now. */
  rows(): Promise<Record<string, unknown>[]>;
}

/** How a writer's tests hand the contract suite fresh subjects. */
export interface RowWriterContractOptions {
  create(): Promise<RowWriterSubject>;
  /** Removes what `create` made; runs after each test. */
  cleanup?: (() => Promise<void>) | undefined;
}

function rowsOf(count: number, from = 0): { insertId: string; row: Record<string, unknown> }[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { insertId: `m${i}`, row: { id: `m${i}`, n: i, value: i / 2 } };
  });
}

/**
 * The semantics every {@link RowWriter} keeps, as one vitest suite:
 *
 * - one outcome per row, in the order given; `ok` rows are in the table;
 * - a row written again with the same insertId is stored once;
 * - a row the destination refuses is `invalid` with a message, and the other rows of the same
 *   call are still written;
 * - a call larger than one request is written whole;
 * - a missing table rejects the call with a `destination` error (`NOT_FOUND`), never `invalid`;
 * - an empty call sends nothing and resolves with no outcomes.
 */
export function describeRowWriterContract(name: string, options: RowWriterContractOptions): void {
  describe(`${name}: RowWriter contract`, () => {
    afterEach(async () => {
      await options.cleanup?.();
    });

    it('reports one ok outcome per row, in order, and the table holds the rows', async () => {
      const subject = await options.create();
      const { writer, table } = subject;
      const outcomes = await writer.write(table, rowsOf(5));
      expect(outcomes).toEqual(Array.from({ length: 5 }, () => ({ kind: 'ok' })));
      const stored = await subject.rows();
      expect(stored.map((r) => r['id']).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('stores a row sent again with the same insertId once', async () => {
      const subject = await options.create();
      const { writer, table } = subject;
      await writer.write(table, rowsOf(3));
      const again = await writer.write(table, rowsOf(3));
      expect(again.every((o) => o.kind === 'ok')).toBe(true);
      expect(await subject.rows()).toHaveLength(3);
    });

    it('reports a refused row as invalid and still writes the rest of the call', async () => {
      const subject = await options.create();
      const { writer, table } = subject;
      const batch = rowsOf(4);
      batch[2] = { insertId: 'bad', row: { id: 'bad', n: 'abc' } };
      const outcomes = await writer.write(table, batch);
      expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'invalid', 'ok']);
      const refused = outcomes[2];
      expect(refused?.kind === 'invalid' && refused.message !== '').toBe(true);
      expect((await subject.rows()).map((r) => r['id']).sort()).toEqual(['m0', 'm1', 'm3']);
    });

    it('writes a call larger than one request whole', async () => {
      const subject = await options.create();
      const { writer, table } = subject;
      const outcomes = await writer.write(table, rowsOf(1_200));
      expect(outcomes.filter((o) => o.kind === 'ok')).toHaveLength(1_200);
      expect(await subject.rows()).toHaveLength(1_200);
    });

    it('rejects a call to a missing table with a destination error', async () => {
      const { writer, missingTable } = await options.create();
      const error: unknown = await writer.write(missingTable, rowsOf(1)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTributaryError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'NOT_FOUND', destination: true });
    });

    it('resolves an empty call with no outcomes', async () => {
      const { writer, table } = await options.create();
      expect(await writer.write(table, [])).toEqual([]);
    });
  });
}
