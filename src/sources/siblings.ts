/**
 * The rotated copies of a log file that lie beside it, oldest first. Names recognised for `app-out.log`:
 * `app-out.log.1` (logrotate, bigger number = older), `app-out.log-20251112` (dateext),
 * `app-out__2025-11-12_21-30-00.log` (pm2-logrotate). Compressed ones are left to the backfill reader.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Sibling {
  path: string;
  st: fs.Stats;
}

const COMPRESSED = /\.(gz|bz2|xz|zst|zip)$/;

/** Rank among names with the same mtime: a numeric suffix counts down (`.2` is older than `.1`). */
function nameRank(name: string): number | null {
  const m = /\.(\d+)$/.exec(name);
  return m ? -Number(m[1]) : null;
}

function olderFirst(a: Sibling, b: Sibling): number {
  if (a.st.mtimeMs !== b.st.mtimeMs) return a.st.mtimeMs - b.st.mtimeMs;
  const ra = nameRank(path.basename(a.path));
  const rb = nameRank(path.basename(b.path));
  if (ra !== null && rb !== null) return ra - rb;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

export function isRotatedName(base: string, name: string): boolean {
  if (name === base || COMPRESSED.test(name)) return false;
  const ext = path.extname(base);
  const stem = ext ? base.slice(0, -ext.length) : base;
  return name.startsWith(`${base}.`) || name.startsWith(`${base}-`) || (name.startsWith(`${stem}__`) && name.endsWith(ext));
}

/** Rotated siblings of `file` (regular files only), oldest first. A missing directory gives none. */
export async function rotatedSiblings(file: string): Promise<Sibling[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const out: Sibling[] = [];
  for (const name of names) {
    if (!isRotatedName(base, name)) continue;
    const p = path.join(dir, name);
    try {
      const st = await fs.promises.stat(p);
      if (st.isFile()) out.push({ path: p, st });
    } catch {
      /* rotated away meanwhile */
    }
  }
  return out.sort(olderFirst);
}
