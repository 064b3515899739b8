import { BigQueryApiError } from './errors.js';
import { DATE_PARTS, GOOGLESQL_RESERVED } from './googlesql-keywords.js';
import { quoteIdent, quoteLiteral } from './schema-mapping.js';

/** What the rewriter needs to know about the world. */
export interface RewriteContext {
  /** Project of the job; two-part names `dataset.table` belong to it. */
  readonly projectId: string;
  /** DuckDB's keywords (upper case) and their category, to quote those GoogleSQL allows as names. */
  readonly duckKeywords: ReadonlyMap<string, string>;
  /** `defaultDataset` of the job: one-part names after FROM/JOIN resolve in it. */
  readonly defaultDataset?: { readonly projectId: string; readonly datasetId: string } | undefined;
  /** The DuckDB name (`"schema"."table"`) of a BigQuery table, if it exists. */
  resolveTable(projectId: string, datasetId: string, tableId: string): string | undefined;
  /** Whether the dataset exists (for the right 404 message). */
  datasetExists(projectId: string, datasetId: string): boolean;
  /** SQL for the named parameter `@name`, or undefined if it was not given. */
  namedParameter(name: string): string | undefined;
  /** SQL for the `index`-th (0-based) positional parameter `?`, or undefined if absent. */
  positionalParameter(index: number): string | undefined;
}

/** A statement translated to DuckDB. */
export interface RewrittenSql {
  readonly sql: string;
  /** The first keyword, upper case (SELECT, WITH, INSERT, …), to tell queries from DML and DDL. */
  readonly firstKeyword: string;
}

type TokenType =
  'space' | 'comment' | 'string' | 'quoted' | 'word' | 'number' | 'param' | 'positional' | 'punct';

interface Token {
  readonly type: TokenType;
  readonly text: string;
  /** Decoded value of strings and backtick-quoted identifiers. */
  readonly value: string;
  /** For strings: b'' bytes literal. */
  readonly bytes?: boolean;
  readonly offset: number;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const SPACE = /\s+/y;

/** GoogleSQL type names inside CAST(… AS type) and their DuckDB spelling. */
const castTypes: Readonly<Record<string, string>> = {
  INT64: 'BIGINT',
  INTEGER: 'BIGINT',
  INT: 'BIGINT',
  SMALLINT: 'BIGINT',
  BIGINT: 'BIGINT',
  TINYINT: 'BIGINT',
  BYTEINT: 'BIGINT',
  FLOAT64: 'DOUBLE',
  FLOAT: 'DOUBLE',
  STRING: 'VARCHAR',
  BYTES: 'BLOB',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  NUMERIC: 'DECIMAL(38,9)',
  DECIMAL: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,9)',
  BIGDECIMAL: 'DECIMAL(38,9)',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATETIME: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  JSON: 'JSON',
};

/** Typed literals (`TIMESTAMP '…'`) and the DuckDB type they become. */
const literalTypes: Readonly<Record<string, string>> = {
  TIMESTAMP: 'TIMESTAMPTZ',
  DATETIME: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  NUMERIC: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,9)',
  JSON: 'JSON',
};

/**
 * Translates GoogleSQL text to DuckDB SQL, token by token (no parsing beyond that): table paths
 * (backtick-quoted `p.d.t`, `d.t`, or quoted part by part) become DuckDB names, backtick identifiers become
 * double-quoted ones, "…" and '…' strings (with GoogleSQL escapes, raw and bytes forms) become
 * DuckDB literals, `@name` and `?` become parameters, `#` comments become `--`, `SAFE_CAST`
 * becomes `TRY_CAST`, GoogleSQL type names in CAST and typed literals get DuckDB's names,
 * `SELECT * EXCEPT (…)` becomes `EXCLUDE`, `x IN UNNEST(a)` becomes `x IN (SELECT UNNEST(a))`, and
 * `CURRENT_TIMESTAMP()` loses its parentheses.
 * @throws {@link BigQueryApiError} `notFound` for a missing table after FROM, `invalidQuery` for
 * bad literals and missing parameters.
 */
export function rewriteSql(text: string, context: RewriteContext): RewrittenSql {
  const tokens = tokenize(text);
  const out: string[] = [];
  const parens: ('cast' | 'other' | 'in-unnest')[] = [];
  let pendingCast = false;
  let pendingInUnnest = false;
  let positional = 0;
  let firstKeyword = '';
  let previous: Token | undefined;

  const nextSignificant = (from: number): Token | undefined => {
    for (let j = from; j < tokens.length; j += 1) {
      const token = tokens[j];
      if (token !== undefined && token.type !== 'space' && token.type !== 'comment') return token;
    }
    return undefined;
  };

  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === undefined) break;
    switch (token.type) {
      case 'space':
        out.push(token.text);
        continue;
      case 'comment':
        out.push(token.text.startsWith('#') ? `--${token.text.slice(1)}` : token.text);
        continue;
      case 'string':
        out.push(token.bytes === true ? bytesLiteral(token.value) : quoteLiteral(token.value));
        break;
      case 'number':
        // GoogleSQL types 3.5 and 1e3 as FLOAT64; DuckDB would make 3.5 a DECIMAL (NUMERIC).
        out.push(/[.eE]/.test(token.text) ? `CAST(${token.text} AS DOUBLE)` : token.text);
        break;
      case 'param': {
        const sql = context.namedParameter(token.value);
        if (sql === undefined) {
          throw BigQueryApiError.invalidQuery(
            `Query parameter '${token.value}' not found at ${position(text, token.offset)}`,
          );
        }
        out.push(sql);
        break;
      }
      case 'positional': {
        const sql = context.positionalParameter(positional);
        positional += 1;
        if (sql === undefined) {
          throw BigQueryApiError.invalidQuery(
            `Positional query parameter ${positional} not found at ${position(text, token.offset)}`,
          );
        }
        out.push(sql);
        break;
      }
      case 'punct':
        if (token.text === '(') {
          parens.push(pendingCast ? 'cast' : pendingInUnnest ? 'in-unnest' : 'other');
          pendingCast = false;
          pendingInUnnest = false;
        } else if (token.text === ')' && parens.pop() === 'in-unnest') {
          out.push('))');
          break;
        }
        out.push(token.text);
        break;
      case 'word':
      case 'quoted': {
        const upper = token.type === 'word' ? token.value.toUpperCase() : '';
        if (firstKeyword === '' && token.type === 'word') firstKeyword = upper;
        // Type name after AS inside CAST(…).
        if (
          token.type === 'word' &&
          previous?.type === 'word' &&
          previous.value.toUpperCase() === 'AS' &&
          parens.at(-1) === 'cast'
        ) {
          const consumed = castType(tokens, i);
          if (consumed !== undefined) {
            out.push(consumed.sql);
            i = consumed.end;
            previous = token;
            continue;
          }
        }
        if (token.type === 'word') {
          const next = nextSignificant(i + 1);
          if (upper === 'SAFE_CAST' || upper === 'CAST' || upper === 'TRY_CAST') {
            pendingCast = next?.text === '(';
            out.push(upper === 'SAFE_CAST' ? 'TRY_CAST' : token.text);
            break;
          }
          const literalType = literalTypes[upper];
          if (literalType !== undefined && next?.type === 'string' && next.bytes !== true) {
            out.push(`CAST(${quoteLiteral(next.value)} AS ${literalType})`);
            i = tokens.indexOf(next);
            previous = next;
            continue;
          }
          if (
            (upper === 'CURRENT_TIMESTAMP' ||
              upper === 'CURRENT_DATE' ||
              upper === 'CURRENT_TIME') &&
            next?.text === '('
          ) {
            const close = nextSignificant(tokens.indexOf(next) + 1);
            if (close?.text === ')') {
              out.push(upper === 'CURRENT_TIMESTAMP' ? 'now()' : upper.toLowerCase());
              i = tokens.indexOf(close);
              previous = close;
              continue;
            }
          }
          // x IN UNNEST(array) -> x IN (SELECT UNNEST(array))
          if (
            upper === 'UNNEST' &&
            previous?.type === 'word' &&
            previous.value.toUpperCase() === 'IN' &&
            next?.text === '('
          ) {
            pendingInUnnest = true;
            out.push('(SELECT UNNEST');
            break;
          }
          if (upper === 'EXCEPT' && previous?.text === '*' && next?.text === '(') {
            out.push('EXCLUDE');
            break;
          }
          if (isNameDuckDbWouldMisread(tokens, i, upper, context.duckKeywords)) {
            out.push(quoteIdent(token.value));
            break;
          }
        }
        const chain = readChain(tokens, i);
        const afterFrom =
          previous?.type === 'word' && ['FROM', 'JOIN'].includes(previous.value.toUpperCase());
        const resolved = resolveChain(chain.parts, afterFrom, previous, context);
        if (resolved !== undefined) {
          out.push(resolved);
        } else {
          out.push(
            chain.tokens
              .map((part) =>
                part.type === 'quoted'
                  ? part.value.split('.').map(quoteIdent).join('.')
                  : part.text,
              )
              .join('.'),
          );
        }
        i = chain.end;
        previous = tokens[chain.end];
        continue;
      }
    }
    previous = token;
  }
  return { sql: out.join(''), firstKeyword };
}

/**
 * Whether the word at `index` is a name in GoogleSQL that DuckDB would read as a keyword: an
 * alias without AS after an expression (`SELECT ? timestamp`; DuckDB refuses every keyword
 * there), or a column name that is reserved in DuckDB (`SELECT offset FROM t`). Words GoogleSQL
 * reserves are left alone, as are function calls (`word(`), typed literals (`word '…'`),
 * `LIMIT n OFFSET m`, `WITH OFFSET` and the date part of `INTERVAL n DAY`.
 */
function isNameDuckDbWouldMisread(
  tokens: readonly Token[],
  index: number,
  upper: string,
  duckKeywords: ReadonlyMap<string, string>,
): boolean {
  const category = duckKeywords.get(upper);
  if (category === undefined || GOOGLESQL_RESERVED.has(upper)) return false;
  const before = significantBefore(tokens, index, 4);
  const previous = before[0];
  const next = significantAfter(tokens, index);
  if (next?.text === '(' || next?.text === '.' || next?.type === 'string') return false;
  if (previous?.text === '.' || previous?.value.toUpperCase() === 'AS') return false;
  const afterExpression =
    previous !== undefined &&
    (['number', 'string', 'param', 'positional', 'quoted'].includes(previous.type) ||
      previous.text === ')' ||
      previous.text === ']' ||
      (previous.type === 'word' && !GOOGLESQL_RESERVED.has(previous.value.toUpperCase())));
  if (afterExpression) {
    // `LIMIT n OFFSET m` and `TABLESAMPLE SYSTEM (n PERCENT)`: syntax after an expression.
    if (upper === 'OFFSET' || upper === 'PERCENT') return false;
    if (DATE_PARTS.has(upper) && before.some((t) => t.value.toUpperCase() === 'INTERVAL')) {
      return false;
    }
    const ends =
      next === undefined ||
      next.type === 'word' ||
      next.type === 'quoted' ||
      [',', ')', ';'].includes(next.text);
    return ends;
  }
  if (upper === 'OFFSET' && previous?.value.toUpperCase() === 'WITH') return false;
  return category === 'reserved' || category === 'type_function';
}

function significantBefore(tokens: readonly Token[], index: number, count: number): Token[] {
  const found: Token[] = [];
  for (let j = index - 1; j >= 0 && found.length < count; j -= 1) {
    const token = tokens[j];
    if (token !== undefined && token.type !== 'space' && token.type !== 'comment') {
      found.push(token);
    }
  }
  return found;
}

function significantAfter(tokens: readonly Token[], index: number): Token | undefined {
  for (let j = index + 1; j < tokens.length; j += 1) {
    const token = tokens[j];
    if (token !== undefined && token.type !== 'space' && token.type !== 'comment') return token;
  }
  return undefined;
}

interface Chain {
  readonly parts: string[];
  readonly tokens: Token[];
  /** Index of the chain's last token. */
  readonly end: number;
  readonly quotedPath: boolean;
}

function readChain(tokens: readonly Token[], start: number): Chain {
  const chainTokens: Token[] = [];
  let end = start;
  for (let j = start; ; j += 2) {
    const token = tokens[j];
    if (token === undefined || (token.type !== 'word' && token.type !== 'quoted')) break;
    chainTokens.push(token);
    end = j;
    const dot = tokens[j + 1];
    const after = tokens[j + 2];
    if (
      dot?.text !== '.' ||
      after === undefined ||
      (after.type !== 'word' && after.type !== 'quoted')
    )
      break;
  }
  const parts = chainTokens.flatMap((token) =>
    token.type === 'quoted' ? token.value.split('.') : [token.value],
  );
  return {
    parts,
    tokens: chainTokens,
    end,
    quotedPath: chainTokens.some((token) => token.type === 'quoted' && token.value.includes('.')),
  };
}

function resolveChain(
  parts: readonly string[],
  afterFrom: boolean,
  previous: Token | undefined,
  context: RewriteContext,
): string | undefined {
  const [a, b, c] = parts;
  if (parts.length === 3 && a !== undefined && b !== undefined && c !== undefined) {
    const name = context.resolveTable(a, b, c);
    if (name !== undefined) return name;
    if (afterFrom) throw missing(a, b, c, context);
    return undefined;
  }
  if (parts.length === 2 && a !== undefined && b !== undefined) {
    const name = context.resolveTable(context.projectId, a, b);
    if (name !== undefined) return name;
    if (afterFrom && previous?.value.toUpperCase() === 'FROM')
      throw missing(context.projectId, a, b, context);
    return undefined;
  }
  if (parts.length === 1 && a !== undefined && afterFrom && context.defaultDataset !== undefined) {
    const { projectId, datasetId } = context.defaultDataset;
    return context.resolveTable(projectId, datasetId, a);
  }
  return undefined;
}

function missing(
  projectId: string,
  datasetId: string,
  tableId: string,
  context: RewriteContext,
): BigQueryApiError {
  if (!context.datasetExists(projectId, datasetId)) {
    return BigQueryApiError.notFound(
      `Not found: Dataset ${projectId}:${datasetId} was not found in location US`,
    );
  }
  return BigQueryApiError.notFound(
    `Not found: Table ${projectId}:${datasetId}.${tableId} was not found in location US`,
  );
}

/** Reads a type after `AS` in a CAST: a GoogleSQL name, or ARRAY<name>. */
function castType(
  tokens: readonly Token[],
  start: number,
): { sql: string; end: number } | undefined {
  const token = tokens[start];
  if (token === undefined) return undefined;
  const upper = token.value.toUpperCase();
  if (upper === 'ARRAY' && tokens[start + 1]?.text === '<') {
    const inner = castType(tokens, start + 2);
    if (inner !== undefined && tokens[inner.end + 1]?.text === '>') {
      return { sql: `${inner.sql}[]`, end: inner.end + 1 };
    }
    return undefined;
  }
  const mapped = castTypes[upper];
  if (mapped === undefined) return undefined;
  // NUMERIC(10, 2) keeps its own precision.
  if (mapped.startsWith('DECIMAL') && tokens[start + 1]?.text === '(')
    return { sql: 'DECIMAL', end: start };
  return { sql: mapped, end: start };
}

function bytesLiteral(value: string): string {
  const hex = [...Buffer.from(value, 'latin1')].map(
    (byte) => `\\x${byte.toString(16).padStart(2, '0')}`,
  );
  return `CAST('${hex.join('')}' AS BLOB)`;
}

function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `[${before.length}:${(before.at(-1)?.length ?? 0) + 1}]`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (type: TokenType, end: number, value?: string, bytes?: boolean): void => {
    const raw = text.slice(i, end);
    tokens.push({
      type,
      text: raw,
      value: value ?? raw,
      offset: i,
      ...(bytes === true ? { bytes } : {}),
    });
    i = end;
  };
  while (i < text.length) {
    const ch = text.charAt(i);
    const next = text.charAt(i + 1);
    SPACE.lastIndex = i;
    if (SPACE.test(text)) {
      push('space', SPACE.lastIndex);
      continue;
    }
    if (ch === '#' || (ch === '-' && next === '-')) {
      const end = text.indexOf('\n', i);
      push('comment', end < 0 ? text.length : end);
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0)
        throw BigQueryApiError.invalidQuery(
          `Syntax error: Unclosed comment at ${position(text, i)}`,
        );
      push('comment', end + 2);
      continue;
    }
    const prefix = /^[rRbB]{1,2}(?=['"])/.exec(text.slice(i, i + 3))?.[0] ?? '';
    const quoteAt = i + prefix.length;
    const quote = text.charAt(quoteAt);
    if ((prefix !== '' || ch === "'" || ch === '"') && (quote === "'" || quote === '"')) {
      const raw = /r/i.test(prefix);
      const bytes = /b/i.test(prefix);
      const { value, end } = readString(text, quoteAt, raw);
      push('string', end, value, bytes);
      continue;
    }
    if (ch === '`') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text.charAt(j) !== '`'; j += 1) {
        if (text.charAt(j) === '\\' && j + 1 < text.length) j += 1;
        value += text.charAt(j);
      }
      if (j >= text.length)
        throw BigQueryApiError.invalidQuery(
          `Syntax error: Unclosed identifier literal at ${position(text, i)}`,
        );
      push('quoted', j + 1, value);
      continue;
    }
    if (ch === '@' && next !== '@') {
      WORD.lastIndex = i + 1;
      const match = WORD.exec(text);
      if (match !== null) {
        push('param', WORD.lastIndex, match[0]);
        continue;
      }
    }
    if (ch === '@' && next === '@') {
      WORD.lastIndex = i + 2;
      const match = WORD.exec(text);
      push('word', match === null ? i + 2 : WORD.lastIndex);
      continue;
    }
    if (ch === '?') {
      push('positional', i + 1);
      continue;
    }
    WORD.lastIndex = i;
    if (WORD.test(text)) {
      push('word', WORD.lastIndex);
      continue;
    }
    NUMBER.lastIndex = i;
    if (/[0-9.]/.test(ch) && NUMBER.test(text)) {
      push('number', NUMBER.lastIndex);
      continue;
    }
    push('punct', i + 1);
  }
  return tokens;
}

const simpleEscapes: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\u0007',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
  '?': '?',
};

function readString(text: string, start: number, raw: boolean): { value: string; end: number } {
  const quote = text.charAt(start);
  const triple = text.startsWith(quote.repeat(3), start);
  const delimiter = triple ? quote.repeat(3) : quote;
  let j = start + delimiter.length;
  let value = '';
  while (j < text.length) {
    if (text.startsWith(delimiter, j)) return { value, end: j + delimiter.length };
    const ch = text.charAt(j);
    if (!triple && ch === '\n') break;
    if (ch === '\\' && j + 1 < text.length) {
      const escaped = text.charAt(j + 1);
      if (raw) {
        value += ch + escaped;
        j += 2;
        continue;
      }
      const simple = simpleEscapes[escaped];
      if (simple !== undefined) {
        value += simple;
        j += 2;
        continue;
      }
      const hex = /^(?:[xX]([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3}))/.exec(
        text.slice(j + 1, j + 10),
      );
      if (hex === null) {
        throw BigQueryApiError.invalidQuery(
          `Syntax error: Illegal escape sequence: \\${escaped} at ${position(text, j)}`,
        );
      }
      const code = hex[1] ?? hex[2] ?? hex[3];
      value += String.fromCodePoint(
        code === undefined ? parseInt(hex[4] ?? '0', 8) : parseInt(code, 16),
      );
      j += 1 + hex[0].length;
      continue;
    }
    value += ch;
    j += 1;
  }
  throw BigQueryApiError.invalidQuery(
    `Syntax error: Unclosed string literal at ${position(text, start)}`,
  );
}
