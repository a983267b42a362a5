/**
 * Reading every record under one or more data dirs, then keeping only what counts:
 * pass 1 (workers, one unit at a time) turns each line into a row of numbers; then the latest revision
 * of each generation id wins and ids named in any record's `provenance.supersedes` are dropped.
 * Ids are compared by a 64-bit hash held in typed arrays, never as strings (see docs/analysis.md).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { keepStreamingFlags } from '../common/streaming-flags';
import { workerScript } from '../common/worker-script';
import { BufferPool } from '../common/buffer-pool';
import { CollectorError } from '../common/errors';
import { planStillHolds, planUnits, type ScanUnit } from './files';
import { scanUnit, type UnitStats } from './unit-scan';
import { ChunkBuilder, type Chunk } from './columns';
import { ChunkFile } from './chunk-file';

export interface ScanOptions {
  dataDirs: string[];
  /** Threads that scan: the main thread and threads - 1 workers (default: 2; 1 when running from TypeScript sources, e.g. under jest, where no worker can start). */
  threads?: number;
  chunkBytes?: number;
  /** Called after each unit with the bytes planned and done (compressed size for .gz). */
  onProgress?: (done: number, total: number) => void;
  /** Called once a plan is made, before its files are read (tests put a `rotate` there). */
  onPlanned?: (units: ScanUnit[]) => Promise<void> | void;
  /** Rows whose ids one pass resolving revisions takes (default ROWS_PER_PASS; tests make it small). */
  rowsPerPass?: number;
  /** Rows a chunk holds (default CHUNK_ROWS, unit-scan.ts; tests make it small). */
  chunkRows?: number;
}

/** A `rotate` moves names at most a few times a run: a plan that keeps failing is something else. */
const MAX_PLANS = 5;

export interface ScanStats {
  files: number;
  lines: number;
  /** Lines that were records (any revision). */
  records: number;
  /** Lines that are not JSON. */
  corrupt: number;
  firstCorrupt: { file: string; line: number } | null;
  /** Lines that are JSON but no generation record, neither ours nor in the spec's schema. */
  notRecord: number;
  /** The first of them (1-based line) and the first field it lacks. */
  firstNotRecord: { file: string; line: number; missing: string } | null;
  /** Records (counted in `records`) read in the spec's own schema, their outcome derived (data/README.md). */
  specRecords: number;
  /** Rows dropped because a higher revision of the same id exists. */
  olderRevisions: number;
  /** Rows dropped because the same (id, revision) was read before (e.g. the same data synced twice). */
  duplicates: number;
  /** Latest revisions dropped because another record supersedes their id. */
  superseded: number;
  /** Generations that count. */
  kept: number;
}

export interface Dataset {
  units: ScanUnit[];
  results: UnitStats[];
  /** Each unit's rows, in unit order, read back one chunk at a time (see chunk-file.ts). */
  chunks: ChunkFile;
  /** Global row index of each chunk's first row. */
  offsets: number[];
  n: number;
  /** 1 for the rows that count (latest revision, not superseded, first copy). */
  keep: Uint8Array;
  stats: ScanStats;
}

function defaultThreads(): number {
  return workerScript(__dirname, 'worker.js') ? 2 : 1;
}

/**
 * A worker's young generation: what a scan allocates dies with its line (the parsed record), and V8
 * would grow it to 16 MB semi-spaces per worker; 3 MB keeps 14 MB per worker off the peak at the same
 * speed (bench/README.md, the analyze bench). Smaller was measured worse while each read allocated its
 * own 1 MiB buffer (those survived scavenges and were promoted); the reads now reuse theirs.
 */
const WORKER_YOUNG_MB = 3;

/**
 * Scans the units on `threads` threads: the main thread and `threads - 1` workers, each taking the
 * next unit as it is free. The main thread scans too rather than only waiting: one isolate fewer is
 * about 10 MB off the peak at the same speed (bench/README.md, the analyze bench).
 */
async function runUnits(units: ScanUnit[], threads: number, store: ChunkFile, progress: (u: ScanUnit) => void, rows?: number): Promise<UnitStats[]> {
  const results: UnitStats[] = new Array(units.length);
  // a chunk's buffer is one whose chunk is stored already; one per thread is all that can be in use at once
  const buffers = new BufferPool({ step: 2 ** 20, keep: threads });
  const take = (bytes: number): ArrayBuffer => buffers.take(bytes);
  // each chunk goes to the chunk file as it comes, and only the unit's counts stay
  const put = (id: number, chunk: Chunk): void => {
    store.put(id, chunk);
    buffers.give(chunk.idHi.buffer as ArrayBuffer);
  };
  const done = (id: number, stats: UnitStats): void => {
    results[id] = stats;
    progress(units[id]!);
  };
  let next = 0;
  const inMain = async (): Promise<void> => {
    const builder = new ChunkBuilder();
    while (next < units.length) {
      const id = next++;
      done(id, await scanUnit(units[id]!, { builder, alloc: take, put: (chunk) => put(id, chunk), rows }));
    }
  };
  const workers = Array.from({ length: Math.max(0, Math.min(threads - 1, units.length - 1)) }, () =>
    keepStreamingFlags(new Worker(path.join(__dirname, 'worker.js'), { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } })),
  );
  try {
    await Promise.all([
      inMain(),
      ...workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const give = (): void => {
              if (next >= units.length) return resolve();
              const id = next++;
              w.postMessage({ id, unit: units[id], rows });
            };
            w.on('message', (m: { id: number; result?: UnitStats; chunk?: Chunk; error?: string; need?: number }) => {
              if (m.error !== undefined) return reject(new Error(`${units[m.id]!.file}: ${m.error}`));
              if (m.need !== undefined) {
                // the chunk's buffer is allocated here, in the main thread's arena (see ChunkBuilder)
                const buffer = take(m.need);
                return w.postMessage({ id: m.id, buffer }, [buffer]);
              }
              if (m.chunk) return put(m.id, m.chunk);
              done(m.id, m.result!);
              give();
            });
            w.on('error', reject);
            give();
          }),
      ),
    ]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

export async function loadDataset(opts: ScanOptions): Promise<Dataset> {
  for (let plan = 1; ; plan++) {
    const units = planUnits(opts.dataDirs, opts.chunkBytes);
    await opts.onPlanned?.(units);
    let results: UnitStats[] | null = null;
    const store = new ChunkFile();
    try {
      results = await scanPlan(units, store, opts);
    } catch (err) {
      store.close();
      // a file that vanished under us: plan again; any other failure is reported
      if (planStillHolds(units)) throw err;
    }
    if (results && planStillHolds(units)) return build(units, results, store, opts.rowsPerPass);
    store.close();
    if (plan === MAX_PLANS)
      throw new CollectorError(
        'UNKNOWN',
        `the data files kept changing while they were read (${MAX_PLANS} plans)`,
        opts.dataDirs.join(', '),
        'run it again once rotate is done',
      );
  }
}

function scanPlan(units: ScanUnit[], store: ChunkFile, opts: ScanOptions): Promise<UnitStats[]> {
  const unitBytes = (u: ScanUnit): number => (u.gz ? u.size : u.end - u.start);
  const total = units.reduce((s, u) => s + unitBytes(u), 0);
  let done = 0;
  return runUnits(
    units,
    opts.threads ?? defaultThreads(),
    store,
    (u) => {
      done += unitBytes(u);
      opts.onProgress?.(done, total);
    },
    opts.chunkRows,
  );
}

function build(units: ScanUnit[], results: UnitStats[], chunks: ChunkFile, rowsPerPass?: number): Dataset {
  const offsets: number[] = [];
  let n = 0;
  for (let k = 0; k < chunks.length; k++) {
    offsets.push(n);
    n += chunks.meta(k).n;
  }
  const stats: ScanStats = {
    files: new Set(units.map((u) => u.file)).size,
    lines: 0,
    records: n,
    corrupt: 0,
    firstCorrupt: null,
    notRecord: 0,
    firstNotRecord: null,
    specRecords: 0,
    olderRevisions: 0,
    duplicates: 0,
    superseded: 0,
    kept: 0,
  };
  let linesBefore = 0; // lines of the earlier units of the same file
  units.forEach((u, k) => {
    if (k > 0 && units[k - 1]!.file !== u.file) linesBefore = 0;
    const r = results[k]!;
    stats.lines += r.lines;
    stats.corrupt += r.corrupt;
    if (stats.firstCorrupt === null && r.firstCorrupt !== null) stats.firstCorrupt = { file: u.file, line: linesBefore + r.firstCorrupt + 1 };
    stats.notRecord += r.notRecord;
    stats.specRecords += r.spec;
    if (stats.firstNotRecord === null && r.firstNotRecord !== null)
      stats.firstNotRecord = { file: u.file, line: linesBefore + r.firstNotRecord.line + 1, missing: r.firstNotRecord.missing };
    linesBefore += r.lines;
  });
  const keep = resolve(chunks, n, stats, rowsPerPass);
  return { units, results, chunks, offsets, n, keep, stats };
}

/** Rows whose ids one pass of `resolve` takes: its table is then 16 MiB at most (16 bytes a slot, 2^20 slots). */
const ROWS_PER_PASS = 750_000;

/**
 * Latest revision per id: an open-addressing table of the best row per id hash (capacity a power of two
 * at load <= 3/4, 16 bytes a slot: the hash, the row and its revision). The ids are split by their hash
 * into parts of about ROWS_PER_PASS rows, one pass over the chunks each, so the table stays the same
 * size however many records there are (3 million: four passes, each a read from the page cache).
 */
function resolve(chunks: ChunkFile, n: number, stats: ScanStats, rowsPerPass = ROWS_PER_PASS): Uint8Array {
  const parts = Math.max(1, Math.ceil(n / rowsPerPass));
  const keep = new Uint8Array(n);
  const gone = new Set<string>();
  for (let k = 0; k < chunks.length; k++) {
    const sup = chunks.meta(k).superseded;
    for (let j = 0; j + 1 < sup.length; j += 2) gone.add(`${sup[j]}:${sup[j + 1]}`);
  }
  let cap = 4;
  while (cap * 3 < Math.ceil(n / parts) * 4) cap *= 2;
  let table = new IdTable(cap);
  for (let part = 0; part < parts; part++) {
    table.clear();
    let g = 0;
    // the ids and revisions alone are read (12 bytes a row, not the chunk's 120)
    chunks.forEachColumns([{ col: 'idHi' }, { col: 'idLo' }, { col: 'rev' }], ([idHi, idLo, rev], _, n) => {
      for (let i = 0; i < n; i++, g++) {
        const h = idHi![i]!;
        if (h % parts !== part) continue;
        // a part may hold more ids than the average: the table grows rather than overfill
        if (table.full()) table = table.grown();
        const s = table.slotOf(h, idLo![i]!);
        if (table.best[s] === -1) {
          table.take(s, h, idLo![i]!, g, rev![i]!);
          continue;
        }
        const r = rev![i]!;
        const kept = table.rev[s]!;
        if (r > kept) {
          table.best[s] = g;
          table.rev[s] = r;
          stats.olderRevisions++;
        } else if (r === kept) stats.duplicates++;
        else stats.olderRevisions++;
      }
    });
    for (let s = 0; s < table.cap; s++) {
      const b = table.best[s]!;
      if (b === -1) continue;
      if (gone.has(`${table.hi[s]}:${table.lo[s]}`)) stats.superseded++;
      else {
        keep[b] = 1;
        stats.kept++;
      }
    }
  }
  return keep;
}

/** resolve's table: per slot an id hash, the best row so far (-1: empty) and its revision. */
class IdTable {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly best: Int32Array;
  readonly rev: Uint32Array;
  private used = 0;

  constructor(readonly cap: number) {
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.best = new Int32Array(cap).fill(-1);
    this.rev = new Uint32Array(cap);
  }

  clear(): void {
    this.best.fill(-1);
    this.used = 0;
  }

  full(): boolean {
    return (this.used + 1) * 4 > this.cap * 3;
  }

  /** The slot of id (h, l): its own, or the empty one where it goes. */
  slotOf(h: number, l: number): number {
    const mask = this.cap - 1;
    let s = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
    while (this.best[s] !== -1 && (this.hi[s] !== h || this.lo[s] !== l)) s = (s + 1) & mask;
    return s;
  }

  take(s: number, h: number, l: number, row: number, rev: number): void {
    this.hi[s] = h;
    this.lo[s] = l;
    this.best[s] = row;
    this.rev[s] = rev;
    this.used++;
  }

  /** The same entries in a table twice the size. */
  grown(): IdTable {
    const t = new IdTable(this.cap * 2);
    for (let s = 0; s < this.cap; s++) if (this.best[s] !== -1) t.take(t.slotOf(this.hi[s]!, this.lo[s]!), this.hi[s]!, this.lo[s]!, this.best[s]!, this.rev[s]!);
    return t;
  }
}
