import { InvalidArgumentError, TributaryError, type Attributes } from '@tributary/messagepipeline';

/** Resolves the table id of a message from its attributes. */
export type TableResolver = (attributes: Attributes) => string;

const PLACEHOLDER = /\{([^{}]+)\}/g;
const TABLE_ID = /^[A-Za-z0-9_]{1,1024}$/;

/**
 * Compiles a table name template such as `events_{type}`: each `{attribute}` is replaced by that
 * attribute's value. A template without placeholders names one table. A message whose attribute
 * is missing, or whose value would make an invalid table id (only letters, digits and `_`), fails
 * permanently with `UNROUTABLE` (it is dead-lettered, never written to a wrong table).
 * @throws {@link InvalidArgumentError} when the template itself can never give a valid id.
 */
export function compileTableTemplate(template: string): TableResolver {
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  const literal = template.replace(PLACEHOLDER, '');
  if (!/^[A-Za-z0-9_]*$/.test(literal) || (names.length === 0 && !TABLE_ID.test(template))) {
    throw InvalidArgumentError.for(
      'table',
      `'${template}' is not a table id or template (letters, digits, _ and {attribute})`,
    );
  }
  if (names.length === 0) return () => template;
  return (attributes) =>
    template.replace(PLACEHOLDER, (_, name: string) => {
      const value = attributes[name];
      if (value === undefined || value === '') {
        throw TributaryError.permanent(
          'UNROUTABLE',
          `table template '${template}': the message has no attribute '${name}'`,
        );
      }
      if (!/^[A-Za-z0-9_]+$/.test(value)) {
        throw TributaryError.permanent(
          'UNROUTABLE',
          `table template '${template}': attribute ${name}=${JSON.stringify(value.slice(0, 64))} is not usable in a table id (letters, digits, _)`,
        );
      }
      return value;
    });
}
