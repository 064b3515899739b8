import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LauncherError } from './errors.js';

/** Where the Debian/Ubuntu google-cloud-cli package installs the SDK. */
export const WELL_KNOWN_SDK_ROOT = '/usr/lib/google-cloud-sdk';

/** Where to look for the Google Cloud SDK. */
export interface SdkOptions {
  /**
   * The SDK root (what `gcloud info --format='value(installation.sdk_root)'` prints). When set,
   * only this directory is used. When not set: {@link WELL_KNOWN_SDK_ROOT} if it has a
   * `platform` directory, else whatever `gcloud info` reports.
   */
  readonly sdkRoot?: string | undefined;
}

async function sdkRootFromGcloud(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'gcloud',
      ['info', '--format=value(installation.sdk_root)'],
      { timeout: 15_000 },
      (error, stdout) => {
        const root = stdout.trim();
        resolve(error === null && root !== '' ? root : undefined);
      },
    );
  });
}

/** Resolves the SDK root, or fails with a `MISSING_DEPENDENCY` error naming the package. */
export async function findSdkRoot(options: SdkOptions = {}): Promise<string> {
  if (options.sdkRoot !== undefined) return options.sdkRoot;
  if (existsSync(join(WELL_KNOWN_SDK_ROOT, 'platform'))) return WELL_KNOWN_SDK_ROOT;
  const fromGcloud = await sdkRootFromGcloud();
  if (fromGcloud !== undefined) return fromGcloud;
  throw new LauncherError(
    'MISSING_DEPENDENCY',
    `Google Cloud SDK not found (no ${WELL_KNOWN_SDK_ROOT}/platform and no gcloud on PATH): install the google-cloud-cli package`,
  );
}

/** Compares dotted version strings numerically (`0.8.20` \> `0.8.9`). */
function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The newest `cloud-pubsub-emulator-<version>-all.jar` under the SDK. */
export async function findPubSubEmulatorJar(options: SdkOptions = {}): Promise<string> {
  const sdkRoot = await findSdkRoot(options);
  const dir = join(sdkRoot, 'platform', 'pubsub-emulator', 'lib');
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    // reported below
  }
  const jars = names
    .map((name) => /^cloud-pubsub-emulator-(.+)-all\.jar$/.exec(name))
    .filter((match) => match !== null)
    .sort((a, b) => compareVersions(b[1] ?? '', a[1] ?? ''));
  const newest = jars[0];
  if (newest === undefined) {
    throw new LauncherError(
      'MISSING_DEPENDENCY',
      `Pub/Sub emulator jar not found under ${dir}: install the google-cloud-cli-pubsub-emulator package`,
    );
  }
  return join(dir, newest[0]);
}

/** The Cloud Firestore emulator jar under the SDK. */
export async function findFirestoreEmulatorJar(options: SdkOptions = {}): Promise<string> {
  const sdkRoot = await findSdkRoot(options);
  const jar = join(sdkRoot, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
  if (!existsSync(jar)) {
    throw new LauncherError(
      'MISSING_DEPENDENCY',
      `Firestore emulator jar not found at ${jar}: install the google-cloud-cli-firestore-emulator package`,
    );
  }
  return jar;
}
