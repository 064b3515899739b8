import { describe, expect, it } from 'vitest';
import { BigQueryApiError } from './errors.js';
import { rewriteSql, type RewriteContext } from './sql-rewrite.js';

/** A few of DuckDB's keywords, as `duckdb_keywords()` categorises them. */
const duckKeywords = new Map([
  ['TIMESTAMP', 'column_name'],
  ['TIME', 'column_name'],
  ['VALUE', 'unreserved'],
  ['DAY', 'unreserved'],
  ['OFFSET', 'reserved'],
  ['GLOB', 'type_function'],
  ['LIMIT', 'reserved'],
  ['SELECT', 'reserved'],
  ['FROM', 'reserved'],
  ['AS', 'reserved'],
  ['WITH', 'reserved'],
  ['INTERVAL', 'column_name'],
  ['PERCENT', 'unreserved'],
]);

const context: RewriteContext = {
  projectId: 'p',
  duckKeywords,
  defaultDataset: { projectId: 'p', datasetId: 'ds' },
  resolveTable: (p, d, t) => (d === 'ds' && t === 'events' ? `"${p}.${d}"."${t}"` : undefined),
  datasetExists: (_p, d) => d === 'ds',
  namedParameter: (name) => (name === 'min' ? 'CAST($1 AS BIGINT)' : undefined),
  positionalParameter: (index) => (index === 0 ? 'CAST($1 AS VARCHAR)' : undefined),
};

const rewrite = (sql: string): string => rewriteSql(sql, context).sql;

describe('rewriteSql', () => {
  it('maps every table path form to the DuckDB name', () => {
    expect(rewrite('SELECT * FROM `p.ds.events`')).toBe('SELECT * FROM "p.ds"."events"');
    expect(rewrite('SELECT * FROM `p`.`ds`.`events`')).toBe('SELECT * FROM "p.ds"."events"');
    expect(rewrite('SELECT * FROM ds.events e JOIN `ds.events` f USING (id)')).toBe(
      'SELECT * FROM "p.ds"."events" e JOIN "p.ds"."events" f USING (id)',
    );
    expect(rewrite('SELECT * FROM events')).toBe('SELECT * FROM "p.ds"."events"');
  });

  it('leaves column paths alone and quotes backtick identifiers', () => {
    expect(rewrite('SELECT e.loc.lat, `my col` FROM ds.events AS e')).toBe(
      'SELECT e.loc.lat, "my col" FROM "p.ds"."events" AS e',
    );
  });

  it('turns GoogleSQL strings into DuckDB literals', () => {
    expect(rewrite(`SELECT "a'b", 'c\\'d', r'\\n', '''x'y''', b'\\x01'`)).toBe(
      `SELECT 'a''b', 'c''d', '\\n', 'x''y', CAST('\\x01' AS BLOB)`,
    );
  });

  it('maps parameters, casts, typed literals and comments', () => {
    expect(
      rewrite(
        'SELECT SAFE_CAST(x AS INT64), CAST(y AS ARRAY<STRING>) # c\nWHERE n > @min AND s = ?',
      ),
    ).toBe(
      'SELECT TRY_CAST(x AS BIGINT), CAST(y AS VARCHAR[]) -- c\nWHERE n > CAST($1 AS BIGINT) AND s = CAST($1 AS VARCHAR)',
    );
    expect(
      rewrite("SELECT TIMESTAMP '2026-01-01', CAST(t AS TIMESTAMP), CAST(n AS NUMERIC(10, 2))"),
    ).toBe(
      "SELECT CAST('2026-01-01' AS TIMESTAMPTZ), CAST(t AS TIMESTAMPTZ), CAST(n AS DECIMAL(10, 2))",
    );
    expect(rewrite('SELECT * EXCEPT (a) FROM ds.events WHERE x IN UNNEST(arr)')).toBe(
      'SELECT * EXCLUDE (a) FROM "p.ds"."events" WHERE x IN (SELECT UNNEST(arr))',
    );
  });

  it('rejects missing tables after FROM with notFound and missing parameters with invalidQuery', () => {
    expect(() => rewrite('SELECT 1 FROM ds.nope')).toThrow(
      new BigQueryApiError(
        404,
        'notFound',
        'Not found: Table p:ds.nope was not found in location US',
      ),
    );
    expect(() => rewrite('SELECT 1 FROM `q.other.t`')).toThrow(/Dataset q:other/);
    expect(() => rewrite('SELECT @nope')).toThrow(/Query parameter 'nope' not found at \[1:8\]/);
    expect(() => rewrite("SELECT 'open")).toThrow(/Unclosed string literal/);
  });

  it('reports the first keyword', () => {
    expect(rewriteSql('  -- c\n  WITH x AS (SELECT 1) SELECT * FROM x', context).firstKeyword).toBe(
      'WITH',
    );
  });

  it('quotes names GoogleSQL allows but DuckDB reads as keywords', () => {
    expect(rewrite('SELECT ? timestamp, @min time, CURRENT_TIMESTAMP() value')).toBe(
      'SELECT CAST($1 AS VARCHAR) "timestamp", CAST($1 AS BIGINT) "time", now() "value"',
    );
    expect(rewrite('SELECT offset, glob FROM events')).toBe(
      'SELECT "offset", "glob" FROM "p.ds"."events"',
    );
    expect(rewrite('SELECT ts AS timestamp, e.offset FROM events e LIMIT 5 OFFSET 2')).toBe(
      'SELECT ts AS timestamp, e.offset FROM "p.ds"."events" e LIMIT 5 OFFSET 2',
    );
    expect(rewrite('SELECT a FROM events TABLESAMPLE SYSTEM (10 PERCENT)')).toBe(
      'SELECT a FROM "p.ds"."events" TABLESAMPLE SYSTEM (10 PERCENT)',
    );
    expect(rewrite('SELECT DATE_ADD(d, INTERVAL 1 DAY) FROM UNNEST(a) x WITH OFFSET')).toBe(
      'SELECT DATE_ADD(d, INTERVAL 1 DAY) FROM UNNEST(a) x WITH OFFSET',
    );
    expect(rewrite("SELECT TIMESTAMP '2026-01-01', TIMESTAMP(x)")).toBe(
      "SELECT CAST('2026-01-01' AS TIMESTAMPTZ), TIMESTAMP(x)",
    );
  });

  it('types decimal literals FLOAT64 (DOUBLE), as GoogleSQL does, and leaves integers alone', () => {
    expect(rewrite("SELECT 3.5, 1e3, .5, 42, NUMERIC '1.5'")).toBe(
      "SELECT CAST(3.5 AS DOUBLE), CAST(1e3 AS DOUBLE), CAST(.5 AS DOUBLE), 42, CAST('1.5' AS DECIMAL(38,9))",
    );
  });
});
