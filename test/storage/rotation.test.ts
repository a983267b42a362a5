import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ManualClock } from '../../src/common/clock';
import { openGenerationStore, openMinerEventStore } from '../../src/sinks';
import { planRotation, runRotation, liveFileMonth, monthOfGeneration, splitByMonth } from '../../src/sinks/rotation';
import { analyze, loadDataset } from '../../src/query';
import { allLines, event, gen, listTree, monthsOfRecords, readDataDir, tmpDir } from './helpers/data';

const MONTHS = ['2025-04', '2025-05', '2025-06', '2025-07', '2025-08', '2025-09', '2025-10', '2025-11'];
const NOW = Date.UTC(2025, 10, 20, 12); // 2025-11-20

async function summary(dir: string) {
  const ds = await loadDataset({ dataDirs: [dir], threads: 0 });
  return { stats: { ...ds.stats, files: 0 }, analysis: analyze(ds, ds.keep) };
}

describe('sealing the live file at a new month (inside append)', () => {
  it('splits a batch that spans months; a late record joins the live file; nothing is written twice', async () => {
    const dir = tmpDir();
    const clock = new ManualClock(Date.UTC(2025, 9, 30));
    const store = await openGenerationStore({ dataDir: dir, clock });
    await store.append([gen(1, '2025-10-01T00:00:00.000Z'), gen(2, '2025-10-30T00:00:00.000Z')]);
    clock.set(Date.UTC(2025, 11, 2));
    // one batch: late October, November, a late October again, December
    const r = await store.append([
      gen(3, '2025-10-31T23:00:00.000Z'),
      gen(4, '2025-11-01T00:00:00.000Z'),
      gen(5, '2025-10-15T00:00:00.000Z'),
      gen(6, '2025-12-01T00:00:00.000Z'),
      gen(2, '2025-10-30T00:00:00.000Z'), // already stored
    ]);
    expect(r).toMatchObject({ written: 4, duplicates: 1 });
    const ids = (lines: string[] | undefined) => (lines ?? []).map((l) => (JSON.parse(l) as ReturnType<typeof gen>).metadata.generation_id.slice(-1));
    const files = readDataDir(dir);
    expect([...files.keys()]).toEqual(['generation_history.jsonl', 'generation_history_2025-10.jsonl', 'generation_history_2025-11.jsonl']);
    expect(ids(files.get('generation_history_2025-10.jsonl'))).toEqual(['1', '2', '3']);
    expect(ids(files.get('generation_history_2025-11.jsonl'))).toEqual(['4', '5']);
    expect(ids(files.get('generation_history.jsonl'))).toEqual(['6']);
    // a new process knows every record, from the renamed caches, and writes none again
    const again = await openGenerationStore({ dataDir: dir, clock });
    expect(await again.append([1, 2, 3, 4, 5, 6].map((n) => gen(n, '2025-12-01T00:00:00.000Z')))).toMatchObject({ written: 0, duplicates: 6 });
    // the first store learns of the new files too
    expect(await store.append([gen(4, '2025-12-01T00:00:00.000Z')])).toMatchObject({ written: 0 });
  });

  it('a record dated in the future does not hold the live file open', () => {
    const now = '2025-11';
    expect(splitByMonth([{ metadata: { timestamp: '2099-01-01T00:00:00Z' } }], '2025-11', monthOfGeneration, now)).toHaveLength(1);
    expect(splitByMonth([{ metadata: { timestamp: '2025-12-01T00:00:00Z' } }], '2025-10', monthOfGeneration, '2025-12')).toHaveLength(2);
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'x.jsonl'), `${JSON.stringify(gen(1, '2099-05-01T00:00:00.000Z'))}\n`);
    expect(liveFileMonth(path.join(dir, 'x.jsonl'), monthOfGeneration, now)).toBe('2025-11');
  });
});

describe('rotate over 8 months of records', () => {
  it('gives the spec layout and the same analyze totals; a second run does nothing', async () => {
    const dir = tmpDir();
    const clock = new ManualClock(Date.UTC(2025, 3, 1));
    const store = await openGenerationStore({ dataDir: dir, clock });
    const events = await openMinerEventStore({ dataDir: dir, clock });
    const records = monthsOfRecords(MONTHS, 12);
    // written month by month, as the daemon would, with the clock following
    for (const m of MONTHS) {
      clock.set(Date.parse(`${m}-28T00:00:00Z`));
      await store.append(records.filter((r) => r.metadata.timestamp.startsWith(m)));
      await events.append([event(MONTHS.indexOf(m), `${m}-03T00:00:00.000Z`)]);
    }
    // a later revision of an April record, written in November
    const rev = gen(1, records[0]!.metadata.timestamp);
    rev.outcome = 'accepted';
    rev.validator_feedback.score = 0.9;
    rev.validator_feedback.accepted = true;
    await store.append([rev]);

    const before = await summary(dir);
    const linesBefore = allLines(dir);
    expect(before.stats.kept).toBe(96);

    const plan = planRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 });
    const done = await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 });
    expect(done.map((s) => [s.action, path.relative(dir, s.file)])).toEqual(plan.map((s) => [s.action, path.relative(dir, s.file)]));

    const gh = (m: string, gz = false, archived = false) => `${archived ? 'archive/' : ''}generation_history_${m}.jsonl${gz ? '.gz' : ''}`;
    const ev = (m: string, gz = false, archived = false) => `${archived ? 'archive/' : ''}miner_events_${m}.jsonl${gz ? '.gz' : ''}`;
    // Nov: live; Aug-Oct (<= 3 months): plain; May-Jul: gzip; Apr (> 6 months): archive/
    expect(listTree(dir)).toEqual(
      [
        gh('2025-04', true, true),
        ev('2025-04', true, true),
        'generation_history.jsonl',
        ...['2025-05', '2025-06', '2025-07'].flatMap((m) => [gh(m, true), ev(m, true)]),
        ...['2025-08', '2025-09', '2025-10'].flatMap((m) => [gh(m), ev(m)]),
        'miner_events.jsonl',
      ].sort(),
    );
    expect(allLines(dir)).toEqual(linesBefore);
    expect(await summary(dir)).toEqual(before);

    // the index and the files agree: a fresh store knows every record and writes none again
    const fresh = await openGenerationStore({ dataDir: dir, clock });
    expect(await fresh.append([...records, rev])).toMatchObject({ written: 0, duplicates: 97 });
    expect(await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 })).toEqual([]);
    // gzip members are real gzip
    expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, gh('2025-04', true, true)))).toString().split('\n')).toHaveLength(13);
  });

  it('--dry-run changes nothing; rotate seals a live file whose month is over', async () => {
    const dir = tmpDir();
    const store = await openGenerationStore({ dataDir: dir, clock: new ManualClock(Date.UTC(2025, 9, 20)) });
    await store.append(monthsOfRecords(['2025-10'], 3));
    const tree = listTree(dir);
    const plan = await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6, dryRun: true });
    expect(plan).toEqual([{ action: 'seal', file: path.join(dir, 'generation_history.jsonl'), target: path.join(dir, 'generation_history_2025-10.jsonl') }]);
    expect(listTree(dir)).toEqual(tree);
    await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 });
    // the live name is never missing: an empty live file took the sealed one's place
    expect(listTree(dir)).toEqual(['generation_history.jsonl', 'generation_history_2025-10.jsonl']);
    expect(fs.statSync(path.join(dir, 'generation_history.jsonl')).size).toBe(0);
    // the daemon's store, opened before, writes November into the new live file and knows October
    expect(await store.append([...monthsOfRecords(['2025-10'], 3), gen(50, '2025-11-02T00:00:00.000Z')])).toMatchObject({ written: 1, duplicates: 3 });
  });

  it('merges into a monthly file that already exists, once, and a .gz beside its .jsonl', async () => {
    const dir = tmpDir();
    const a = JSON.stringify(gen(1, '2025-10-01T00:00:00.000Z'));
    const b = JSON.stringify(gen(2, '2025-10-02T00:00:00.000Z'));
    const c = JSON.stringify(gen(3, '2025-10-03T00:00:00.000Z'));
    fs.writeFileSync(path.join(dir, 'generation_history_2025-10.jsonl'), `${a}\n`);
    fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), `${b}\n`);
    await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 });
    expect(readDataDir(dir)).toEqual(new Map([['generation_history.jsonl', []], ['generation_history_2025-10.jsonl', [a, b]]]));
    // a .gz that holds other lines than its .jsonl: merged, not overwritten
    fs.writeFileSync(path.join(dir, 'generation_history_2025-10.jsonl.gz'), zlib.gzipSync(`${c}\n`));
    await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 });
    expect(readDataDir(dir)).toEqual(new Map([['generation_history.jsonl', []], ['generation_history_2025-10.jsonl.gz', [c, a, b]]]));
  });
});

describe('analyze while rotate moves the files it listed', () => {
  it('plans again when a listed file was sealed, gzipped or archived before it was read: the same totals', async () => {
    const dir = tmpDir();
    const clock = new ManualClock(Date.UTC(2025, 3, 1));
    const store = await openGenerationStore({ dataDir: dir, clock });
    const records = monthsOfRecords(MONTHS, 6);
    for (const m of MONTHS) {
      clock.set(Date.parse(`${m}-28T00:00:00Z`));
      await store.append(records.filter((r) => r.metadata.timestamp.startsWith(m)));
    }
    const before = await summary(dir);
    let plans = 0;
    const ds = await loadDataset({
      dataDirs: [dir],
      threads: 0,
      // the first plan is made, then rotate seals, gzips and archives before a file is read
      onPlanned: async () => {
        if (plans++ === 0) await runRotation({ dataDir: dir, nowMs: Date.UTC(2025, 11, 5), gzipAfterMonths: 3, archiveAfterMonths: 6 });
      },
    });
    expect(plans).toBe(2);
    expect({ ...ds.stats, files: 0 }).toEqual(before.stats);
    expect(analyze(ds, ds.keep)).toEqual(before.analysis);
  });
});
