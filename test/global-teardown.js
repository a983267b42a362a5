/** Removes the run's temp root (see global-setup.js): tests that leave a dir behind do not fill /tmp. FAKE_MINER_KEEP=1 keeps it (kept runs are in it). */
const fs = require('fs');

module.exports = async () => {
  const root = process.env.DC_TEST_TMP_ROOT;
  if (root && process.env.FAKE_MINER_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
};
