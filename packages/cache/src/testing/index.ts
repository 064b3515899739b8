/**
 * Contract suites (vitest) for the cache ports: every fetcher and store, in this package and in
 * others, runs them against real servers. Test-only: import it from test files.
 */
export { describeFetcherContract, describeStoreContract } from './fetcher-contract.js';
export type {
  FetcherContractOptions,
  StoreContractOptions,
  TestRecord,
} from './fetcher-contract.js';
