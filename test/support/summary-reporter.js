// Prints the plain closing line CI reads ("N passed, N failed, N skipped"); with HOSTED_INBOX_TEST_TALLY set,
// also appends the counts to that file so .ci/run can sum the Node 20 and Node 24 runs into its last line.
const fs = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numFailedTestSuites, numRuntimeErrorTestSuites } = results;
    // A suite that fails to load has no failed test: count it, so a broken suite never reads as green.
    const failed = numFailedTests + numRuntimeErrorTestSuites + (numFailedTests === 0 && numFailedTestSuites > 0 ? 1 : 0);
    process.stdout.write(`\njest: ${numPassedTests} passed, ${failed} failed, ${numPendingTests} skipped\n`);
    if (process.env.HOSTED_INBOX_TEST_TALLY) {
      fs.appendFileSync(process.env.HOSTED_INBOX_TEST_TALLY, `${numPassedTests} ${failed} ${numPendingTests}\n`);
    }
  }
}
module.exports = SummaryReporter;
