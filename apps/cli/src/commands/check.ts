import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '@tributary/runtime';
import pino from 'pino';
import { runSuite, type CheckOptions, type Suite } from '../check/checks.js';
import { humanLine, junitXml, resultsJson, writeReport } from '../check/report.js';
import { localTarget, remoteTarget, type CheckTarget } from '../check/target.js';

/** What `tributary check` runs, against what, and where it reports. */
export interface CheckCommandOptions extends CheckOptions {
  readonly suite: Suite;
  /** `local`: the command starts the flow; otherwise a target file. */
  readonly env: 'local' | { readonly targetFile: string };
  readonly dataDir: string;
  readonly junit: string | undefined;
  readonly json: string | undefined;
  readonly variables: Readonly<Record<string, string | undefined>>;
  readonly out: NodeJS.WritableStream;
}

/** Runs one suite and reports it; resolves with the exit code (1 when any check failed). */
export async function runCheck(options: CheckCommandOptions): Promise<number> {
  const { out } = options;
  let target: CheckTarget;
  let flush = (): void => undefined;
  if (options.env === 'local') {
    const logDir = join(options.dataDir, 'logs');
    await mkdir(logDir, { recursive: true });
    const destination = pino.destination({ dest: join(logDir, 'check.log'), sync: false });
    flush = () => {
      destination.flushSync();
    };
    const logger = createLogger({ service: 'tributary-check', destination });
    target = await localTarget(options.dataDir, logger);
  } else {
    target = await remoteTarget(options.env.targetFile, options.variables);
  }
  try {
    out.write(`tributary check ${options.suite}: ${target.description}\n`);
    const results = await runSuite(options.suite, target, options, (result) => {
      out.write(`${humanLine(result)}\n`);
    });
    const failed = results.filter((r) => !r.passed).length;
    out.write(
      failed === 0
        ? `all ${String(results.length)} checks passed\n`
        : `${String(failed)} of ${String(results.length)} checks failed\n`,
    );
    if (options.junit !== undefined) {
      await writeReport(options.junit, junitXml(options.suite, target.description, results));
    }
    if (options.json !== undefined) {
      await writeReport(options.json, resultsJson(options.suite, target.description, results));
    }
    return failed === 0 ? 0 : 1;
  } finally {
    await target.close();
    flush();
  }
}
