import { adapt, managedwriter, protos } from '@google-cloud/bigquery-storage';
import grpc from '@grpc/grpc-js';
import type { BigQueryWriteServer } from '../write-api.js';

/** The managed writer's connection type (the package does not export its class). */
export type StreamConnection = Awaited<
  ReturnType<managedwriter.WriterClient['createStreamConnection']>
>;

/** The official managed writer client pointed at a local Write API server (insecure, no auth). */
export function writerClientFor(server: BigQueryWriteServer): managedwriter.WriterClient {
  return new managedwriter.WriterClient({
    projectId: 'test-proj',
    servicePath: server.host,
    port: server.port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}

/** The proto2 descriptor for a write stream's table schema (GetWriteStream with view FULL). */
export async function descriptorFor(
  client: managedwriter.WriterClient,
  streamId: string,
): Promise<protos.google.protobuf.IDescriptorProto> {
  const stream = await client.getWriteStream({
    streamId,
    view: protos.google.cloud.bigquery.storage.v1.WriteStreamView.FULL,
  });
  if (stream.tableSchema === null || stream.tableSchema === undefined) {
    throw new Error(`GetWriteStream ${streamId} returned no table schema`);
  }
  return adapt.convertStorageSchemaToProto2Descriptor(stream.tableSchema, 'root');
}

/** A JSONWriter on a connection to `streamId`, with a connection-error listener attached. */
export async function jsonWriterFor(
  client: managedwriter.WriterClient,
  streamId: string,
): Promise<{
  writer: managedwriter.JSONWriter;
  connection: StreamConnection;
  errors: Error[];
}> {
  const protoDescriptor = await descriptorFor(client, streamId);
  const connection = await client.createStreamConnection({ streamId });
  const errors: Error[] = [];
  connection.onConnectionError((error: Error) => {
    errors.push(error);
  });
  const writer = new managedwriter.JSONWriter({ connection, protoDescriptor });
  return { writer, connection, errors };
}
