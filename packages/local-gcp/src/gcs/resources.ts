import type { StoredBucket, StoredObject } from './model.js';

/** A fixed project number; this server keeps no projects. */
export const PROJECT_NUMBER = '123456789012';

/** The JSON API `storage#object` resource for `object`, with links under `baseUrl`. */
export function objectResource(object: StoredObject, baseUrl: string): Record<string, unknown> {
  const encoded = encodeURIComponent(object.name);
  const bucketPath = `b/${object.bucket}/o/${encoded}`;
  return {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    selfLink: `${baseUrl}/storage/v1/${bucketPath}`,
    mediaLink: `${baseUrl}/download/storage/v1/${bucketPath}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket: object.bucket,
    generation: object.generation,
    metageneration: String(object.metageneration),
    contentType: object.contentType,
    contentEncoding: object.contentEncoding,
    contentDisposition: object.contentDisposition,
    contentLanguage: object.contentLanguage,
    cacheControl: object.cacheControl,
    customTime: object.customTime,
    storageClass: 'STANDARD',
    size: String(object.data.length),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    etag: objectEtag(object),
    timeCreated: object.timeCreated,
    updated: object.updated,
    timeStorageClassUpdated: object.timeCreated,
    timeFinalized: object.timeCreated,
    metadata: object.metadata,
  };
}

/** The JSON API `storage#bucket` resource for `bucket`. */
export function bucketResource(bucket: StoredBucket, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: bucket.name,
    selfLink: `${baseUrl}/storage/v1/b/${bucket.name}`,
    projectNumber: PROJECT_NUMBER,
    name: bucket.name,
    timeCreated: bucket.timeCreated,
    updated: bucket.updated,
    metageneration: String(bucket.metageneration),
    location: bucket.location,
    locationType: 'multi-region',
    storageClass: bucket.storageClass,
    labels: bucket.labels,
    etag: Buffer.from(`b${bucket.metageneration}`).toString('base64'),
    iamConfiguration: {
      uniformBucketLevelAccess: { enabled: true },
      publicAccessPrevention: 'inherited',
    },
    rpo: 'DEFAULT',
  };
}

/** An etag that changes with generation and metageneration, like GCS's. */
export function objectEtag(object: StoredObject): string {
  return Buffer.from(`${object.generation}/${object.metageneration}`).toString('base64');
}
