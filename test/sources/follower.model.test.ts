/**
 * Model-based test (after Vector's file_watcher experiment): random sequences of writer actions, restarts
 * and reads drive the real follower on real files and a tiny model. Always: never a line twice, never a
 * line not written, order kept. When no lossy action (flush, delete) happened: every line exactly once.
 * MODEL_RUNS=5000 npx jest test/sources/follower.model for a longer search.
 */
import * as fc from 'fast-check';
import { commands, losslessCommands, runModel, tally } from './helpers/model';

const runs = Number(process.env.MODEL_RUNS ?? 300);
const timeout = 60_000 + runs * 50;

afterAll(() => {
  if (process.env.MODEL_STATS) console.log(JSON.stringify(tally));
});

test(`model, lossless actions: ${runs} sequences of appends, renames, copy-truncates, restarts, reads`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.commands(losslessCommands, { maxCommands: 60, size: '+1' }), (cmds) => runModel('lossless', cmds)),
    { numRuns: runs },
  );
}, timeout);

test(`model, all actions: ${runs} sequences adding flushes and deletes`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: '+1' }), (cmds) => runModel('all', cmds)),
    { numRuns: runs },
  );
}, timeout);
