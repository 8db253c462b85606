// Prints the fault suite's table (one row per scenario) from the rows the scenarios wrote
// to FAULTS_RESULTS, after the run.
const { existsSync, readFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');

class FaultsReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.FAULTS_RESULTS;
    if (file && existsSync(file)) {
      // The table is formatted by the built testkit (ESM), in a child Node process.
      const out = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { formatTable, readResults } from '@transcribe/testkit'; console.log(formatTable(readResults(process.argv[1])));`,
          file,
        ],
        { cwd: `${__dirname}/packages/testkit`, encoding: 'utf8' },
      );
      process.stdout.write(`\nfault suite\n${out.stdout}${out.stderr}`);
    }
    const { numPassedTests, numFailedTests, numPendingTests } = results;
    process.stdout.write(
      `\ntests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped\n`,
    );
  }
}
module.exports = FaultsReporter;
