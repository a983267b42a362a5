/** Removes the run's temp root (see global-setup.js): tests that leave a dir behind do not fill /tmp. */
const fs = require('fs');

module.exports = async () => {
  const root = process.env.DC_TEST_TMP_ROOT;
  if (root) fs.rmSync(root, { recursive: true, force: true });
};
