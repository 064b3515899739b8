import { readFile } from 'node:fs/promises';
import { TributaryError } from '@tributary/messagepipeline';
import { pubsubNameProblem } from '@tributary/messagepipeline/pubsub-names';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { parseTopicTemplate, type TopicTemplate } from './topic-template.js';

/** MQTT quality of service of a subscription. */
export type Qos = 0 | 1 | 2;

/** One route as written in the routes file. */
export interface RouteDefinition {
  /** Unique name; becomes the `mqtt.route` attribute. */
  readonly name: string;
  /** Topic filter or template (`devices/{deviceId}/telemetry`). */
  readonly topic: string;
  /** Destination Pub/Sub topic id (`raw`) or full name (`projects/p/topics/raw`). */
  readonly destination: string;
  /** Subscription QoS. @defaultValue 1 */
  readonly qos: Qos;
}

/** A validated route: the definition plus its parsed topic template. */
export interface Route extends RouteDefinition {
  /** The MQTT filter subscribed for this route (placeholders become `+`). */
  readonly filter: string;
  readonly template: TopicTemplate;
}

/** One problem found in a routes file. */
export interface RouteProblem {
  /** The file (or the source name given to {@link parseRoutes}). */
  readonly file: string;
  /** The route's name, or `routes[i]` when it has no usable name. */
  readonly route: string | undefined;
  /** The field, such as `qos`. */
  readonly field: string | undefined;
  readonly problem: string;
}

/** A routes file is unreadable or invalid; `problems` lists every problem found. */
export class RouteConfigError extends TributaryError {
  readonly problems: readonly RouteProblem[];

  constructor(problems: readonly RouteProblem[], cause?: unknown) {
    const lines = problems.map(formatRouteProblem);
    super(
      'CONFIG_INVALID',
      `invalid routes (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
      { cause },
    );
    this.problems = problems;
  }
}

/** One problem as one line: `file: route 'name': field: problem`. */
export function formatRouteProblem(p: RouteProblem): string {
  const where = [p.file];
  if (p.route !== undefined) where.push(`route '${p.route}'`);
  if (p.field !== undefined) where.push(p.field);
  return `${where.join(': ')}: ${p.problem}`;
}

const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const RouteSchema = z.strictObject({
  name: z
    .string({ error: 'required, a string' })
    .regex(ROUTE_NAME, 'must be 1-128 characters of letters, digits, ".", "_" or "-"'),
  topic: z.string({ error: 'required, a string' }),
  destination: z.string({ error: 'required, a string' }).superRefine((value, ctx) => {
    const problem = pubsubNameProblem(value, 'topics');
    if (problem === undefined) return;
    ctx.addIssue({
      code: 'custom',
      message: `must be a Pub/Sub topic id or projects/<project>/topics/<id>: ${problem}`,
    });
  }),
  qos: z
    .union([z.literal(0), z.literal(1), z.literal(2)], { error: 'must be 0, 1 or 2' })
    .default(1),
});

const FIELD_ORDER: readonly (string | undefined)[] = [
  undefined,
  'name',
  'topic',
  'destination',
  'qos',
];

/** Problems of one route in the order its fields are written. */
function fieldOrder(field: string | undefined): number {
  const at = FIELD_ORDER.indexOf(field);
  return at === -1 ? FIELD_ORDER.length : at;
}

const FileSchema = z.strictObject({
  routes: z
    .array(z.unknown(), { error: 'required, a list of routes' })
    .min(1, 'must list at least one route'),
});

/**
 * Validates already-parsed routes (the object form of a routes file) and compiles their topic
 * templates. Pure.
 * @param source - names the input in error messages (usually the file path).
 * @throws {@link RouteConfigError} listing every problem.
 */
export function validateRoutes(input: unknown, source = '<routes>'): readonly Route[] {
  const problems: RouteProblem[] = [];
  const file = FileSchema.safeParse(input);
  if (!file.success) {
    for (const issue of file.error.issues) {
      const field = issue.path.length === 0 ? undefined : issue.path.map(String).join('.');
      problems.push({
        file: source,
        route: undefined,
        field,
        problem:
          issue.code === 'unrecognized_keys'
            ? `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
            : issue.message,
      });
    }
    throw new RouteConfigError(problems);
  }
  const routes: Route[] = [];
  const names = new Map<string, number>();
  const filters = new Map<string, string>();
  for (const [index, raw] of file.data.routes.entries()) {
    // Every check runs on whatever fields are usable, so one pass reports every problem of every
    // route, and a name or filter counts for duplicates even when its route is otherwise invalid.
    const fields: Readonly<Record<string, unknown>> =
      typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const rawName = fields['name'];
    const label = typeof rawName === 'string' && rawName !== '' ? rawName : `routes[${index}]`;
    const found: RouteProblem[] = [];
    const report = (field: string | undefined, problem: string): void => {
      found.push({ file: source, route: label, field, problem });
    };
    const parsed = RouteSchema.safeParse(raw);
    for (const issue of parsed.error?.issues ?? []) {
      if (issue.code === 'unrecognized_keys') {
        report(undefined, `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`);
      } else if (issue.path.length === 0) {
        report(undefined, 'must be a mapping with name, topic, destination, qos');
      } else {
        report(issue.path.map(String).join('.'), issue.message);
      }
    }
    if (typeof rawName === 'string' && rawName !== '') {
      const seenAt = names.get(rawName);
      if (seenAt === undefined) names.set(rawName, index);
      else report('name', `duplicate route name (also routes[${seenAt}])`);
    }
    const topic = fields['topic'];
    const compiled = typeof topic === 'string' ? parseTopicTemplate(topic) : undefined;
    if (compiled?.ok === false) report('topic', compiled.problem);
    if (compiled?.ok === true) {
      const filter = compiled.template.filter;
      const other = filters.get(filter);
      if (other === undefined) filters.set(filter, label);
      else {
        report(
          'topic',
          `subscribes the same filter '${filter}' as route '${other}' (MQTT keeps one subscription per filter)`,
        );
      }
    }
    problems.push(...found.sort((a, b) => fieldOrder(a.field) - fieldOrder(b.field)));
    if (parsed.success && compiled?.ok === true && found.length === 0) {
      routes.push(
        Object.freeze({
          ...parsed.data,
          filter: compiled.template.filter,
          template: compiled.template,
        }),
      );
    }
  }
  if (problems.length > 0) throw new RouteConfigError(problems);
  return Object.freeze(routes);
}

/**
 * Parses and validates the YAML text of a routes file. Pure.
 * @throws {@link RouteConfigError} listing every problem (YAML syntax errors with line and column).
 */
export function parseRoutes(text: string, source = '<routes>'): readonly Route[] {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new RouteConfigError(
      document.errors.map((error) => ({
        file: source,
        route: undefined,
        field: undefined,
        problem: `YAML: ${error.message.split('\n')[0] ?? error.code}`,
      })),
    );
  }
  return validateRoutes(document.toJS(), source);
}

/**
 * Reads and validates a routes file.
 * @throws {@link RouteConfigError} naming the file when it cannot be read or is invalid.
 */
export async function loadRoutesFile(path: string): Promise<readonly Route[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new RouteConfigError(
      [
        {
          file: path,
          route: undefined,
          field: undefined,
          problem: `cannot read the file (${reason})`,
        },
      ],
      error,
    );
  }
  return parseRoutes(text, path);
}
