export { FaultInjector, injectFault, clearFaults, FAULTS_PATH } from './http/faults.js';
export type { Fault, FaultRule } from './http/faults.js';
export { startLocalServer } from './http/local-server.js';
export type { ListenOptions, LocalServer, RequestHandler } from './http/local-server.js';
