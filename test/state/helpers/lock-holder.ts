/**
 * Child for the instance-lock tests.
 *   hold <dataDir>            acquire, print `READY <holder json>`, keep it until killed
 *   race <dataDir> <startAt>  wait until the epoch ms startAt, try once: print `ACQUIRED <pid>` and
 *                             keep the lock until killed, or print `HELD <code>` and exit
 */
import { CollectorError } from '../../../src/common/errors';
import { acquireInstanceLock } from '../../../src/state';

const [mode, dataDir, startAt] = process.argv.slice(2);
if (mode === 'race') {
  while (Date.now() < Number(startAt)) {
    /* spin so that all racers start within the same millisecond */
  }
}
try {
  const lock = acquireInstanceLock(dataDir!);
  process.stdout.write(mode === 'race' ? `ACQUIRED ${process.pid}\n` : `READY ${JSON.stringify(lock.holder)}\n`);
  setInterval(() => lock.verify(), 100);
} catch (err) {
  process.stdout.write(`HELD ${err instanceof CollectorError ? err.code : String(err)}\n`);
  process.exitCode = err instanceof CollectorError && err.code === 'LOCK_HELD' ? 0 : 1;
}
