import type * as Protobuf from 'protobufjs';
// Static imports, so a bundler includes them (a createRequire call is opaque to esbuild). Both
// resolve to the same protobufjs instance: the descriptor extension patches `Type.fromDescriptor`
// onto it.
import protobufModule from 'protobufjs';
import descriptorModule from 'protobufjs/ext/descriptor/index.js';
import type { Field } from './schema-mapping.js';
import { microsToTimestampLiteral } from './time-format.js';

const protobuf = protobufModule as unknown as typeof Protobuf;
const descriptorExt = descriptorModule as unknown as { readonly DescriptorProto: Protobuf.Type };
const typeStatics = protobuf.Type as unknown as {
  fromDescriptor(descriptor: unknown): Protobuf.Type;
};

/**
 * The message type of a writer schema (`ProtoSchema.proto_descriptor`) as proto-loader hands it
 * over (camel-cased keys, enum names, no defaults).
 * @throws Error when the descriptor is not a usable message type.
 */
export function typeOfWriterSchema(protoDescriptor: unknown): Protobuf.Type {
  const message = descriptorExt.DescriptorProto.fromObject(
    protoDescriptor as Record<string, unknown>,
  );
  const type = typeStatics.fromDescriptor(message);
  // Resolve nested type references now, so a broken schema fails here and not per row.
  new protobuf.Root().add(type).resolveAll();
  return type;
}

const DAY_MS = 86_400_000;

/**
 * Decodes one serialized row and turns it into the insertAll JSON form our row validator reads:
 * TIMESTAMP int64 microseconds become timestamp text, DATE int32 days become `YYYY-MM-DD`,
 * INT64 become decimal text, BYTES become base64. Field names match columns case-insensitively
 * (the validator's rule); unknown fields are left for the validator to refuse.
 * @throws Error when the bytes are not a valid message of `type` (a missing required field too).
 */
export function decodeRow(
  type: Protobuf.Type,
  bytes: Uint8Array,
  fields: readonly Field[],
): Record<string, unknown> {
  const message = type.decode(bytes);
  const object = type.toObject(message, { longs: String, bytes: String, defaults: false });
  return convertRecord(object, fields);
}

function convertRecord(
  object: Record<string, unknown>,
  fields: readonly Field[],
): Record<string, unknown> {
  const byName = new Map(fields.map((field) => [field.name.toLowerCase(), field]));
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const field = byName.get(key.toLowerCase());
    if (field === undefined) {
      row[key] = value;
      continue;
    }
    row[field.name] = Array.isArray(value)
      ? value.map((item: unknown) => convertValue(item, field))
      : convertValue(value, field);
  }
  return row;
}

function convertValue(value: unknown, field: Field): unknown {
  if (value === null || value === undefined) return value;
  switch (field.kind) {
    case 'RECORD':
      return typeof value === 'object'
        ? convertRecord(value as Record<string, unknown>, field.fields)
        : value;
    case 'TIMESTAMP':
      return typeof value === 'string' && /^-?\d+$/.test(value)
        ? microsToTimestampLiteral(BigInt(value))
        : value;
    case 'DATE':
      return typeof value === 'number' && Number.isInteger(value)
        ? new Date(value * DAY_MS).toISOString().slice(0, 10)
        : value;
    case 'STRING':
    case 'BYTES':
    case 'INTEGER':
    case 'FLOAT':
    case 'NUMERIC':
    case 'BOOLEAN':
    case 'TIME':
    case 'DATETIME':
    case 'JSON':
    case 'GEOGRAPHY':
      return value;
  }
}
