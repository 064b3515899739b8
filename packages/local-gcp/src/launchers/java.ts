/** Options for launchers that run a Java program. */
export interface JavaOptions {
  /** The java executable. @defaultValue 'java' (looked up on PATH) */
  readonly javaPath?: string | undefined;
}

/** Appended to "java not found" errors. */
export const JAVA_INSTALL_HINT = 'install openjdk-17-jre-headless';
