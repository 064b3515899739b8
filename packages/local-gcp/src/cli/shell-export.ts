/** One `export NAME=value` line for a POSIX shell, quoting the value only when it needs it. */
export function shellExport(name: string, value: string): string {
  const safe = /^[\w.:/@%+=,-]*$/.test(value);
  return `export ${name}=${safe ? value : `'${value.replaceAll("'", `'\\''`)}'`}`;
}
