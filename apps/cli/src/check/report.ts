import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckResult, Suite } from './checks.js';

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => `&#${String(c.charCodeAt(0))};`);

/** The results as JUnit XML, one test case per check, for CI. */
export function junitXml(suite: Suite, target: string, results: readonly CheckResult[]): string {
  const failures = results.filter((r) => !r.passed).length;
  const seconds = (ms: number): string => (ms / 1_000).toFixed(3);
  const total = results.reduce((sum, r) => sum + r.durationMs, 0);
  const cases = results.map((r) => {
    const head = `  <testcase classname="tributary.check.${suite}" name="${escapeXml(r.name)}" time="${seconds(r.durationMs)}"`;
    return r.passed
      ? `${head}>\n    <system-out>${escapeXml(r.detail)}</system-out>\n  </testcase>`
      : `${head}>\n    <failure message="${escapeXml(r.detail)}"/>\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="tributary check ${suite}" tests="${String(results.length)}" failures="${String(failures)}" time="${seconds(total)}" hostname="${escapeXml(target)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}

/** The results as JSON. */
export function resultsJson(suite: Suite, target: string, results: readonly CheckResult[]): string {
  const passed = results.every((r) => r.passed);
  return `${JSON.stringify({ suite, target, passed, checks: results }, null, 2)}\n`;
}

/** Writes `text` to `file`, creating its folder. */
export async function writeReport(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** One line per check, for a person. */
export function humanLine(result: CheckResult): string {
  return `  ${result.passed ? 'pass' : 'FAIL'}  ${result.name} (${(result.durationMs / 1_000).toFixed(1)} s): ${result.detail}`;
}
