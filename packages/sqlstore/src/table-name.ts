import { InvalidArgumentError } from '@tributary/messagepipeline';

/** 64 characters is MySQL's limit; the schema-version table adds `_schema_version` (15). */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,48}$/;

/**
 * Checks a table name and returns it quoted for SQL. Only letters, digits and `_`, at most 49
 * characters, so the name can never need escaping and its schema-version table fits too.
 * @throws {@link InvalidArgumentError} naming `option`
 */
export function quoteTableName(option: string, table: string): string {
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw InvalidArgumentError.for(
      option,
      'must be 1 to 49 letters, digits or underscores, not starting with a digit',
    );
  }
  return `\`${table}\``;
}
