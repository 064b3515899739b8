/**
 * Parses RFC 4180 CSV: a header row, then records; fields may be quoted (`""` inside quotes is
 * one quote, and quoted fields may hold commas and newlines). Pure.
 * @throws Error naming the line of an unterminated quote or a row with the wrong field count.
 */
export function parseCsv(text: string): Record<string, string>[] {
  const rows = splitRows(text);
  const header = rows.shift();
  if (header === undefined) return [];
  return rows.map(({ fields, line }) => {
    if (fields.length !== header.fields.length) {
      throw new Error(
        `line ${line}: ${fields.length} fields, the header has ${header.fields.length}`,
      );
    }
    const record: Record<string, string> = {};
    header.fields.forEach((name, i) => (record[name] = fields[i] ?? ''));
    return record;
  });
}

function splitRows(text: string): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ fields, line: rowLine });
    fields = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else {
        if (char === '\n') line++;
        field += char;
      }
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += char;
  }
  if (quoted) throw new Error(`line ${rowLine}: unterminated quoted field`);
  endRow();
  return rows;
}
