/**
 * The kernel: the one implementation of each mechanism that consumers, producers and services
 * share (lifecycle, FIFO, backoff, deadlines, option validation). Adapters in other packages
 * import it from `@tributary/messagepipeline/kernel`.
 */
export { backoffDelayMs, resolveBackoff } from './backoff.js';
export type { BackoffOptions, BackoffPolicy, Jitter } from './backoff.js';
export { sleep, within } from './deadline.js';
export type { Settled } from './deadline.js';
export { DeadlineQueue } from './deadline-queue.js';
export type { QueuedDeadline } from './deadline-queue.js';
export { deferred } from './deferred.js';
export type { Deferred } from './deferred.js';
export { Deque } from './deque.js';
export { DEFAULT_STOP_TIMEOUT_MS, Lifecycle } from './lifecycle.js';
export type { LifecycleHooks, LifecycleState } from './lifecycle.js';
export { requireFunction, requireInteger, requireName, requireNumber } from './validate.js';
