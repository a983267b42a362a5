/** The workers' output files: each linked to the generation that wrote it, then measured while fresh. */
import type { PlyResult } from '../../ply';
import type { OutputFile } from '../events';
import { applyPlyResult, applyPlySize, type LinkedPly } from '../ply-output';
import { addLink, completeAgain, type LinkKind, type Task, type TrackerContext } from './book';
import { release } from './close';
import { enter, type Appliers } from './window';

/**
 * A complete new file in a worker's output directory. A path named by a worker line links it to
 * that line's task; any other goes into the attribution window (the task generating on that worker
 * when it was written, or one that ended up to linkAfterEndMs before). Returns the task it went to,
 * or, while that is open, the best candidate; null when no task can have written it.
 */
export function pushOutput(cx: TrackerContext, ap: Appliers, f: OutputFile): string | null {
  const { book } = cx;
  const open = [...book.tasks, ...book.closing].filter((t) => !t.ply && !t.key.startsWith('orphan:'));
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const named = open.filter((t) => t.expectedPly && (t.expectedPly === f.path || base(t.expectedPly) === base(f.name)));
  if (named.length === 1) {
    // as sure as the link of the worker line that named it
    const t = named[0]!;
    linkPly(cx, t, f, t.expectedPlyInferred ? { link: 'inferred', candidates: 2 } : { link: 'determined', candidates: 1 }, null);
    release(cx);
    return t.id;
  }
  const key = `${f.path}#${f.mtimeMs}`;
  enter(cx, ap, { item: { kind: 'file', key, timeMs: f.timeMs, group: f.group, size: f.size, lateMs: cx.opts.linkAfterEndMs }, event: null, file: f });
  const waiting = book.window.find((w) => w.item.key === key);
  if (waiting) return waiting.candidates[0] ?? null;
  const took = (p: LinkedPly | null | undefined) => p?.path === f.path && p.mtimeMs === f.mtimeMs;
  return (
    [...book.tasks, ...book.closing].find((t) => took(t.ply))?.id ??
    book.finished.find((x) => took(x.ply))?.record.metadata.generation_id ??
    null
  );
}

/** A settled file: the task's output, measured already if it waited in the window. */
export function linkPly(cx: TrackerContext, t: Task, f: OutputFile, how: LinkKind, measure: PlyResult | null): void {
  t.ply = { path: f.path, dir: f.dir, name: f.name, size: f.size, mtimeMs: f.mtimeMs, measured: false };
  t.expectedPly = null;
  t.group ??= f.group;
  const p = t.record.provenance;
  p.sources.push({ event: 'ply_written', file: f.path, offset: 0 });
  addLink(t, 'ply_written', how);
  applyPlySize(t.record, f.size);
  if (measure) {
    applyPlyResult(t.record, measure);
    t.ply.measured = true;
  }
  settleOutputSize(t);
  completeAgain(t, 'output_file_ambiguous');
  cx.book.counters.outputFilesLinked++;
}

/**
 * Files not measured yet, linked or still waiting in the window: the daemon reads them while they
 * are fresh (a worker may reuse a file name for its next generation).
 */
export function plysToMeasure(cx: TrackerContext): { id: string; ply: LinkedPly }[] {
  const linked = [...cx.book.tasks, ...cx.book.closing].filter((t) => t.ply && !t.ply.measured).map((t) => ({ id: t.id, ply: t.ply! }));
  const waiting = cx.book.window.flatMap((w) =>
    w.file && !w.measure ? [{ id: w.item.key, ply: { path: w.file.path, dir: w.file.dir, name: w.file.name, size: w.file.size, mtimeMs: w.file.mtimeMs, measured: false } }] : [],
  );
  return [...linked, ...waiting];
}

export function setPlyMeasure(cx: TrackerContext, id: string, result: PlyResult): void {
  const w = cx.book.window.find((x) => x.item.key === id);
  if (w) {
    w.measure = result;
    return;
  }
  const t = cx.book.tasks.find((x) => x.id === id) ?? cx.book.closing.find((x) => x.id === id);
  if (!t?.ply) return;
  applyPlyResult(t.record, result);
  t.ply.measured = true;
  settleOutputSize(t);
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

/**
 * The record's output size when a task has both: its file's (linked, so the better figure), unless
 * only a best fit tied the file to it while its `Generation completed. Size: N` line surely is its (a
 * file of another size is then likely another generation's): then the line's.
 */
export function settleOutputSize(t: Task): void {
  if (!t.ply || t.endBytes == null) return;
  const kind = (event: string) => t.record.provenance.links.find((l) => l.event === event)?.link;
  const line = kind('generation_completed');
  if (line === undefined || line === 'inferred' || kind('ply_written') !== 'inferred') return;
  applyPlySize(t.record, t.endBytes);
}
