/**
 * Names of the files the collector keeps beside its records (issue 16). Users read a data dir with
 * globs such as `generation_history*.jsonl`, `archive/generation_history*.jsonl.gz` or
 * `**\/generation_history*.jsonl*` (DuckDB, Spark, zcat): those must match record files and nothing
 * else. So no cache, set-aside tail or temporary file has a name that starts with a record file's
 * base or contains `.jsonl`:
 * - the id index cache of `archive/generation_history_2025-04.jsonl.gz` is
 *   `state/index/archive__generation-history-2025-04.gz.idx`;
 * - a torn tail is set aside as `set-aside/generation-history.torn-tail-<time>.txt`;
 * - rotation writes `generation-history-2025-07.gz.tmp` before renaming it to `generation_history_2025-07.jsonl.gz`.
 * `migrateLegacyNames` renames what older versions left under the old names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir, fsyncDir } from '../common/fsx';

/** Where torn tails go: not records, kept for a human to look at. */
export const SET_ASIDE_DIR = 'set-aside';

/** A data file's name without `.jsonl` and with `-` for `_`: `generation_history_2025-10.jsonl.gz` -> `generation-history-2025-10.gz`. */
export function tagOfName(name: string): string {
  return name.replace(/\.jsonl(?=(\.gz)?$)/, '').replace(/_/g, '-');
}

/** A data file's tag, its folders in front: `archive__generation-history-2025-04.gz`. */
export function tagOf(dataDir: string, file: string): string {
  const parts = path.relative(dataDir, file).split(path.sep);
  parts[parts.length - 1] = tagOfName(parts[parts.length - 1]!);
  return parts.join('__');
}

/** The id index's cache file for a data file (id-index.ts). */
export function indexCacheFor(dataDir: string, file: string): string {
  return path.join(dataDir, 'state', 'index', `${tagOf(dataDir, file)}.idx`);
}

/** The file a rotation step writes before renaming it to `target` (same folder, so the rename is atomic). */
export function rotationTmpFor(target: string): string {
  return path.join(path.dirname(target), `${tagOfName(path.basename(target))}.tmp`);
}

/** `set-aside/<kind>.torn-tail-<stamp>[-n].txt` for the live file `fileName` (`generation_history.jsonl`). */
export function tornTailFile(dataDir: string, fileName: string, stamp: string, n = 0): string {
  return path.join(dataDir, SET_ASIDE_DIR, `${tagOfName(fileName)}.torn-tail-${stamp}${n ? `-${n}` : ''}.txt`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export interface Migrated {
  from: string;
  to: string | null;
}

/**
 * Renames what versions before issue 16 left under names the record globs match, for the store of
 * `fileName` (call under its append lock):
 * - `<base>.corrupt-<stamp>.jsonl` (torn tails) -> `set-aside/<kind>.torn-tail-<stamp>.txt`;
 * - `state/index/[<dir>__]<base>[_YYYY-MM].jsonl[.gz].idx` -> the cache's new name (removed instead when
 *   the new name exists: that one is the newer);
 * - leftovers of killed writes under old names (`*.idx[.<pid>].tmp`, rotation's `<target>.tmp`) are removed:
 *   incomplete by definition, and the writers that make them hold this lock.
 * Each step is one rename or removal, so a run killed anywhere is finished by the next open; a run with
 * nothing left to do changes nothing. `point` is called after each step (tests stop there). Returns what it did.
 */
export function migrateLegacyNames(dataDir: string, fileName: string, point: (what: string) => void = () => {}): Migrated[] {
  const base = fileName.replace(/\.jsonl$/, '');
  const b = escape(base);
  const done: Migrated[] = [];

  // torn tails
  const tail = new RegExp(`^${b}\\.corrupt-(.+)\\.jsonl$`);
  const tails = list(dataDir).filter((n) => tail.test(n));
  if (tails.length) {
    const q = path.join(dataDir, SET_ASIDE_DIR);
    if (!fs.existsSync(q)) {
      ensureDir(q);
      fsyncDir(dataDir);
    }
    for (const n of tails) {
      const stamp = tail.exec(n)![1]!;
      let to = tornTailFile(dataDir, fileName, stamp);
      for (let k = 1; fs.existsSync(to); k++) to = tornTailFile(dataDir, fileName, stamp, k);
      fs.renameSync(path.join(dataDir, n), to);
      done.push({ from: path.join(dataDir, n), to });
      point('tail renamed');
    }
    fsyncDir(q);
    fsyncDir(dataDir);
  }

  // id index caches
  const indexDir = path.join(dataDir, 'state', 'index');
  const cache = new RegExp(`^((?:[^/]+__)?)(${b}(?:_\\d{4}-\\d{2})?\\.jsonl(?:\\.gz)?)\\.idx((?:\\.\\d+)?\\.tmp)?$`);
  let renamed = false;
  for (const n of list(indexDir)) {
    const m = cache.exec(n);
    if (!m) continue;
    const from = path.join(indexDir, n);
    if (m[3]) {
      fs.rmSync(from, { force: true });
      done.push({ from, to: null });
      point('tmp removed');
      continue;
    }
    const to = path.join(indexDir, `${m[1]}${tagOfName(m[2]!)}.idx`);
    if (fs.existsSync(to)) {
      fs.rmSync(from, { force: true });
      done.push({ from, to: null });
    } else {
      fs.renameSync(from, to);
      done.push({ from, to });
    }
    renamed = true;
    point('cache renamed');
  }
  if (renamed) fsyncDir(indexDir);

  // rotation's temporary files under their old names
  const tmp = new RegExp(`^${b}_\\d{4}-\\d{2}\\.jsonl(?:\\.gz)?\\.tmp$`);
  for (const dir of [dataDir, path.join(dataDir, 'archive')])
    for (const n of list(dir).filter((x) => tmp.test(x))) {
      fs.rmSync(path.join(dir, n), { force: true });
      done.push({ from: path.join(dir, n), to: null });
      point('tmp removed');
    }
  return done;
}

/** `generation_history` -> monthly `generation_history_2025-11.jsonl[.gz]`, here or in archive/. */
export function sealedFilePattern(base: string): RegExp {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}_\\d{4}-\\d{2}\\.jsonl(\\.gz)?$`);
}

/** The sealed files of `<base>` in a data dir, oldest first: `archive/` then the dir itself, each by name. */
export function sealedFilesOf(dataDir: string, base: string): string[] {
  const pattern = sealedFilePattern(base);
  const out: string[] = [];
  for (const dir of [path.join(dataDir, 'archive'), dataDir]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) if (pattern.test(n)) out.push(path.join(dir, n));
  }
  return out;
}
