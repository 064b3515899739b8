/**
 * Parses Prometheus text exposition into `name{label="v",...}` to value, labels sorted by name,
 * so tests can look samples up without depending on label order.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, name, value]) => [name!, value!] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    samples.set(sampleKey(match[1]!, Object.fromEntries(labels)), Number(match[3]));
  }
  return samples;
}

/** The key {@link parsePrometheus} uses for one sample. */
export function sampleKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}="${value}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}
