/**
 * `data-collector import`: brings a spec system's generation_history*.jsonl[.gz] into a data dir through
 * the generation store (which drops what it already has), its images and PLYs into the blob store.
 * Each line goes: JSON -> fromSpecRecord (the same reading analyze uses) -> known id? -> blobs planned
 * (found, hashed) -> our schema -> written (or, with --dry-run, only counted).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { sha256OfFile } from '../common/fsx';
import { fromSpecRecord, formatIssues, GenerationRecordSchema, hasOwnShapeKeys, type GenerationRecord } from '../schema';
import { BlobStore, openGenerationStore, type JsonlStore } from '../sinks';
import { parseMonthlyName } from '../sinks/rotation';
import { linesWithOffsets } from '../common/lines';
import { imageExtension } from '../common/image-type';
import { CollectorError } from '../common/errors';
import { dataFiles, loadDataset } from '../query';
import { hashId } from '../query/columns';
import { VERSION } from '../version';
import { parseFlags, UsageError, type Command } from './command';
import { configFromFlags } from './flags';
import { processIo, type CliIo } from './io';
import { jsonDocument } from './format';

const HELP = `Usage: data-collector import FILE|DIR... [--data-dir DIR] [--dry-run] [--host NAME] [--miner-app NAME] [--json]

Brings the records of a system that followed the spec (its Python logger's generation_history.jsonl,
generation_history_YYYY-MM.jsonl and their .jsonl.gz forms) into a data dir, through the same store
the collector writes with. A DIR stands for its generation_history files (archive/ included).
Files are read oldest month first, the live file last.

Each record in the spec's schema is read as analyze reads it (its outcome derived: data/README.md,
"Records in the spec's schema"), keeps its generation_id, and is written with
provenance.sources = [{"event": "spec_record_imported", "file": FILE, "offset": its byte offset}].
Its image (task.image_file_path) and PLY (generation.output.ply_file_path), resolved against the
FILE's directory (for a file in archive/, also its parent), are copied into the data dir's images/
and ply_files/ and the record points at the copies; a file not found leaves the record's path and
hash as they were (when they fit our schema) and adds provenance.blobs_skipped {reason "missing"};
a PLY whose bytes do not match the record's ply_file_hash is not copied (reason "changed").

A generation_id already in the data dir (or earlier in the input) is a duplicate and is skipped, so
running import twice imports nothing new. Lines that are not JSON (corrupt), JSON that is no record,
records already in our schema (not imported: read such a data dir with --data-dir instead) and
records our schema refuses are counted, with the first position of each.

Flags:
  --data-dir DIR      where to import to (default: the config's, else ./data)
  --dry-run           read everything, write nothing: what would be imported, duplicates, not-a-record
                      lines, images and PLYs found / not found
  --host NAME         metadata.host of the imported records (default: this machine's host name)
  --miner-app NAME    metadata.miner_app (default: the config's miner.pm2App)
  --json              the summary as JSON
  --config FILE       the collector's config

Exit status: 0 ok (also when everything was a duplicate), 1 a file cannot be read or nothing in the
files could be read as a record (only corrupt or not-a-record lines), 2 usage error.
`;

const IMPORT_FLAGS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  'dry-run': { type: 'boolean' },
  host: { type: 'string' },
  'miner-app': { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Position = { file: string; line: number };

export interface ImportSummary {
  dry_run: boolean;
  data_dir: string;
  files: string[];
  lines: number;
  /** Records in the spec's schema read. */
  records: number;
  /** Written (with --dry-run: would be). */
  imported: number;
  duplicates: number;
  refused: number;
  first_refused: (Position & { error: string }) | null;
  corrupt: number;
  first_corrupt: Position | null;
  not_record: number;
  first_not_record: (Position & { missing: string }) | null;
  /** Lines already in our schema: not imported. */
  own_records: number;
  images: { found: number; missing: number };
  plys: { found: number; missing: number; changed: number };
}

const IMAGE_PATH = /^images\/[0-9a-f]{64}\.[a-z0-9]+$/;
const PLY_PATH = /^ply_files\/[^/]+\.ply$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BATCH = 500;

/** The files to read: a DIR stands for its generation_history files; oldest month first, live files last. */
export function importFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch {
      throw new UsageError(`import: no such file: ${a}`);
    }
    out.push(...(st.isDirectory() ? dataFiles(a) : [a]).map((f) => path.resolve(f)));
  }
  const month = (f: string): string => parseMonthlyName(path.basename(f))?.month ?? '9999-99';
  return [...new Set(out)].map((f, i) => ({ f, i })).sort((x, y) => month(x.f).localeCompare(month(y.f)) || x.i - y.i).map((x) => x.f);
}

function firstExisting(rel: string, dirs: string[]): string | null {
  for (const d of dirs) {
    const p = path.resolve(d, rel);
    try {
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** What to copy for one record once it is known to be valid. */
interface BlobPlan {
  image: Buffer | null;
  ply: { file: string; hex: string } | null;
  /** Counted into the summary only for records that are written. */
  tally: { image?: 'found' | 'missing'; ply?: 'found' | 'missing' | 'changed' };
}

/**
 * Finds the record's image and PLY next to its source file, points the record at the copies they will
 * have, or notes in provenance what was not found (keeping path and hash when they fit our schema).
 */
async function planBlobs(r: GenerationRecord, dirs: string[]): Promise<BlobPlan> {
  const plan: BlobPlan = { image: null, ply: null, tally: {} };
  const p = r.provenance;
  const keepOrDrop = (value: string | null, pattern: RegExp, field: string): string | null => {
    if (value === null || pattern.test(value)) return value;
    p.incomplete = true;
    p.incomplete_reasons.push(`spec_value_not_kept:${field}`);
    return null;
  };
  const imageRel = r.task.image_file_path;
  if (imageRel !== null) {
    const found = firstExisting(imageRel, dirs);
    if (found) {
      const bytes = fs.readFileSync(found);
      const hex = createHash('sha256').update(bytes).digest('hex');
      plan.image = bytes;
      r.task.image_file_path = `images/${hex}.${imageExtension(bytes)}`;
      r.task.base64_image_hash ??= `sha256:${hex}`;
      plan.tally.image = 'found';
    } else {
      plan.tally.image = 'missing';
      r.task.image_file_path = keepOrDrop(imageRel, IMAGE_PATH, 'task.image_file_path');
      p.blobs_skipped.push({ kind: 'image', reason: 'missing', hash: r.task.base64_image_hash });
    }
  }
  const out = r.generation.output;
  const plyRel = out.ply_file_path;
  if (plyRel !== null) {
    const found = firstExisting(plyRel, dirs);
    const hex = found ? await sha256OfFile(found) : null;
    if (found && hex && (out.ply_file_hash === null || out.ply_file_hash === `sha256:${hex}`) && UUID.test(r.metadata.generation_id)) {
      plan.ply = { file: found, hex };
      out.ply_file_path = `ply_files/${r.metadata.generation_id}_${hex}.ply`;
      out.ply_file_hash = `sha256:${hex}`;
      plan.tally.ply = 'found';
    } else {
      const changed = found !== null && hex !== null && out.ply_file_hash !== `sha256:${hex}`;
      plan.tally.ply = changed ? 'changed' : 'missing';
      out.ply_file_path = keepOrDrop(plyRel, PLY_PATH, 'generation.output.ply_file_path');
      p.blobs_skipped.push({ kind: 'ply', reason: changed ? 'changed' : 'missing', hash: out.ply_file_hash });
    }
  }
  return plan;
}

export interface ImportOptions {
  files: string[];
  dataDir: string;
  dryRun: boolean;
  host: string;
  minerApp: string;
  threads?: number;
}

export async function importSpecFiles(opts: ImportOptions): Promise<ImportSummary> {
  const s: ImportSummary = {
    dry_run: opts.dryRun,
    data_dir: path.resolve(opts.dataDir),
    files: opts.files,
    lines: 0,
    records: 0,
    imported: 0,
    duplicates: 0,
    refused: 0,
    first_refused: null,
    corrupt: 0,
    first_corrupt: null,
    not_record: 0,
    first_not_record: null,
    own_records: 0,
    images: { found: 0, missing: 0 },
    plys: { found: 0, missing: 0, changed: 0 },
  };
  // what the data dir holds: the store's index, or (dry run, which must not even create the dir) a scan
  let store: JsonlStore<GenerationRecord> | null = null;
  let blobs: BlobStore | null = null;
  let known: (id: string) => boolean;
  if (opts.dryRun) {
    const have = new Set<string>();
    if (fs.existsSync(opts.dataDir)) {
      const ds = await loadDataset({ dataDirs: [opts.dataDir], threads: opts.threads });
      ds.chunks.forEachColumns([{ col: 'idHi' }, { col: 'idLo' }], ([hi, lo], _, n) => {
        for (let i = 0; i < n; i++) have.add(`${hi![i]}:${lo![i]}`);
      });
    }
    known = (id) => have.has(hashId(id).join(':'));
  } else {
    store = await openGenerationStore({ dataDir: opts.dataDir });
    blobs = new BlobStore(opts.dataDir);
    const st = store;
    known = (id) => st.latest(id) !== undefined;
  }
  const seen = new Set<string>();
  let batch: GenerationRecord[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    if (store) {
      const res = await store.append(batch);
      s.imported += res.written;
      s.duplicates += res.duplicates;
      s.refused += res.invalid.length;
    } else s.imported += batch.length;
    batch = [];
  };

  for (const file of opts.files) {
    const dirs = [path.dirname(file)];
    if (path.basename(dirs[0]!) === 'archive') dirs.push(path.dirname(dirs[0]!));
    let lineNo = 0;
    try {
      for await (const { line, offset } of linesWithOffsets(file)) {
        lineNo++;
        s.lines++;
        const text = line.toString('utf8');
        if (text.trim() === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          s.corrupt++;
          s.first_corrupt ??= { file, line: lineNo };
          continue;
        }
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && hasOwnShapeKeys(parsed as Record<string, unknown>)) {
          s.own_records++;
          continue;
        }
        const r = fromSpecRecord(parsed, { host: opts.host, minerApp: opts.minerApp, collectorVersion: VERSION });
        if ('notRecord' in r) {
          s.not_record++;
          s.first_not_record ??= { file, line: lineNo, missing: r.notRecord };
          continue;
        }
        s.records++;
        const id = r.metadata.generation_id;
        if (seen.has(id) || known(id)) {
          s.duplicates++;
          continue;
        }
        r.provenance.sources = [{ event: 'spec_record_imported', file, offset }];
        const plan = await planBlobs(r, dirs);
        const valid = GenerationRecordSchema.safeParse(r);
        if (!valid.success) {
          s.refused++;
          s.first_refused ??= { file, line: lineNo, error: formatIssues(valid.error) };
          continue;
        }
        seen.add(id);
        if (plan.tally.image) s.images[plan.tally.image]++;
        if (plan.tally.ply) s.plys[plan.tally.ply]++;
        if (blobs) {
          if (plan.image) blobs.putImage(plan.image);
          if (plan.ply) await blobs.putPly(id, plan.ply.file, plan.ply.hex);
        }
        batch.push(r);
        if (batch.length >= BATCH) await flush();
      }
    } catch (err) {
      if (err instanceof CollectorError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new CollectorError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'UNKNOWN', `cannot read the file: ${e.message}`, file, 'check the file (a .gz must be whole)');
    }
  }
  await flush();
  return s;
}

const int = (n: number): string => n.toLocaleString('en-US');
const at = (p: Position | null, extra = ''): string => (p ? ` (first at ${p.file}:${p.line}${extra})` : '');

export function renderImportSummary(s: ImportSummary): string {
  const verb = s.dry_run ? 'would be imported' : 'imported';
  return [
    `import${s.dry_run ? ' --dry-run (nothing written)' : ''}: ${s.files.length} file${s.files.length === 1 ? '' : 's'}, ${int(s.lines)} lines into ${s.data_dir}`,
    `Records in the spec's schema: ${int(s.records)}: ${int(s.imported)} ${verb}, ${int(s.duplicates)} duplicates (already stored or earlier in the input), ` +
      `${int(s.refused)} refused by the schema${at(s.first_refused, s.first_refused ? `: ${s.first_refused.error}` : '')}`,
    `Images: ${int(s.images.found)} found${s.dry_run ? '' : ' and copied'}, ${int(s.images.missing)} not found; ` +
      `PLYs: ${int(s.plys.found)} found${s.dry_run ? '' : ' and copied'}, ${int(s.plys.missing)} not found, ${int(s.plys.changed)} not matching their hash`,
    `Corrupt lines skipped: ${int(s.corrupt)}${at(s.first_corrupt)}`,
    `Not-a-record lines skipped: ${int(s.not_record)}${at(s.first_not_record, s.first_not_record ? `, missing ${s.first_not_record.missing}` : '')}`,
    ...(s.own_records ? [`Records already in our schema, not imported: ${int(s.own_records)} (read their data dir with --data-dir)`] : []),
    '',
  ].join('\n');
}

export async function runImport(args: string[], io: CliIo = processIo): Promise<number> {
  const { values, positionals } = parseFlags('import', args, IMPORT_FLAGS, true);
  if (positionals.length === 0) throw new UsageError('import: give at least one FILE (or the spec data dir)');
  const config = configFromFlags({ config: values.config, 'data-dir': values['data-dir'] });
  const files = importFiles(positionals);
  // the store appends to the data dir's live file: reading one of its own files would read its own writes
  const own = fs.existsSync(config.dataDir) ? new Set(dataFiles(config.dataDir).map((f) => fs.realpathSync(f))) : new Set<string>();
  const clash = files.find((f) => own.has(fs.realpathSync(f)));
  if (clash) throw new UsageError(`import: ${clash} is a data file of the target data dir; analyze and export read it in place (or import into another --data-dir)`);
  const s = await importSpecFiles({
    files,
    dataDir: config.dataDir,
    dryRun: Boolean(values['dry-run']),
    host: values.host ?? os.hostname(),
    minerApp: values['miner-app'] ?? config.miner.pm2App,
    threads: io.threads,
  });
  io.stdout(values.json ? jsonDocument(s) : renderImportSummary(s));
  return s.records === 0 && (s.corrupt > 0 || s.not_record > 0) ? 1 : 0;
}

export const importCommand: Command = {
  help: HELP,
  run: (args) => runImport(args),
};
