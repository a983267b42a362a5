/**
 * A unit's rows handed on in chunks (unit-scan.ts, CHUNK_ROWS): a gzipped month is one unit of any size,
 * and its rows in one chunk were the scan's peak. However small the chunks, the scan, the figures and
 * the export are the same, on the main thread (TypeScript, jest) and on workers (compiled, dist/).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { analyze, exportRecords, filterFromFlags, loadDataset, select, type ScanOptions } from '../../src/query';
import { serializeRecord } from '../../src/schema/serialize';
import { CORRUPT_LINE, NOW, record, ROWS } from './fixture';

const DIST_QUERY = path.resolve(__dirname, '../../dist/src/query/index.js');

/**
 * 1,500 records gzipped (the stream hands on 64 KB at a time) and 2,400 plain (two 1 MiB reads and
 * more): the fixture's rows again under new ids, some revised or superseded across chunks, a corrupt line
 * in the middle of each file.
 */
function writeDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-chunks-'));
  const lines = (from: number, n: number): string => {
    const out: string[] = [];
    for (let i = from; i < from + n; i++) {
      const row = ROWS[i % ROWS.length]!;
      const id = 1000 + (i % 3 === 0 ? i - (i % 300) : i); // every third id again: revisions far apart
      const r = record({ ...row, id, rev: i, supersedes: i % 97 === 0 ? [1000 + i - 50] : [] });
      r.task.prompt = `${r.task.prompt} ${'x'.repeat(i % 700)}`;
      out.push(serializeRecord(r));
      if (i === from + Math.floor(n / 2)) out.push(CORRUPT_LINE.trimEnd());
    }
    return out.join('\n') + '\n';
  };
  fs.mkdirSync(path.join(dir, 'archive'));
  fs.writeFileSync(path.join(dir, 'archive', 'generation_history_2025-09.jsonl.gz'), zlib.gzipSync(lines(0, 1500)));
  fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), lines(1500, 2400));
  return dir;
}

type Query = typeof import('../../src/query');

/** What a user sees of a scan: its counts, the analysis and the export file. */
async function seen(q: Query, dir: string, opts: Partial<ScanOptions>): Promise<{ chunks: number; units: number; stats: unknown; analysis: string; exported: string }> {
  const ds = await q.loadDataset({ dataDirs: [dir], ...opts });
  const sel = q.select(ds, q.filterFromFlags({}, NOW));
  const output = path.join(dir, `export-${Math.random().toString(36).slice(2)}.jsonl`);
  await q.exportRecords(ds, sel, { output });
  const exported = fs.readFileSync(output, 'utf8');
  fs.rmSync(output);
  const out = { chunks: ds.chunks.length, units: ds.units.length, stats: ds.stats, analysis: JSON.stringify(q.analyze(ds, sel)), exported };
  ds.chunks.close();
  return out;
}

test('chunks of few rows give the same scan, figures and export, on the main thread and on workers', async () => {
  const dir = writeDataDir();
  try {
    const src: Query = { analyze, exportRecords, filterFromFlags, loadDataset, select } as Query;
    const whole = await seen(src, dir, { threads: 1 });
    expect(whole.chunks).toBe(2); // one a unit
    expect(whole.stats).toMatchObject({ records: 3900, corrupt: 2 });
    expect((whole.stats as { kept: number }).kept).toBeLessThan(3900);
    expect(whole.exported.split('\n').length - 1).toBe((whole.stats as { kept: number }).kept);
    const cut = await seen(src, dir, { threads: 1, chunkRows: 20 });
    expect(cut.chunks).toBeGreaterThan(20);
    expect(cut).toEqual({ ...whole, chunks: cut.chunks });
    // workers: units of 300 KB, so both threads take several, each cut into chunks
    const dist = require(DIST_QUERY) as Query;
    const threaded = await seen(dist, dir, { threads: 2, chunkRows: 20, chunkBytes: 300_000 });
    expect(threaded.units).toBeGreaterThan(6);
    expect(threaded.chunks).toBeGreaterThan(20);
    expect(threaded).toEqual({ ...whole, chunks: threaded.chunks, units: threaded.units });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
