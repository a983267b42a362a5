/**
 * Child for the crash test: loads the state (which must always work), then saves ever newer big
 * states in a loop until it is killed. Prints READY after its first save.
 */
import { ManualClock } from '../../../src/common/clock';
import { loadState, saveState } from '../../../src/pipeline/state-shape';
import { BIG_STATE_EPOCH_MS, makeBigState } from './big-state';

const dataDir = process.argv[2]!;
let seq = (loadState(dataDir).counters.seq ?? -1) + 1;
const clock = new ManualClock();
let first = true;
for (;;) {
  clock.set(BIG_STATE_EPOCH_MS + seq);
  saveState(dataDir, makeBigState(seq), { clock });
  if (first) process.stdout.write('READY\n');
  first = false;
  seq++;
}
