/**
 * Append throughput of the JSONL store (lock + torn-tail check + dedup + one write + fsync per
 * batch) against a bare `fs.appendFileSync` loop over the same lines, in the same run.
 * Run: node dist/bench/append.js [--records N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonlStore } from '../src/sinks/jsonl-store';
import { testRecord, testStoreOptions } from '../test/sinks/helpers/test-records';
import { printRows, timeIt, type BenchRow } from './report';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-append-'));
}

export async function benchAppend(records = 5000): Promise<BenchRow[]> {
  const recs = Array.from({ length: records }, (_, i) => testRecord(`r-${i}`, 3000));
  const lines = recs.map((r) => `${JSON.stringify(r)}\n`);
  const rows: BenchRow[] = [];

  const bareDir = tmp();
  const bareFile = path.join(bareDir, 'bare.jsonl');
  const bare = records / (await timeIt(() => lines.forEach((l) => fs.appendFileSync(bareFile, l))));
  const bareFsyncCount = Math.min(records, 500);
  const bareFsync =
    bareFsyncCount /
    (await timeIt(() => {
      const fd = fs.openSync(path.join(bareDir, 'bare-fsync.jsonl'), 'a');
      for (let i = 0; i < bareFsyncCount; i++) {
        fs.writeSync(fd, lines[i]!);
        fs.fsyncSync(fd);
      }
      fs.closeSync(fd);
    }));
  rows.push({ name: 'bare appendFileSync, 3 KB lines (no fsync)', value: bare, unit: 'records/s' });
  rows.push({ name: 'bare write + fsync per line', value: bareFsync, unit: 'records/s', baseline: bare, ratio: bareFsync / bare });

  for (const batch of [1, 100]) {
    const n = batch === 1 ? Math.min(records, 500) : records;
    const store = await JsonlStore.open(testStoreOptions(tmp()));
    const secs = await timeIt(async () => {
      for (let i = 0; i < n; i += batch) await store.append(recs.slice(i, i + batch));
    });
    const rate = n / secs;
    rows.push({ name: `store.append, batches of ${batch}`, value: rate, unit: 'records/s', baseline: bare, ratio: rate / bare });
  }
  fs.rmSync(bareDir, { recursive: true, force: true });
  return rows;
}

if (require.main === module) {
  const i = process.argv.indexOf('--records');
  benchAppend(i > 0 ? Number(process.argv[i + 1]) : 5000).then((rows) => printRows('Append (3 KB records)', rows));
}
