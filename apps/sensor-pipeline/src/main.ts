import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConfigError, parseConfig, USAGE, type SensorConfig } from './config.js';
import { runSensorPipeline } from './pipeline.js';

let config: SensorConfig;
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`sensor-pipeline: ${error.message}\n\n${USAGE}`);
  process.exit(78);
}

const outputDir = resolve(config.outputDir);
const startedAt = performance.now();
const { metrics, processedFile, failedFile } = await runSensorPipeline({
  records: config.records,
  workers: config.workers,
  seed: config.seed,
  outputDir,
});
const tookMs = Math.round(performance.now() - startedAt);

console.log(`sensor-pipeline: ${metrics.records} records, ${config.workers} workers, ${tookMs} ms
  processed    ${metrics.processed}  -> ${processedFile.path} (${processedFile.lines} lines)
  errors       ${metrics.errors}  -> ${failedFile.path} (${failedFile.lines} lines)
                 validation ${metrics.errorsByStage.validation}, transformation ${metrics.errorsByStage.transformation}
  anomalies    ${metrics.anomalies}  (anomalyScore = value * 0.1 > 8)
  total value  ${metrics.totalValue.toFixed(2)}  (average ${
    metrics.processed === 0 ? '-' : (metrics.totalValue / metrics.processed).toFixed(2)
  })`);
