import { describeConfig, type ConfigSchema } from '@tributary/runtime';

/** What is wrong with the variables a manifest sets on one app. */
export interface EnvironmentProblems {
  /** Set by the manifest but not a variable of the app's schema (a typo, or a removed variable). */
  readonly unknown: readonly string[];
  /** Required by the schema (no default, not optional) but not set by the manifest. */
  readonly missingRequired: readonly string[];
}

/**
 * Holds the names a manifest sets on an app (Terraform, Kubernetes, compose) against the app's
 * config schema. `alsoProvided` are names set elsewhere (say, `PORT`, which Cloud Run sets
 * itself); they count as set but are not checked as known.
 */
export function checkEnvironment(
  schema: ConfigSchema,
  names: Iterable<string>,
  alsoProvided: Iterable<string> = [],
): EnvironmentProblems {
  const variables = describeConfig(schema);
  const known = new Set(variables.map((v) => v.name));
  const set = new Set(names);
  const provided = new Set([...set, ...alsoProvided]);
  return {
    unknown: [...set].filter((name) => !known.has(name)).sort(),
    missingRequired: variables
      .filter((v) => v.required && !provided.has(v.name))
      .map((v) => v.name)
      .sort(),
  };
}
