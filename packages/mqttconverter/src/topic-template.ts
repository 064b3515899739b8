/** One level of a compiled topic template. */
export type TopicLevel =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'single' }
  | { readonly kind: 'multi' }
  | { readonly kind: 'param'; readonly name: string };

/** A route topic, parsed: the MQTT filter to subscribe and the parameters it lifts. */
export interface TopicTemplate {
  /** The route topic as written, such as `devices/{deviceId}/telemetry`. */
  readonly source: string;
  /** The MQTT topic filter to subscribe, such as `devices/+/telemetry`. */
  readonly filter: string;
  /** Names of the `{param}` levels, in order. */
  readonly params: readonly string[];
  readonly levels: readonly TopicLevel[];
}

/** The result of {@link parseTopicTemplate}: the template, or why the text is not one. */
export type TopicTemplateResult =
  | { readonly ok: true; readonly template: TopicTemplate }
  | { readonly ok: false; readonly problem: string };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** MQTT limits a topic (and a filter) to 65,535 bytes of UTF-8. */
const MAX_TOPIC_BYTES = 65_535;

/**
 * Parses a route topic: an MQTT topic filter (`+` and `#` wildcards) in which a level may also be
 * a named placeholder `{name}`, subscribed as `+` and lifted into an attribute of that name.
 * Pure; never throws.
 */
export function parseTopicTemplate(text: string): TopicTemplateResult {
  const fail = (problem: string): TopicTemplateResult => ({ ok: false, problem });
  if (text.length === 0) return fail('must not be empty');
  if (Buffer.byteLength(text, 'utf8') > MAX_TOPIC_BYTES) {
    return fail(`must be at most ${MAX_TOPIC_BYTES} bytes`);
  }
  if (text.includes('\u0000')) return fail('must not contain the NUL character');
  if (text.startsWith('$share/') || text === '$share') {
    return fail("must not start with '$share/'; shared subscriptions are configured per consumer");
  }
  const parts = text.split('/');
  const levels: TopicLevel[] = [];
  const params: string[] = [];
  for (const [index, part] of parts.entries()) {
    const where = `level ${index + 1} ('${part}')`;
    if (part === '#') {
      if (index !== parts.length - 1)
        return fail(`${where}: '#' is only allowed as the last level`);
      levels.push({ kind: 'multi' });
    } else if (part === '+') {
      levels.push({ kind: 'single' });
    } else if (part.startsWith('{') && part.endsWith('}')) {
      const name = part.slice(1, -1);
      if (!PARAM_NAME.test(name)) {
        return fail(`${where}: placeholder name must match ${PARAM_NAME.source}`);
      }
      if (name.toLowerCase().startsWith('goog') || name.startsWith('mqtt')) {
        return fail(`${where}: placeholder name must not start with 'goog' or 'mqtt' (reserved)`);
      }
      if (params.includes(name)) return fail(`${where}: placeholder '${name}' appears twice`);
      params.push(name);
      levels.push({ kind: 'param', name });
    } else if (part.includes('+') || part.includes('#')) {
      return fail(`${where}: a wildcard must fill a whole level`);
    } else if (part.includes('{') || part.includes('}')) {
      return fail(`${where}: a placeholder must fill a whole level, as in '{name}'`);
    } else {
      levels.push({ kind: 'literal', value: part });
    }
  }
  const filter = levels
    .map((level) => {
      switch (level.kind) {
        case 'literal':
          return level.value;
        case 'single':
        case 'param':
          return '+';
        case 'multi':
          return '#';
      }
    })
    .join('/');
  return { ok: true, template: { source: text, filter, params, levels } };
}

/**
 * Matches a concrete topic against a template by the MQTT rules (a topic starting with `$` is
 * not matched by a filter starting with a wildcard). Returns the lifted parameters, or
 * `undefined` when the topic does not match. Pure.
 */
export function matchTopic(
  template: TopicTemplate,
  topic: string,
): Readonly<Record<string, string>> | undefined {
  const parts = topic.split('/');
  const levels = template.levels;
  const first = levels[0];
  if (topic.startsWith('$') && first !== undefined && first.kind !== 'literal') return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level === undefined) return undefined;
    if (level.kind === 'multi') return params; // matches the parent level and everything below
    const part = parts[i];
    if (part === undefined) return undefined;
    switch (level.kind) {
      case 'literal':
        if (part !== level.value) return undefined;
        break;
      case 'single':
        break;
      case 'param':
        params[level.name] = part;
        break;
    }
  }
  return parts.length === levels.length ? params : undefined;
}
