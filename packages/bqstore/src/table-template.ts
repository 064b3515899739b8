import { InvalidArgumentError, TributaryError, type Attributes } from '@tributary/messagepipeline';
import { isTableId, tableTemplateProblem } from './ids.js';

/** Resolves the table id of a message from its attributes. */
export type TableResolver = (attributes: Attributes) => string;

const PLACEHOLDER = /\{([^{}]+)\}/g;

/**
 * Compiles a table name template such as `events_{type}`: each `{attribute}` is replaced by that
 * attribute's value. A template without placeholders names one table. A message whose attribute
 * is missing, or whose value would make an invalid table id (see {@link isTableId}), fails
 * permanently with `UNROUTABLE` (it is dead-lettered, never retried, never written to a wrong
 * table).
 * @throws {@link InvalidArgumentError} when the template itself can never give a valid id.
 */
export function compileTableTemplate(template: string): TableResolver {
  const problem = tableTemplateProblem(template);
  if (problem !== undefined) throw InvalidArgumentError.for('table', problem);
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  if (names.length === 0) return () => template;
  return (attributes) => {
    const tableId = template.replace(PLACEHOLDER, (_, name: string) => {
      const value = attributes[name];
      if (value === undefined || value === '') {
        throw TributaryError.permanent(
          'UNROUTABLE',
          `table template '${template}': the message has no attribute '${name}'`,
        );
      }
      return value;
    });
    if (!isTableId(tableId)) {
      const values = names
        .map((name) => `${name}=${JSON.stringify((attributes[name] ?? '').slice(0, 64))}`)
        .join(', ');
      throw TributaryError.permanent(
        'UNROUTABLE',
        `table template '${template}': ${values} does not make a table id (at most 1024 bytes of letters, marks, numbers, _, - and spaces)`,
      );
    }
    return tableId;
  };
}
