/**
 * Runs a rotation and SIGKILLs itself right after its Nth durable action (argv: dataDir nowMs
 * gzipAfter archiveAfter N). N = 0 runs to the end and prints the number of actions.
 */
import { runRotation } from '../../../src/sinks/rotation';

const [dataDir, nowMs, gzipAfter, archiveAfter, killAfter] = process.argv.slice(2);
let points = 0;
runRotation({
  dataDir: dataDir!,
  nowMs: Number(nowMs),
  gzipAfterMonths: Number(gzipAfter),
  archiveAfterMonths: Number(archiveAfter),
  lock: { staleMs: 2000, waitMs: 10000 },
  point: () => {
    points++;
    if (points === Number(killAfter)) process.kill(process.pid, 'SIGKILL');
  },
}).then(
  () => process.stdout.write(`${points}\n`),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  },
);
