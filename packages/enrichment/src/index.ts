export {
  formatLookupsProblem,
  loadLookupsFile,
  LookupsConfigError,
  parseLookups,
  validateLookups,
} from './lookups-file.js';
export type {
  FetcherDefinition,
  KeySource,
  Lookup,
  LookupsConfig,
  LookupsProblem,
  MissingKeyPolicy,
  MissPolicy,
  SourceDefinition,
} from './lookups-file.js';
export { createFetchers } from './fetchers.js';
export type { BuiltFetcher, FetcherDeps, FetcherStatsSource, Reference } from './fetchers.js';
export {
  createEnricher,
  enricherStatsDescription,
  lookupStatsDescription,
  markerAttribute,
} from './enricher.js';
export type { Enricher, EnricherOptions, EnricherStats, LookupStats } from './enricher.js';
