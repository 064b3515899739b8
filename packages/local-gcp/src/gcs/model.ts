/** Object fields a client may set on upload, patch or update. */
export interface ObjectFields {
  readonly contentType?: string | undefined;
  readonly contentEncoding?: string | undefined;
  readonly contentDisposition?: string | undefined;
  readonly contentLanguage?: string | undefined;
  readonly cacheControl?: string | undefined;
  readonly customTime?: string | undefined;
  /** Custom metadata (`x-goog-meta-*` in XML terms). */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** The names of {@link ObjectFields} that hold plain strings. */
export const stringObjectFields = [
  'contentType',
  'contentEncoding',
  'contentDisposition',
  'contentLanguage',
  'cacheControl',
  'customTime',
] as const;

/** One stored object (we keep only the live generation). Immutable: updates replace it. */
export interface StoredObject extends ObjectFields {
  readonly bucket: string;
  readonly name: string;
  readonly data: Buffer;
  readonly contentType: string;
  /** Decimal string, as in the JSON API; grows with every write in this server. */
  readonly generation: string;
  readonly metageneration: number;
  /** Base64 MD5 of `data`. */
  readonly md5Hash: string;
  /** Base64 big-endian CRC32C of `data`. */
  readonly crc32c: string;
  /** RFC 3339 timestamps. */
  readonly timeCreated: string;
  readonly updated: string;
}

/** One bucket. Immutable: updates replace it. */
export interface StoredBucket {
  readonly name: string;
  readonly location: string;
  readonly storageClass: string;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly metageneration: number;
  readonly timeCreated: string;
  readonly updated: string;
}
