import { gunzipSync } from 'node:zlib';
import { sleep } from '@tributary/messagepipeline/kernel';
import { connectAsync, type MqttClient } from 'mqtt';
import { telemetry } from '../flow/devices.js';
import { scrape, sumOf } from './metrics-text.js';
import type { CheckTarget } from './target.js';

/** One archived line, as the archiver writes it. */
export interface ArchivedLine {
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly enrichment: Readonly<Record<string, unknown>>;
  readonly payload?: { readonly seq?: number } | undefined;
}

/** What the checks do to a target: publish as a device, and look where the results land. */
export class Probe {
  readonly target: CheckTarget;
  readonly #client: MqttClient;
  /** `seq` values of this probe: far above a simulator's, unique per run. */
  #nextSeq = Date.now() * 1_000;

  private constructor(target: CheckTarget, client: MqttClient) {
    this.target = target;
    this.#client = client;
  }

  static async open(target: CheckTarget): Promise<Probe> {
    const client = await connectAsync(target.mqttUrl, {
      protocolVersion: target.mqttProtocolVersion,
      clientId: `tributary-check-${String(process.pid)}-${String(Date.now())}`,
      clean: true,
    });
    return new Probe(target, client);
  }

  /** A new `seq`, unique to this probe. */
  seq(): number {
    return this.#nextSeq++;
  }

  topic(deviceId: string): string {
    return `${this.target.topicPrefix}devices/${deviceId}/telemetry`;
  }

  /** Publishes one reading of `deviceId` (QoS 1; resolves on PUBACK); returns its `seq`. */
  async publishReading(deviceId = this.target.knownDeviceId, extra: object = {}): Promise<number> {
    const seq = this.seq();
    const body = { ...telemetry(deviceId, seq, new Date()), ...extra };
    await this.#client.publishAsync(this.topic(deviceId), JSON.stringify(body), { qos: 1 });
    return seq;
  }

  /** Publishes bytes as they are. */
  async publishRaw(deviceId: string, payload: string): Promise<void> {
    await this.#client.publishAsync(this.topic(deviceId), payload, { qos: 1 });
  }

  /** Dead letters counted by the app of `stage` (its `/metrics`), by `code`. */
  async deadLetters(stage: string, code: string): Promise<number> {
    const url = this.target.apps.get(stage);
    if (url === undefined) throw new Error(`no URL for the app '${stage}'`);
    return sumOf(await scrape(url), 'tributary_messages_dead_lettered_total', { stage, code });
  }

  /** The table's rows whose `seq` is one of `seqs`. */
  async rows(seqs: readonly number[]): Promise<Record<string, unknown>[]> {
    if (seqs.length === 0) return [];
    const [rows] = await this.target.bigquery.query({
      query: `SELECT * FROM ${this.target.table} WHERE seq IN (${seqs.join(', ')})`,
    });
    return rows as Record<string, unknown>[];
  }

  /** The archive's lines in objects created since `since`. */
  async archived(since: Date): Promise<ArchivedLine[]> {
    const [files] = await this.target.storage
      .bucket(this.target.bucket)
      .getFiles({ prefix: this.target.prefix });
    const lines: ArchivedLine[] = [];
    for (const file of files) {
      const created = Date.parse(file.metadata.timeCreated ?? '');
      if (!file.name.endsWith('.jsonl.gz') || created < since.getTime() - 1_000) continue;
      const [data] = await file.download({ decompress: false });
      for (const line of gunzipSync(data).toString('utf8').split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as ArchivedLine);
      }
    }
    return lines;
  }

  async close(): Promise<void> {
    await this.#client.endAsync();
  }
}

/** Polls `condition` every 200 ms until it is true; throws `what` after `timeoutMs`. */
export async function eventually(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(what());
    await sleep(200);
  }
}
