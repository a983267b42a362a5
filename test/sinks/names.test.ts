/**
 * Issue 16: the globs users write match record files and nothing else (checked with DuckDB's own
 * glob), the live file is always there, and data dirs of older versions are renamed on open, also
 * when that renaming was cut short at any step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { ManualClock } from '../../src/common/clock';
import { openGenerationStore } from '../../src/sinks';
import { runRotation } from '../../src/sinks/rotation';
import { migrateLegacyNames } from '../../src/sinks/names';
import { gen, monthsOfRecords, tmpDir } from '../storage/helpers/data';

const NOW = Date.UTC(2025, 10, 20, 12); // 2025-11-20

/** Every file under dir (relative), sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((rel) => fs.statSync(path.join(dir, rel)).isFile())
    .sort();
}

/** Relative path -> inode, to tell a rename (same inode) from a rebuild. */
function inodes(dir: string): Map<string, number> {
  return new Map(tree(dir).map((rel) => [rel, fs.statSync(path.join(dir, rel)).ino]));
}

/** A data dir as a long-running collector leaves it: 8 months rotated, a torn tail set aside, caches for every file. */
async function busyDataDir(): Promise<string> {
  const dir = tmpDir('dc-names-');
  const clock = new ManualClock(Date.UTC(2025, 3, 1));
  const store = await openGenerationStore({ dataDir: dir, clock });
  const months = ['2025-04', '2025-05', '2025-06', '2025-07', '2025-08', '2025-09', '2025-10', '2025-11'];
  for (const m of months) {
    clock.set(Date.parse(`${m}-28T00:00:00Z`));
    await store.append(monthsOfRecords([m], 3, 100 * months.indexOf(m)));
  }
  fs.appendFileSync(store.file, JSON.stringify(gen(999, '2025-11-20T00:00:00.000Z')).slice(0, 300));
  const r = await store.append([gen(998, '2025-11-20T00:00:00.000Z')]);
  expect(r.tornTailsMovedTo).toHaveLength(1);
  await runRotation({ dataDir: dir, nowMs: NOW, gzipAfterMonths: 3, archiveAfterMonths: 6 });
  return dir;
}

async function duckGlob(pattern: string): Promise<string[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(`SELECT file FROM glob('${pattern}') ORDER BY file`);
    return r.getRowsJson().map((row) => String(row[0]));
  } finally {
    c.closeSync();
  }
}

describe('record globs', () => {
  it('match the record files and nothing else (caches, torn tails, other kinds)', async () => {
    const dir = await busyDataDir();
    const all = tree(dir);
    // what is there besides records: the id index caches, a torn tail, a lock dir's parent
    expect(all.some((f) => f.startsWith('state/index/') && f.endsWith('.idx'))).toBe(true);
    expect(all.filter((f) => f.startsWith('set-aside/'))).toHaveLength(1);
    // on 2025-11-20: April is 7 months old (archived), May..July 4..6 (gzip), August..October plain, November live
    const records = [
      'archive/generation_history_2025-04.jsonl.gz',
      'generation_history.jsonl',
      ...['05', '06', '07'].map((m) => `generation_history_2025-${m}.jsonl.gz`),
      ...['08', '09', '10'].map((m) => `generation_history_2025-${m}.jsonl`),
    ].map((f) => path.join(dir, f));
    expect(all.filter((f) => f.includes('generation_history')).map((f) => path.join(dir, f))).toEqual(records);
    const top = records.filter((f) => path.dirname(f) === dir);
    const archived = records.filter((f) => path.dirname(f) === path.join(dir, 'archive'));
    expect(await duckGlob(`${dir}/**/generation_history*.jsonl*`)).toEqual([...records].sort());
    expect(await duckGlob(`${dir}/generation_history*.jsonl`)).toEqual(top.filter((f) => f.endsWith('.jsonl')).sort());
    expect(await duckGlob(`${dir}/generation_history*.jsonl.gz`)).toEqual(top.filter((f) => f.endsWith('.gz')).sort());
    expect(await duckGlob(`${dir}/archive/generation_history*.jsonl.gz`)).toEqual(archived.sort());
    // nor does any glob for JSONL in general find a cache or a tail
    expect((await duckGlob(`${dir}/**/*.jsonl*`)).filter((f) => f.includes('/state/') || f.includes('/set-aside/'))).toEqual([]);
  });

  it('the live file exists from the open on, and again right after rotate seals it', async () => {
    const dir = tmpDir('dc-names-');
    const live = path.join(dir, 'generation_history.jsonl');
    const clock = new ManualClock(Date.UTC(2025, 9, 5));
    const store = await openGenerationStore({ dataDir: dir, clock });
    expect(fs.readFileSync(live, 'utf8')).toBe('');
    await store.append([gen(1, '2025-10-05T00:00:00.000Z')]);
    await runRotation({ dataDir: dir, nowMs: Date.UTC(2025, 10, 2), gzipAfterMonths: 3, archiveAfterMonths: 6 });
    expect(fs.readFileSync(path.join(dir, 'generation_history_2025-10.jsonl'), 'utf8').split('\n')).toHaveLength(2);
    expect(fs.readFileSync(live, 'utf8')).toBe('');
    // a second rotate has nothing to seal and leaves the empty live file alone
    const ino = fs.statSync(live).ino;
    expect(await runRotation({ dataDir: dir, nowMs: Date.UTC(2025, 10, 2), gzipAfterMonths: 3, archiveAfterMonths: 6 })).toEqual([]);
    expect(fs.statSync(live).ino).toBe(ino);
    // the store writes on into the new live file and still knows the sealed record
    clock.set(Date.UTC(2025, 10, 3));
    expect(await store.append([gen(1, '2025-10-05T00:00:00.000Z'), gen(2, '2025-11-03T00:00:00.000Z')])).toMatchObject({ written: 1, duplicates: 1 });
    expect(fs.readFileSync(live, 'utf8').split('\n')).toHaveLength(2);
  });
});

/** Puts a data dir back under the names versions before issue 16 used. */
function toLegacyNames(dir: string): { tail: string; tailText: string } {
  const idx = path.join(dir, 'state', 'index');
  for (const n of fs.readdirSync(idx)) {
    const m = /^((?:archive__)?)generation-history((?:-\d{4}-\d{2})?)((?:\.gz)?)\.idx$/.exec(n);
    if (!m) continue;
    const month = m[2] ? `_${m[2].slice(1)}` : '';
    fs.renameSync(path.join(idx, n), path.join(idx, `${m[1]}generation_history${month}.jsonl${m[3]}.idx`));
  }
  const q = path.join(dir, 'set-aside');
  const [t] = fs.readdirSync(q);
  const stamp = /torn-tail-(.+)\.txt$/.exec(t!)![1]!;
  const tail = `generation_history.corrupt-${stamp}.jsonl`;
  const tailText = fs.readFileSync(path.join(q, t!), 'utf8');
  fs.renameSync(path.join(q, t!), path.join(dir, tail));
  fs.rmdirSync(q);
  // leftovers of killed writes under the old names
  fs.writeFileSync(path.join(dir, 'generation_history_2025-07.jsonl.gz.tmp'), zlib.gzipSync('{"partial'));
  fs.writeFileSync(path.join(idx, 'generation_history.jsonl.idx.4242.tmp'), '#idx1 ');
  return { tail, tailText };
}

describe('migration of data dirs written by older versions', () => {
  it('open renames caches and tails to the new names (the same files: no rebuild), and a second open changes nothing', async () => {
    const dir = await busyDataDir();
    const expected = tree(dir);
    const legacy = toLegacyNames(dir);
    const before = inodes(dir);
    expect(await duckGlob(`${dir}/**/generation_history*.jsonl*`)).toContain(path.join(dir, 'state/index/generation_history.jsonl.idx'));

    const store = await openGenerationStore({ dataDir: dir, clock: new ManualClock(NOW) });
    expect(tree(dir)).toEqual(expected);
    const after = inodes(dir);
    // every cache kept its inode: renamed, not rebuilt
    for (const [rel, ino] of before) {
      const m = /^state\/index\/((?:archive__)?)generation_history((?:_\d{4}-\d{2})?)\.jsonl((?:\.gz)?)\.idx$/.exec(rel);
      if (m) expect({ rel, ino: after.get(`state/index/${m[1]}generation-history${m[2]!.replace('_', '-')}${m[3]}.idx`) }).toEqual({ rel, ino });
    }
    const [tail] = fs.readdirSync(path.join(dir, 'set-aside'));
    expect(fs.statSync(path.join(dir, 'set-aside', tail!)).ino).toBe(before.get(legacy.tail));
    expect(fs.readFileSync(path.join(dir, 'set-aside', tail!), 'utf8')).toBe(legacy.tailText);
    // the store still knows every record
    expect(await store.append([gen(0, '2025-04-01T12:00:00.000Z'), gen(702, '2025-11-01T00:00:00.000Z')])).toMatchObject({ written: 0, duplicates: 2 });

    await openGenerationStore({ dataDir: dir, clock: new ManualClock(NOW) });
    expect(inodes(dir)).toEqual(after);
    expect(migrateLegacyNames(dir, 'generation_history.jsonl')).toEqual([]);
  });

  it('a migration cut short after any step is finished by the next open', async () => {
    const template = await busyDataDir();
    const expected = tree(template);
    toLegacyNames(template);
    // a run to the end counts the steps
    const reference = tmpDir('dc-names-ref-');
    fs.cpSync(template, reference, { recursive: true });
    let steps = 0;
    migrateLegacyNames(reference, 'generation_history.jsonl', () => void steps++);
    expect(steps).toBeGreaterThanOrEqual(8); // a tail, 2 leftovers, a cache per data file
    for (let k = 1; k <= steps; k++) {
      const dir = tmpDir('dc-names-cut-');
      fs.cpSync(template, dir, { recursive: true });
      let n = 0;
      expect(() =>
        migrateLegacyNames(dir, 'generation_history.jsonl', () => {
          if (++n === k) throw new Error('killed');
        }),
      ).toThrow('killed');
      // an old-named cache that is also under its new name (a cache rebuilt meanwhile) is dropped, not kept twice
      const store = await openGenerationStore({ dataDir: dir, clock: new ManualClock(NOW) });
      expect({ k, files: tree(dir) }).toEqual({ k, files: expected });
      expect(await store.append([gen(0, '2025-04-01T12:00:00.000Z')])).toMatchObject({ written: 0, duplicates: 1 });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
