/**
 * A writer process for store tests: appends records `<prefix>-<n>` for n in [0, count) in batches
 * of `batch`, printing `acked <n>` after each durable batch, then `done`. Restarted with the same
 * arguments it writes the same records again, which the store must drop as duplicates.
 * argv: dataDir prefix count batch [loop]
 */
import { JsonlStore } from '../../../src/sinks/jsonl-store';
import { testRecord, testStoreOptions } from './test-records';

async function main(): Promise<void> {
  const [dataDir, prefix, countText, batchText, loop] = process.argv.slice(2);
  const count = Number(countText);
  const batch = Number(batchText);
  const store = await JsonlStore.open(testStoreOptions(dataDir!));
  do {
    for (let n = 0; n < count; n += batch) {
      const recs = [];
      for (let i = n; i < Math.min(count, n + batch); i++) recs.push(testRecord(`${prefix}-${i}`));
      await store.append(recs);
      process.stdout.write(`acked ${Math.min(count, n + batch)}\n`);
    }
  } while (loop === 'loop');
  process.stdout.write('done\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
