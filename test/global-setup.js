/** One temp root per test run: every test's temp dirs (os.tmpdir()) go under it, and it is removed at the end. */
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-test-'));
  // the test workers and the processes they start inherit it
  process.env.DC_TEST_TMP_ROOT = root;
  process.env.TMPDIR = root;
};
