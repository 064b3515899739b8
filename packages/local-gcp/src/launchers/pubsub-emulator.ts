import { LauncherError } from './errors.js';
import { findPubSubEmulatorJar, type SdkOptions } from './gcloud-sdk.js';
import { JAVA_INSTALL_HINT, type JavaOptions } from './java.js';
import { launchProcess } from './launch.js';
import type { LocalProcess, ProcessLaunchOptions } from './local-process.js';
import { answersOk, httpRequest } from './probes.js';

/** Options for {@link startPubSubEmulator}. */
export interface PubSubEmulatorOptions extends ProcessLaunchOptions, SdkOptions, JavaOptions {}

/** The official Pub/Sub emulator, running as a java process this launcher owns. */
export interface PubSubEmulator extends LocalProcess {
  readonly pid: number;
  /** `host:port`, the value for `PUBSUB_EMULATOR_HOST`. */
  readonly hostPort: string;
  /** Deletes every topic and subscription (`POST /reset`). */
  reset(): Promise<void>;
}

/**
 * Starts the Pub/Sub emulator from the Google Cloud SDK with `java -jar` directly (so the PID is
 * the server), output to a log file (it logs large, harmless stack traces whenever a client
 * cancels a stream), and waits until `GET /` answers `Ok`.
 *
 * @throws {@link LauncherError} `MISSING_DEPENDENCY` when the SDK, the emulator jar or java is
 * missing, naming the package to install.
 */
export async function startPubSubEmulator(
  options: PubSubEmulatorOptions = {},
): Promise<PubSubEmulator> {
  const jar = await findPubSubEmulatorJar(options);
  const launched = await launchProcess(
    {
      name: 'pubsub-emulator',
      command: options.javaPath ?? 'java',
      installHint: JAVA_INSTALL_HINT,
      args: (host, port) => Promise.resolve(['-jar', jar, `--host=${host}`, `--port=${port}`]),
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
    async reset() {
      const { status, body } = await httpRequest(`${baseUrl}/reset`, 'POST', 10_000);
      if (status !== 200) {
        throw new LauncherError('NOT_READY', `Pub/Sub emulator reset failed: ${status} ${body}`);
      }
    },
    stop: () => launched.stop(),
  };
}
