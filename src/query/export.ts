/**
 * Export pass: reads again only the units holding selected rows, and writes each selected line as it
 * was stored plus an `export` object (absolute file paths, what is missing), through `<output>.tmp`
 * renamed at the end, so an export is whole or absent. A line in the spec's own schema is written as
 * read into ours (fromSpecRecord: outcome derived, our keys added, provenance.sources naming the line).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CollectorError, fromFsError } from '../common/errors';
import { sha256OfFileSync } from '../common/fsx';
import { fromSpecRecord } from '../schema/spec-record';
import type { GenerationRecord } from '../schema';
import { VERSION } from '../version';
import { F_SPEC } from './columns';
import type { Dataset } from './dataset';
import { readUnitLines } from './lines';

export interface ExportOptions {
  output: string;
  /** Drop records whose image (IMAGE-TO-3D) or PLY file is not on disk, instead of keeping them. */
  requireFiles?: boolean;
  /** Competition mode: one training pair per judged generation instead of the record (see DuelPair). */
  pairs?: boolean;
}

/** A judged competition generation as a training pair: the prompt, the miner's output and the opponent's. */
export interface DuelPair {
  generation_id: string;
  competition: string | null;
  round: number | null;
  stem: string;
  prompt_url: string | null;
  seed: number | null;
  /** The output file as the generation wrote it, when it still holds the same bytes (absolute). */
  output_path: string | null;
  /** The kept copy in the data dir (ply_files/), when one was kept. */
  kept_path: string | null;
  output_hash: string | null;
  output_url: string | null;
  opponent: string;
  opponent_output_url: string | null;
  winner: 'miner' | 'opponent' | 'draw';
  issues: string | null;
}

function pairOf(r: GenerationRecord, files: ExportFields): DuelPair | null {
  const c = r.competition;
  if (!c?.duel || c.stem === null) return null;
  return {
    generation_id: r.metadata.generation_id,
    competition: c.name,
    round: c.round,
    stem: c.stem,
    prompt_url: c.prompt_url,
    seed: c.seed,
    output_path: files.output_path,
    kept_path: files.ply_path,
    output_hash: c.output_hash,
    output_url: c.duel.miner_output_url ?? c.submitted?.output_url ?? null,
    opponent: c.duel.opponent,
    opponent_output_url: c.duel.opponent_output_url,
    winner: c.duel.winner,
    issues: c.duel.issues,
  };
}

export interface ExportSummary {
  output: string;
  selected: number;
  written: number;
  /** --pairs: selected records with no duel (not written). */
  not_judged: number;
  /** Selected records with a missing image (IMAGE-TO-3D only) or PLY file. */
  missing_files: { records: number; image: number; ply: number; dropped: number; examples: { generation_id: string; missing: string[] }[] };
  by_task_type: Record<string, number>;
  score: { min: number; max: number } | null;
}

export interface ExportFields {
  data_dir: string;
  image_path: string | null;
  ply_path: string | null;
  /** Competition mode: the output file where the generation wrote it, when it still holds the bytes that were judged (output_hash). */
  output_path: string | null;
  missing: ('image' | 'ply')[];
}

/** Whether `file` still holds the bytes of `hash` (`sha256:<hex>`). */
function sameBytes(file: string, hash: string): boolean {
  try {
    return `sha256:${sha256OfFileSync(file)}` === hash;
  } catch {
    return false;
  }
}

function filesOf(r: GenerationRecord, dataDir: string): ExportFields {
  const abs = (p: string | null | undefined): string | null => (p ? path.join(dataDir, p) : null);
  const image = abs(r.task.image_file_path);
  const ply = abs(r.generation.output.ply_file_path);
  const missing: ('image' | 'ply')[] = [];
  const c = r.competition;
  // a competition prompt is an image URL (competition.prompt_url), never stored here
  if (r.task.task_type === 'IMAGE-TO-3D' && !c && !(image && fs.existsSync(image))) missing.push('image');
  const plyPath = ply && fs.existsSync(ply) ? ply : null;
  // the driver writes a carry-over prompt's file again next round: only the bytes that were judged count
  const output = c?.output_file && c.output_hash && sameBytes(c.output_file, c.output_hash) ? c.output_file : null;
  if (!plyPath && !output) missing.push('ply');
  return { data_dir: dataDir, image_path: image && fs.existsSync(image) ? image : null, ply_path: plyPath, output_path: output, missing };
}

export async function exportRecords(ds: Dataset, sel: Uint8Array, opts: ExportOptions): Promise<ExportSummary> {
  const output = path.resolve(opts.output);
  const tmp = `${output}.tmp`;
  const s: ExportSummary = { output, selected: 0, written: 0, not_judged: 0, missing_files: { records: 0, image: 0, ply: 0, dropped: 0, examples: [] }, by_task_type: {}, score: null };
  fs.mkdirSync(path.dirname(output), { recursive: true });
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w', 0o640);
  } catch (err) {
    throw fromFsError(err, tmp, 'creating the export file');
  }
  let buf: string[] = [];
  let bufLen = 0;
  const flush = (): void => {
    if (bufLen === 0) return;
    fs.writeSync(fd, buf.join(''));
    buf = [];
    bufLen = 0;
  };
  /** Writes unit `u`'s selected lines (`wanted`: their indexes in the unit, ascending; `spec`: each in the spec's schema). */
  const exportUnit = async (u: number, wanted: number[], spec: boolean[]): Promise<void> => {
    const unit = ds.units[u]!;
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(unit.file);
    } catch {
      /* handled below */
    }
    if (!st || (!unit.gz && st.size < unit.size))
      throw new CollectorError('UNKNOWN', 'a data file changed during the export (rotated?)', unit.file, 'run the export again');
    let idx = 0;
    let w = 0;
    await readUnitLines(unit, (line, offset) => {
      if (idx++ !== wanted[w]) return;
      const isSpec = spec[w]!;
      w++;
      let text = line.toString('utf8');
      let r = JSON.parse(text) as GenerationRecord;
      if (isSpec) {
        r = fromSpecRecord(r, { collectorVersion: VERSION }) as GenerationRecord;
        r.provenance.sources = [{ event: 'spec_record', file: unit.file, offset }];
        text = JSON.stringify(r);
      }
      s.selected++;
      const files = filesOf(r, unit.dataDir);
      const pair = opts.pairs ? pairOf(r, files) : null;
      if (opts.pairs && !pair) {
        s.not_judged++;
        return;
      }
      if (files.missing.length > 0) {
        const m = s.missing_files;
        m.records++;
        if (files.missing.includes('image')) m.image++;
        if (files.missing.includes('ply')) m.ply++;
        if (m.examples.length < 10) m.examples.push({ generation_id: r.metadata.generation_id, missing: files.missing });
        if (opts.requireFiles) {
          m.dropped++;
          return;
        }
      }
      const t = r.task.task_type ?? 'unknown';
      s.by_task_type[t] = (s.by_task_type[t] ?? 0) + 1;
      const score = r.validator_feedback.score;
      if (typeof score === 'number') s.score = s.score ? { min: Math.min(s.score.min, score), max: Math.max(s.score.max, score) } : { min: score, max: score };
      // the stored line, unchanged, with one more key before its closing brace
      const out = pair ? `${JSON.stringify(pair)}\n` : `${text.trimEnd().slice(0, -1)},"export":${JSON.stringify(files)}}\n`;
      buf.push(out);
      bufLen += out.length;
      s.written++;
      if (bufLen > 1 << 20) flush();
    });
    if (w !== wanted.length) throw new CollectorError('UNKNOWN', 'a data file changed during the export (rotated?)', unit.file, 'run the export again');
  };
  try {
    // a unit's selected lines are gathered over its chunks (a big unit has several), then it is read once
    let unit = -1;
    let wanted: number[] = [];
    let spec: boolean[] = [];
    for (const [[line, flags], k, n] of ds.chunks.columns([{ col: 'line' }, { col: 'flags' }])) {
      if (ds.chunks.unitOf(k) !== unit) {
        if (wanted.length > 0) await exportUnit(unit, wanted, spec);
        unit = ds.chunks.unitOf(k);
        wanted = [];
        spec = [];
      }
      const off = ds.offsets[k]!;
      for (let i = 0; i < n; i++)
        if (sel[off + i]) {
          wanted.push(line![i]!);
          spec.push((flags![i]! & F_SPEC) !== 0);
        }
    }
    if (wanted.length > 0) await exportUnit(unit, wanted, spec);
    flush();
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw err instanceof CollectorError ? err : fromFsError(err, tmp, 'writing the export');
  }
  fs.renameSync(tmp, output);
  return s;
}
