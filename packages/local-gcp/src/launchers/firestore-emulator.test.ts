import { Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { uniqueName } from '../harness/unique-name.js';
import { startFirestoreEmulator, type FirestoreEmulator } from './firestore-emulator.js';
import { isProcessAlive } from './managed-process.js';

describe('startFirestoreEmulator', () => {
  let emulator: FirestoreEmulator | undefined;

  beforeAll(async () => {
    emulator = await startFirestoreEmulator({ projectId: 'launcher-proj' });
  });

  afterAll(async () => {
    await emulator?.stop();
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** A client of this test's emulator: the Firestore client prefers the variable to settings. */
  function client(): Firestore {
    vi.stubEnv('FIRESTORE_EMULATOR_HOST', emulator!.hostPort);
    return new Firestore({ projectId: 'launcher-proj' });
  }

  it('serves the official client: set and get; reset() deletes every document', async () => {
    const db = client();
    try {
      const doc = db.collection(uniqueName('devices')).doc('d1');
      await doc.set({ site: 'north', tags: ['a', 'b'] });
      expect((await doc.get()).data()).toEqual({ site: 'north', tags: ['a', 'b'] });
      await emulator!.reset();
      expect((await doc.get()).exists).toBe(false);
    } finally {
      await db.terminate();
    }
  });

  it('stop() ends the process and is idempotent', async () => {
    await Promise.all([emulator!.stop(), emulator!.stop()]);
    expect(isProcessAlive(emulator!.pid)).toBe(false);
    await emulator!.stop();
  });

  it('names the missing package when the emulator jar is absent', async () => {
    await expect(startFirestoreEmulator({ sdkRoot: '/nonexistent/sdk' })).rejects.toMatchObject({
      code: 'MISSING_DEPENDENCY',
      message:
        'Firestore emulator jar not found at /nonexistent/sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar: install the google-cloud-cli-firestore-emulator package',
    });
  });

  it('names the missing package when java is absent', async () => {
    await expect(startFirestoreEmulator({ javaPath: '/nonexistent/bin/java' })).rejects.toThrow(
      '/nonexistent/bin/java not found: install openjdk-17-jre-headless',
    );
  });
});
