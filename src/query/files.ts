/**
 * Which files hold generation records: the live `generation_history.jsonl`, the monthly
 * `generation_history_YYYY-MM.jsonl[.gz]` beside it and in `archive/`: the files the record globs of
 * docs/duckdb.md match (nothing else has such a name: sinks/names.ts). Plain files are cut into byte
 * ranges so both cores can work on one big file; a `.gz` file is one unit (gzip cannot be entered in the middle).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CollectorError } from '../common/errors';
import { sealedFilesOf } from '../sinks/names';

export const LIVE_FILE = 'generation_history.jsonl';
const BASE = 'generation_history';

/** A piece of work: the lines of `file` whose first byte lies in [start, end). */
export interface ScanUnit {
  file: string;
  dataDir: string;
  gz: boolean;
  start: number;
  /** Exclusive; the file's size when the scan was planned (for .gz: Infinity). */
  end: number;
  /** The file's size at planning time: lines past it (appended meanwhile) are left out of both passes. */
  size: number;
  /** The file's inode at planning time: a `rotate` that moved the name on shows as another inode or none. */
  ino: number;
}

/** The data files of one data dir, oldest first: archive/, then monthly files, then the live file. */
export function dataFiles(dataDir: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch {
    throw new CollectorError('NOT_A_DIRECTORY', 'no such data dir', dataDir, 'give an existing --data-dir');
  }
  if (!st.isDirectory()) throw new CollectorError('NOT_A_DIRECTORY', 'not a directory', dataDir, 'give a data dir');
  const out = sealedFilesOf(dataDir, BASE);
  const live = path.join(dataDir, LIVE_FILE);
  if (fs.existsSync(live)) out.push(live);
  return out;
}

/** Units for every data dir, in dir order then file order; `chunkBytes` bounds a plain file's unit. */
export function planUnits(dataDirs: string[], chunkBytes = 64 << 20): ScanUnit[] {
  const units: ScanUnit[] = [];
  const seen = new Set<string>();
  for (const dir of dataDirs) {
    const dataDir = path.resolve(dir);
    for (const file of dataFiles(dataDir)) {
      if (seen.has(file)) continue; // the same dir given twice
      seen.add(file);
      const { size, ino } = fs.statSync(file);
      if (file.endsWith('.gz')) {
        units.push({ file, dataDir, gz: true, start: 0, end: Infinity, size, ino });
        continue;
      }
      for (let s = 0; s < size || s === 0; s += chunkBytes) {
        units.push({ file, dataDir, gz: false, start: s, end: Math.min(size, s + chunkBytes), size, ino });
        if (size === 0) break;
      }
    }
  }
  return units;
}

/**
 * Whether every planned file is still the file it was (same name, same inode): a `rotate` between the
 * listing and the reading (seal, gzip, archive) moves records to another name, so the plan must be
 * made again (docs/storage.md, "Order of names, and readers").
 */
export function planStillHolds(units: readonly ScanUnit[]): boolean {
  const checked = new Map<string, boolean>();
  for (const u of units) {
    if (!checked.has(u.file)) {
      let same = false;
      try {
        same = fs.statSync(u.file).ino === u.ino;
      } catch {
        /* gone */
      }
      checked.set(u.file, same);
    }
    if (!checked.get(u.file)) return false;
  }
  return true;
}
