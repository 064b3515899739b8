/** What the server saw of insertAll requests, for tests that assert on request sizes. */
export interface InsertAllStats {
  /** insertAll requests received, refused ones included. */
  readonly requests: number;
  /** Requests refused whole for their size (body over the limit, or too many rows). */
  readonly refused: number;
  /** Rows in the requests that were parsed (refused-for-size bodies are not parsed). */
  readonly rows: number;
  /** Body bytes of every request, as read from the socket. */
  readonly bytes: number;
  /** The largest request body seen, in bytes. */
  readonly maxRequestBytes: number;
  /** The most rows one request held. */
  readonly maxRequestRows: number;
}

/** Path of the control endpoint that answers {@link InsertAllStats} (`GET`) and resets it (`DELETE`). */
export const INSERT_ALL_STATS_PATH = '/__tributary/bigquery/insert-all-stats';

/** Counts every insertAll request's size as it arrives (constant memory). */
export class InsertAllLog {
  #stats: InsertAllStats = InsertAllLog.#empty();

  static #empty(): InsertAllStats {
    return { requests: 0, refused: 0, rows: 0, bytes: 0, maxRequestBytes: 0, maxRequestRows: 0 };
  }

  /** Records one request: its body bytes, its rows (when parsed) and whether it was refused. */
  record(bytes: number, rows: number, refused: boolean): void {
    const s = this.#stats;
    this.#stats = {
      requests: s.requests + 1,
      refused: s.refused + (refused ? 1 : 0),
      rows: s.rows + rows,
      bytes: s.bytes + bytes,
      maxRequestBytes: Math.max(s.maxRequestBytes, bytes),
      maxRequestRows: Math.max(s.maxRequestRows, rows),
    };
  }

  snapshot(): InsertAllStats {
    return this.#stats;
  }

  reset(): void {
    this.#stats = InsertAllLog.#empty();
  }
}

/** Reads the insertAll statistics of a running local BigQuery server over HTTP. */
export async function fetchInsertAllStats(baseUrl: string): Promise<InsertAllStats> {
  const response = await fetch(new URL(INSERT_ALL_STATS_PATH, baseUrl));
  if (!response.ok) throw new Error(`reading insertAll stats failed: HTTP ${response.status}`);
  return (await response.json()) as InsertAllStats;
}
