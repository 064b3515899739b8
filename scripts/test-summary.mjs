// Prints vitest's JSON results as one plain closing line: "tests: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`no test results at ${file}: ${error.message}`);
  process.exit(1);
}
const passed = results.numPassedTests ?? 0;
const failed = results.numFailedTests ?? 0;
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
// A file that failed with no failed test in it (an import error, a failing hook) counts apart:
// numFailedTestSuites also counts the describe blocks around a failed test.
const brokenFiles = (results.testResults ?? []).filter(
  (file) =>
    file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
).length;
console.log(
  `tests: ${passed} passed, ${failed} failed, ${skipped} skipped` +
    (brokenFiles > 0 ? `; ${brokenFiles} test files failed outside any test` : ''),
);
if (passed === 0) {
  console.error('no test ran');
  process.exit(1);
}
