import type { IncomingMessage } from 'node:http';
import { GcsError } from './errors.js';

/** 501 for a feature this server does not implement, so nobody believes it took effect. */
export function notImplemented(message: string): GcsError {
  return new GcsError(501, 'notImplemented', `${message} (not supported by the local GCS server)`);
}

const CSEK_HEADERS = [
  'x-goog-encryption-algorithm',
  'x-goog-encryption-key',
  'x-goog-encryption-key-sha256',
  'x-goog-copy-source-encryption-algorithm',
  'x-goog-copy-source-encryption-key',
  'x-goog-copy-source-encryption-key-sha256',
];

const KMS_PARAMETERS = ['kmsKeyName', 'destinationKmsKeyName'];

/**
 * Refuses what would silently not happen here: customer-supplied encryption keys (the
 * `x-goog-encryption-*` headers the client sends for `encryptionKey`) and Cloud KMS keys
 * (`kmsKeyName` / `destinationKmsKeyName`). Such data would be stored unencrypted.
 * @throws {@link GcsError} 501 `notImplemented`.
 */
export function refuseEncryption(request: IncomingMessage, url: URL): void {
  if (CSEK_HEADERS.some((name) => request.headers[name] !== undefined)) {
    throw notImplemented(
      'Customer-supplied encryption keys are refused: the object would be stored unencrypted',
    );
  }
  if (KMS_PARAMETERS.some((name) => url.searchParams.has(name))) {
    throw notImplemented('Cloud KMS keys are refused: the object would be stored unencrypted');
  }
}

/** Refuses a bucket or object body that asks for a KMS key (`kmsKeyName`, `encryption`). */
export function refuseEncryptionFields(json: Record<string, unknown>): void {
  if (json['kmsKeyName'] !== undefined && json['kmsKeyName'] !== null) {
    throw notImplemented('Cloud KMS keys are refused: the object would be stored unencrypted');
  }
  if (json['encryption'] !== undefined && json['encryption'] !== null) {
    throw notImplemented(
      'Bucket encryption (defaultKmsKeyName) is refused: objects would be stored unencrypted',
    );
  }
}
