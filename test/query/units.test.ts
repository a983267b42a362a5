/** Byte-range units: cutting a file anywhere must give the same lines, counts and line numbers. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/query';
import { buildFleet } from './fixture';

test.each([7, 100, 1000, 1 << 20])('chunks of %d bytes give the same scan', async (chunkBytes) => {
  const fleet = buildFleet();
  try {
    const ds = await loadDataset({ dataDirs: [fleet.a, fleet.b], threads: 0, chunkBytes });
    // hand-counted in analyze.test.ts: 14 lines, 13 records, 1 corrupt at 2025-10 line 2, 10 kept
    expect(ds.stats).toMatchObject({ files: 6, lines: 14, records: 13, corrupt: 1, kept: 10, olderRevisions: 1, superseded: 1, duplicates: 1 });
    expect(ds.stats.firstCorrupt).toEqual({ file: path.join(fleet.a, 'generation_history_2025-10.jsonl'), line: 2 });
  } finally {
    fs.rmSync(fleet.root, { recursive: true, force: true });
  }
});

test('a last line without newline is read; a torn one is counted corrupt', async () => {
  const fleet = buildFleet();
  try {
    const live = path.join(fleet.b, 'generation_history.jsonl');
    const text = fs.readFileSync(live, 'utf8');
    fs.writeFileSync(live, text.slice(0, -1)); // drop the final \n: the A1 copy is still a whole record
    let ds = await loadDataset({ dataDirs: [fleet.a, fleet.b], threads: 0 });
    expect(ds.stats).toMatchObject({ records: 13, corrupt: 1, duplicates: 1 });
    fs.writeFileSync(live, text.slice(0, -40)); // a write cut short
    ds = await loadDataset({ dataDirs: [fleet.a, fleet.b], threads: 0 });
    expect(ds.stats).toMatchObject({ records: 12, corrupt: 2, duplicates: 0 });
  } finally {
    fs.rmSync(fleet.root, { recursive: true, force: true });
  }
});

test('a missing data dir is an error naming it', async () => {
  await expect(loadDataset({ dataDirs: ['/nonexistent/dc-data'], threads: 0 })).rejects.toThrow(/no such data dir/);
});

test('a gzip archive moved between the plan and the read (a rotate): planned again, never an uncaught error (issue 15, item 7)', async () => {
  const fleet = buildFleet();
  try {
    const gz = path.join(fleet.a, 'generation_history_2025-11.jsonl.gz');
    let plans = 0;
    const ds = await loadDataset({
      dataDirs: [fleet.a, fleet.b],
      threads: 0,
      // the first plan lists the archive where it was; before it is read, rotate moves it into archive/
      onPlanned: () => {
        if (++plans === 1) fs.renameSync(gz, path.join(fleet.a, 'archive', 'generation_history_2025-11.jsonl.gz'));
      },
    });
    expect(plans).toBe(2);
    expect(ds.stats).toMatchObject({ files: 6, records: 13, kept: 10 });
  } finally {
    fs.rmSync(fleet.root, { recursive: true, force: true });
  }
});
