import type { IncomingMessage } from 'node:http';
import type { GcsStore } from './store.js';
import type { UploadSessions } from './uploads.js';

/** What every route handler gets. */
export interface GcsContext {
  readonly store: GcsStore;
  readonly sessions: UploadSessions;
  /** Largest object (and request body) accepted, in bytes. */
  readonly maxObjectBytes: number;
  /** Base URL for links, from the request's Host header. */
  baseUrl(request: IncomingMessage): string;
}
