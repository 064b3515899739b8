import { createWriteStream } from 'node:fs';
import { TributaryError } from '../errors.js';
import type { Sink } from './broadcast.js';

/** Options for {@link jsonlSink}. */
export interface JsonlSinkOptions<T> {
  /** The file to write. Its directory must exist. */
  readonly path: string;
  /** Appends to an existing file; `false` truncates it first. @defaultValue true */
  readonly append?: boolean | undefined;
  /** Maps an item to the value written as its JSON line. @defaultValue the item itself */
  readonly toJson?: ((item: T) => unknown) | undefined;
  /**
   * Called once the item's line has been handed to the operating system (the write completed),
   * in order. Ack messages here: `onWritten: (m) => m.ack()`.
   */
  readonly onWritten?: ((item: T) => void) | undefined;
  /** Called for each item whose line was not written, with the reason. Nack messages here. */
  readonly onFailed?: ((item: T, error: TributaryError) => void) | undefined;
  /** Bytes buffered in memory before writes wait for the file. @defaultValue 65_536 */
  readonly highWaterMarkBytes?: number | undefined;
}

/** What a {@link jsonlSink} wrote. */
export interface JsonlSinkResult {
  readonly path: string;
  readonly lines: number;
  readonly bytes: number;
}

/**
 * A sink that writes one JSON line per item to a file (appending by default), then flushes and
 * closes the file when the stream ends.
 *
 * Bounded: at most `highWaterMarkBytes` wait in memory; beyond that the sink stops pulling until
 * the file catches up. Errors surface as a rejection: an item that cannot be serialised (cycles,
 * `bigint`, `undefined`) fails the sink with a permanent `INVALID_PAYLOAD` error, a failed open
 * or write with a retriable `SINK_FAILED` error, and an error of the input stream is rethrown; in
 * every case the file is closed first and every item not confirmed goes to `onFailed`.
 *
 * Settlement: the sink calls `onWritten` for each line that reached the file and `onFailed` for
 * each that did not; it never settles messages itself.
 */
export function jsonlSink<T>(options: JsonlSinkOptions<T>): Sink<T, JsonlSinkResult> {
  const { path, toJson, onWritten, onFailed } = options;
  const flags = options.append === false ? 'w' : 'a';
  const highWaterMark = options.highWaterMarkBytes ?? 65_536;
  return async (items) => {
    const stream = createWriteStream(path, { flags, highWaterMark });
    let failure: TributaryError | undefined;
    const fail = (error: Error): TributaryError =>
      (failure ??= TributaryError.transient(
        'SINK_FAILED',
        `cannot write ${path}: ${error.message}`,
        error,
      ));
    stream.on('error', fail);
    let lines = 0;
    let bytes = 0;
    const write = (item: T): boolean => {
      const line = serialize(item, toJson);
      lines += 1;
      bytes += Buffer.byteLength(line);
      return stream.write(line, (error) => {
        if (error === undefined || error === null) onWritten?.(item);
        else onFailed?.(item, fail(error));
      });
    };
    const close = async (): Promise<void> => {
      if (stream.closed) return;
      // After a file error, drop what is buffered (its callbacks report the failure); otherwise
      // flush the lines already accepted before closing.
      if (failure === undefined) stream.end();
      else stream.destroy();
      await settle('close');
    };
    // Resolves on `event` or when the stream closed, whichever comes first (errors are recorded).
    const settle = (event: 'drain' | 'close'): Promise<void> =>
      new Promise((resolve) => {
        if (stream.closed) {
          resolve();
          return;
        }
        const done = (): void => {
          stream.off(event, done);
          stream.off('close', done);
          resolve();
        };
        stream.on(event, done);
        stream.on('close', done);
      });
    try {
      for await (const item of items) {
        if (failure !== undefined) throw failure;
        let fits: boolean;
        try {
          fits = write(item);
        } catch (error) {
          onFailed?.(item, error as TributaryError);
          throw error;
        }
        if (!fits && !stream.destroyed) await settle('drain');
      }
    } catch (error) {
      await close();
      throw failure ?? error;
    }
    await close();
    if (failure !== undefined) throw failure;
    return { path, lines, bytes };
  };
}

/** `JSON.stringify`, typed honestly: it returns undefined for undefined, functions and symbols. */
const stringify: (value: unknown) => string | undefined = JSON.stringify;

function serialize<T>(item: T, toJson: ((item: T) => unknown) | undefined): string {
  let text: string | undefined;
  try {
    const value: unknown = toJson === undefined ? item : toJson(item);
    text = stringify(value);
  } catch (error) {
    throw TributaryError.permanent(
      'INVALID_PAYLOAD',
      `cannot serialise item as JSON: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  if (text === undefined) {
    throw TributaryError.permanent('INVALID_PAYLOAD', 'item serialises to no JSON value');
  }
  return `${text}\n`;
}
