const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE_ID = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]+$/u;
const TABLE_ID_MAX_BYTES = 1024;
const PLACEHOLDER = /\{([^{}]+)\}/g;

/**
 * Whether `id` is a valid BigQuery dataset id: 1 to 1024 letters (ASCII), digits or underscores.
 * BigQuery answers a request naming any other id with 400, which a sink would retry forever;
 * check it once at startup instead.
 */
export function isDatasetId(id: string): boolean {
  return DATASET_ID.test(id);
}

/**
 * Whether `id` is a valid BigQuery table (or view) id: at most 1024 UTF-8 bytes of Unicode
 * letters, marks, numbers, connectors (such as `_`), dashes or spaces, and not empty.
 */
export function isTableId(id: string): boolean {
  return TABLE_ID.test(id) && Buffer.byteLength(id, 'utf8') <= TABLE_ID_MAX_BYTES;
}

/**
 * Why `template` can never give a valid table id, or `undefined` when it can. A template is a
 * table id with `{attribute}` placeholders, such as `events_{type}`; each placeholder needs a
 * non-empty name and the text around them must consist of table-id characters.
 */
export function tableTemplateProblem(template: string): string | undefined {
  if (template === '') return 'a table id or template is needed';
  if (/\{\s*\}/.test(template)) return `'${template}' has an empty {} placeholder`;
  const literal = template.replace(PLACEHOLDER, '');
  if (/[{}]/.test(literal)) return `'${template}' has an unbalanced { or }`;
  if (literal !== '' && !TABLE_ID.test(literal)) {
    return `'${template}' is not a table id or template (Unicode letters, marks, numbers, _, -, spaces, and {attribute})`;
  }
  if (Buffer.byteLength(literal, 'utf8') > TABLE_ID_MAX_BYTES) {
    return `'${template.slice(0, 64)}…' is longer than a table id may be (1024 bytes)`;
  }
  return undefined;
}
