/**
 * Contract suites (vitest) for the ports: every consumer and producer adapter, in this package
 * and in others, runs them against real servers. Test-only: import it from test files.
 */
export { describeConsumerContract, payloadText, pullMessages } from './consumer-contract.js';
export type { ConsumerContractOptions, ConsumerSubject } from './consumer-contract.js';
export { describeProducerContract } from './producer-contract.js';
export type {
  BoundedProducerSubject,
  ProducerContractOptions,
  ProducerSubject,
} from './producer-contract.js';
