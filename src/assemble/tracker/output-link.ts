/** The workers' output files: each linked to the generation that wrote it, then measured while fresh. */
import type { PlyResult } from '../../ply';
import type { OutputFile } from '../events';
import { applyPlyResult, applyPlySize, type LinkedPly } from '../ply-output';
import { choose, oldest, type Task, type TrackerContext } from './book';
import { releaseClosing } from './close';
import { reopenGuessedEnd } from './end';

/** A file may carry a time a little before the line that started its generation (clock granularity). */
const OUTPUT_EARLY_SLACK_MS = 1000;

/**
 * A complete new file in a worker's output directory: linked to the task that was generating on
 * that worker when it was written; when none was, to one that ended up to linkAfterEndMs before
 * (or started a moment after). A path named by a worker line links it for sure; among several
 * tasks, the miner's "Generation completed. Size:" figure rules out those of another size; else
 * the oldest, inferred.
 */
export function pushOutput(cx: TrackerContext, f: OutputFile): string | null {
  const { book } = cx;
  const open = [...book.tasks, ...book.closing].filter((t) => !t.ply && !t.key.startsWith('orphan:'));
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const named = open.filter((t) => t.expectedPly && (t.expectedPly === f.path || base(t.expectedPly) === base(f.name)));
  if (named.length === 1) {
    // as sure as the link of the worker line that named it
    linkPly(cx, named[0]!, f, choose(named[0]!, named));
    releaseClosing(cx);
    return named[0]!.id;
  }
  // written while a task was generating: that one (one task per worker at a time); else the margins around a generation
  let candidates = open.filter((t) => t.phase !== 'received' && inOutputWindow(cx, t, f.timeMs, true));
  if (!candidates.length) candidates = open.filter((t) => t.phase !== 'received' && inOutputWindow(cx, t, f.timeMs, false));
  // the directory's worker: tasks known to run there, else those that may (placed there by a guess,
  // or on no known worker), else those placed elsewhere only by a guess
  const tiers = [
    candidates.filter((t) => t.group === f.group && t.ambiguity === 0),
    candidates.filter((t) => (t.group === f.group && t.ambiguity > 0) || t.group === null),
    candidates.filter((t) => t.group !== null && t.group !== f.group && t.ambiguity > 0),
  ];
  candidates = tiers.find((tier) => tier.length) ?? [];
  const sized = candidates.filter((t) => t.record.generation.output.file_size_bytes === f.size);
  const uncontradicted = candidates.filter((t) => t.record.generation.output.file_size_bytes === null);
  if (sized.length) candidates = sized.length === 1 ? sized : [...sized, ...uncontradicted];
  if (!candidates.length) {
    const reopened = reopenGuessedEnd(cx, f);
    if (!reopened) {
      book.counters.outputFilesWithoutTask++;
      return null;
    }
    candidates = [reopened];
  }
  const t = oldest(candidates, 'generatingMs');
  linkPly(cx, t, f, choose(t, candidates));
  releaseClosing(cx);
  return t.id;
}

function inOutputWindow(cx: TrackerContext, t: Task, timeMs: number, strict: boolean): boolean {
  const start = t.generatingMs ?? t.receivedMs;
  const end = t.endedMs ?? t.closedAtMs ?? null;
  if (strict) return timeMs >= start && (end === null || timeMs <= end);
  return timeMs >= start - OUTPUT_EARLY_SLACK_MS && (end === null || timeMs <= end + cx.opts.linkAfterEndMs);
}

function linkPly(cx: TrackerContext, t: Task, f: OutputFile, candidates: number): void {
  t.ply = { path: f.path, dir: f.dir, name: f.name, size: f.size, mtimeMs: f.mtimeMs, measured: false };
  t.expectedPly = null;
  if (t.group === null) t.group = f.group;
  const p = t.record.provenance;
  p.sources.push({ event: 'ply_written', file: f.path, offset: 0 });
  p.links.push({ event: 'ply_written', link: candidates > 1 ? 'inferred' : 'exact', candidates });
  applyPlySize(t.record, f.size);
  cx.book.counters.outputFilesLinked++;
}

/** Linked files not measured yet: the daemon reads them while they are fresh. */
export function plysToMeasure(cx: TrackerContext): { id: string; ply: LinkedPly }[] {
  return [...cx.book.tasks, ...cx.book.closing].filter((t) => t.ply && !t.ply.measured).map((t) => ({ id: t.id, ply: t.ply! }));
}

export function setPlyMeasure(cx: TrackerContext, id: string, result: PlyResult): void {
  const t = cx.book.tasks.find((x) => x.id === id) ?? cx.book.closing.find((x) => x.id === id);
  if (!t?.ply) return;
  applyPlyResult(t.record, result);
  t.ply.measured = true;
}

/** Measured files of open tasks: kept once their feedback says accepted (the state's pending blobs). */
export function pendingPlys(cx: TrackerContext): { generationId: string; ply: LinkedPly; sha256: string }[] {
  const out: { generationId: string; ply: LinkedPly; sha256: string }[] = [];
  for (const t of [...cx.book.tasks, ...cx.book.closing]) {
    const hash = t.record.generation.output.ply_file_hash;
    if (t.ply?.measured && hash) out.push({ generationId: t.id, ply: t.ply, sha256: hash.slice('sha256:'.length) });
  }
  return out;
}
