import { readFile } from 'node:fs/promises';
import { TributaryError } from '@tributary/messagepipeline';

/** TLS settings given as file paths; the files are read once, on `start()`. */
export interface MqttTlsOptions {
  /** PEM file of the CA(s) that signed the broker's certificate. @defaultValue Node's CA store */
  readonly caFile?: string | undefined;
  /** PEM client certificate, for mutual TLS (needs `keyFile`). */
  readonly certFile?: string | undefined;
  /** PEM private key of `certFile`. */
  readonly keyFile?: string | undefined;
  /** Verify the broker's certificate. Turn off only for tests. @defaultValue true */
  readonly rejectUnauthorized?: boolean | undefined;
}

/** The file contents for mqtt.js's `ca`, `cert` and `key` options. */
export interface TlsMaterial {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

async function readPem(option: string, path: string): Promise<Buffer> {
  try {
    const content = await readFile(path);
    if (content.byteLength === 0) throw new Error('the file is empty');
    return content;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code ??
      (error instanceof Error ? error.message : String(error));
    throw new TributaryError('CONFIG_INVALID', `cannot read ${option} '${path}': ${reason}`, {
      cause: error,
    });
  }
}

/**
 * Reads the TLS files, failing fast with an error naming the option and the file.
 * @throws `TributaryError` `CONFIG_INVALID`
 */
export async function readTlsFiles(tls: MqttTlsOptions): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    tls.caFile === undefined ? undefined : readPem('tls.caFile', tls.caFile),
    tls.certFile === undefined ? undefined : readPem('tls.certFile', tls.certFile),
    tls.keyFile === undefined ? undefined : readPem('tls.keyFile', tls.keyFile),
  ]);
  return { ca, cert, key };
}
