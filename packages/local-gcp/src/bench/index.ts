/**
 * Helpers for benchmarks (`@tributary/local-gcp/bench`): the median of rounds, a process's
 * resident set, and memory cgroups standing in for a container's limit. A subpath of its own, so
 * a benchmark that imports them loads nothing else (RSS figures stay the component's).
 */
export { median } from './stats.js';
export { createMemoryCgroup, rssBytesOf } from './memory.js';
export type { MemoryCgroup } from './memory.js';
