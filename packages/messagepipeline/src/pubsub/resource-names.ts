/**
 * The naming rules Google Cloud enforces for Pub/Sub resources and projects, as pure functions,
 * so configuration can refuse a name at startup instead of the client refusing it later. Each
 * returns `undefined` for a valid value, or one sentence saying what is wrong (with the value:
 * names are not secrets).
 *
 * The one place these rules live; config fields, route validation and the Pub/Sub adapters call
 * them.
 */

const ID_MIN = 3;
const ID_MAX = 255;
const NOT_ID_CHARACTER = /[^A-Za-z0-9\-_.~+%]/;
const PROJECT_ID = /^[a-z][a-z0-9-]*$/;
const PROJECT_MIN = 6;
const PROJECT_MAX = 30;

/** Which kind of Pub/Sub resource a full name must refer to. */
export type PubSubCollection = 'topics' | 'subscriptions';

/**
 * What is wrong with a Pub/Sub topic or subscription id (`raw-events`), or `undefined`: 3-255
 * characters, starting with a letter, only letters, digits and `- _ . ~ + %`, not starting
 * with `goog`.
 */
export function pubsubIdProblem(value: string): string | undefined {
  if (value.length < ID_MIN || value.length > ID_MAX) {
    return `'${value}' has ${value.length} characters; a Pub/Sub id has ${ID_MIN} to ${ID_MAX}`;
  }
  if (!/^[A-Za-z]/.test(value)) return `'${value}' must start with a letter`;
  const bad = NOT_ID_CHARACTER.exec(value)?.[0];
  if (bad !== undefined) {
    return `'${value}' contains '${bad}'; a Pub/Sub id has only letters, digits and - _ . ~ + %`;
  }
  if (value.startsWith('goog')) return `'${value}' must not start with 'goog' (reserved)`;
  return undefined;
}

/**
 * What is wrong with a Pub/Sub resource name, or `undefined`. Accepts an id (`raw`) or a full
 * name, `projects/<project>/topics/<id>` (or `/subscriptions/` when `collection` says so; either
 * when it is not given). The project part of a full name is only required to be non-empty: the
 * Google client itself builds names with a `{{projectId}}` placeholder until it knows the project.
 */
export function pubsubNameProblem(
  value: string,
  collection?: PubSubCollection,
): string | undefined {
  if (value === '') return 'is empty';
  if (!value.includes('/')) return pubsubIdProblem(value);
  const match = /^projects\/([^/]+)\/(topics|subscriptions)\/([^/]*)$/.exec(value);
  if (match === null || (collection !== undefined && match[2] !== collection)) {
    const form = `projects/<project>/${collection ?? '(topics|subscriptions)'}/<id>`;
    return `'${value}' is neither an id nor a full name ${form}`;
  }
  return pubsubIdProblem(match[3] ?? '');
}

/**
 * What is wrong with a Google Cloud project id (`my-project-42`), or `undefined`: 6-30
 * characters, lowercase letters, digits and hyphens, starting with a letter, not ending with a
 * hyphen.
 */
export function projectIdProblem(value: string): string | undefined {
  if (value.length < PROJECT_MIN || value.length > PROJECT_MAX) {
    return `'${value}' has ${value.length} characters; a project id has ${PROJECT_MIN} to ${PROJECT_MAX}`;
  }
  if (!PROJECT_ID.test(value)) {
    return `'${value}' must start with a lowercase letter and have only lowercase letters, digits and hyphens`;
  }
  if (value.endsWith('-')) return `'${value}' must not end with a hyphen`;
  return undefined;
}
