/** The RowWriter port's contract suite: every writer runs it. */
export { CONTRACT_SCHEMA, describeRowWriterContract } from './row-writer-contract.js';
export type { RowWriterContractOptions, RowWriterSubject } from './row-writer-contract.js';
