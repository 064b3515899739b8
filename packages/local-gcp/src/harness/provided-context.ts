import type {} from 'vitest';
import type { StackEnv } from './stack-env.js';

/** The key under which the local-gcp globalSetup provides the stack's variables to `inject`. */
export const PROVIDED_ENV_KEY = 'tributaryLocalGcp';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The local services' variables, as set by the local-gcp globalSetup. */
    tributaryLocalGcp: StackEnv;
  }
}
