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

/** Why `id` is not a valid dataset id (see {@link isDatasetId}), or `undefined` when it is. */
export function datasetIdProblem(id: string): string | undefined {
  return isDatasetId(id)
    ? undefined
    : `expected a dataset id (1 to 1024 letters, digits or _; no - or .), not '${id.slice(0, 64)}'`;
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

/** The placeholder of a view id template that stands for the id of the table the view reads. */
export const VIEW_TABLE_PLACEHOLDER = '{table}';

/**
 * Why `template` can never give a valid view id, or `undefined` when it can. A view id template
 * is a table id in which every `{table}` stands for the id of the table the view reads (such as
 * `{table}_dedup`); it needs text of its own (`{table}` alone would name the table itself) and no
 * other placeholder.
 */
export function viewIdTemplateProblem(template: string): string | undefined {
  const literal = template.replaceAll(VIEW_TABLE_PLACEHOLDER, '');
  if (literal === '') {
    return template === ''
      ? 'a view id is needed'
      : `'${template}' would name the table itself; add text such as {table}_dedup`;
  }
  if (/[{}]/.test(literal)) return `'${template}' has a placeholder other than {table}`;
  if (!TABLE_ID.test(literal)) {
    return `'${template}' is not a view id (Unicode letters, marks, numbers, _, -, spaces, and {table})`;
  }
  if (Buffer.byteLength(literal, 'utf8') > TABLE_ID_MAX_BYTES) {
    return `'${template.slice(0, 64)}…' is longer than a view id may be (1024 bytes)`;
  }
  return undefined;
}

/** The view id `template` gives for the table `tableId` (see {@link viewIdTemplateProblem}). */
export function renderViewId(template: string, tableId: string): string {
  return template.replaceAll(VIEW_TABLE_PLACEHOLDER, tableId);
}
