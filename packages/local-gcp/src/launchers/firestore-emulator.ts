import { LauncherError } from './errors.js';
import { findFirestoreEmulatorJar, type SdkOptions } from './gcloud-sdk.js';
import { JAVA_INSTALL_HINT, type JavaOptions } from './java.js';
import { launchProcess } from './launch.js';
import type { LocalProcess, ProcessLaunchOptions } from './local-process.js';
import { answersOk, httpRequest } from './probes.js';

/** Options for {@link startFirestoreEmulator}. */
export interface FirestoreEmulatorOptions extends ProcessLaunchOptions, SdkOptions, JavaOptions {
  /** The project `reset()` clears by default. @defaultValue 'test-proj' */
  readonly projectId?: string | undefined;
}

/** The official Cloud Firestore emulator, running as a java process this launcher owns. */
export interface FirestoreEmulator extends LocalProcess {
  readonly pid: number;
  /** `host:port`, the value for `FIRESTORE_EMULATOR_HOST`. */
  readonly hostPort: string;
  /** Deletes every document of the project's `(default)` database. */
  reset(projectId?: string): Promise<void>;
}

const MAIN_CLASS = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';

/**
 * Starts the Firestore emulator from the Google Cloud SDK with `java -cp … CloudFirestore start`
 * directly (the SDK's wrapper script does not `exec`, so killing it would orphan java), and waits
 * until `GET /` answers `Ok`.
 *
 * @throws {@link LauncherError} `MISSING_DEPENDENCY` when the SDK, the emulator jar or java is
 * missing, naming the package to install.
 */
export async function startFirestoreEmulator(
  options: FirestoreEmulatorOptions = {},
): Promise<FirestoreEmulator> {
  const jar = await findFirestoreEmulatorJar(options);
  const defaultProjectId = options.projectId ?? 'test-proj';
  const launched = await launchProcess(
    {
      name: 'firestore-emulator',
      command: options.javaPath ?? 'java',
      installHint: JAVA_INSTALL_HINT,
      args: (host, port) =>
        Promise.resolve([
          '-Duser.language=en',
          '-cp',
          jar,
          MAIN_CLASS,
          'start',
          `--host=${host}`,
          `--port=${port}`,
        ]),
      probe: (host, port) => answersOk(`http://${host}:${port}`),
    },
    options,
  );
  const baseUrl = `http://${launched.host}:${launched.port}`;
  return {
    host: launched.host,
    port: launched.port,
    pid: launched.pid,
    logFile: launched.logFile,
    hostPort: `${launched.host}:${launched.port}`,
    async reset(projectId = defaultProjectId) {
      const url = `${baseUrl}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`;
      const { status, body } = await httpRequest(url, 'DELETE', 10_000);
      if (status !== 200) {
        throw new LauncherError('NOT_READY', `Firestore emulator reset failed: ${status} ${body}`);
      }
    },
    stop: () => launched.stop(),
  };
}
