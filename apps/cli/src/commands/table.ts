/** Formats rows as an aligned text table (columns from the first row). */
export function formatTable(rows: readonly Record<string, unknown>[]): string[] {
  const first = rows[0];
  if (first === undefined) return ['(no rows)'];
  const columns = Object.keys(first);
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return 'NULL';
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      return String(value);
    }
    // The client returns TIMESTAMP, DATE and NUMERIC values as objects holding `value`.
    const inner = (value as { value?: unknown }).value;
    return typeof inner === 'string' ? inner : JSON.stringify(value);
  };
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) =>
    Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}
