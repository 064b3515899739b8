/** One step of a path: an object key or an array index. */
export type PathStep = string | number;

/**
 * Parses a JSON path of the simple form `$.a.b[0].c` (or `a.b`, `$['a-b']`): dots, brackets
 * with an index, and quoted keys. Returns the steps, or a problem.
 */
export function parseJsonPath(
  path: string,
): { ok: true; steps: PathStep[] } | { ok: false; problem: string } {
  let rest = path.startsWith('$') ? path.slice(1) : `.${path}`;
  const steps: PathStep[] = [];
  while (rest !== '') {
    const dot = /^\.([A-Za-z_$][\w$-]*)/.exec(rest);
    const index = /^\[(\d+)\]/.exec(rest);
    const quoted = /^\[(?:'([^']*)'|"([^"]*)")\]/.exec(rest);
    if (dot !== null) {
      steps.push(dot[1] as string);
      rest = rest.slice(dot[0].length);
    } else if (index !== null) {
      steps.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    } else if (quoted !== null) {
      steps.push(quoted[1] ?? quoted[2] ?? '');
      rest = rest.slice(quoted[0].length);
    } else {
      return { ok: false, problem: `'${path}' is not a JSON path like $.device.id or $.tags[0]` };
    }
  }
  if (steps.length === 0) return { ok: false, problem: `'${path}' selects the whole payload` };
  return { ok: true, steps };
}

/** The value at `steps` inside `value`, or `undefined`. */
export function valueAt(value: unknown, steps: readonly PathStep[]): unknown {
  let current = value;
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current))
        return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}
