/**
 * How long each task kept its miner loop busy, as far as the lines make sure: what the attribution
 * window tells the search about tasks outside the part it solves (their endpoints' spans, the count
 * of busy loops); and how long a task's events may still come (a worker finishing what the miner
 * abandoned, a lifetime decided under a guess).
 */
import { endpointKey, type LoopCount, type WindowTask, type WrittenSpan } from './attribution';
import type { Task, TrackerContext } from './book';

/**
 * When a line says the miner's loop moved on from `t`: its feedback, its submit failure (a restart is
 * not such a line: the loop may have moved on from an ended task silently before it).
 */
export function loopFreedAt(t: Task): number | null {
  if (t.closedMs == null) return null;
  return t.phase === 'feedback' || t.record.provenance.links.some((l) => l.event === 'submit_failed') ? t.closedMs : null;
}

/**
 * The open tasks whose endpoint is sure (no best fit in their facts): their loop is busy from their
 * received line to the line that freed it (else their end; with no end yet, still), so a task of
 * another part of the window cannot have run there meanwhile.
 */
export function openSpans(tasks: Task[]): WrittenSpan[] {
  const out: WrittenSpan[] = [];
  for (const t of tasks) {
    if (t.guessed) continue;
    const cut = t.interrupted ? t.closedMs : null;
    // an end not settled yet may be any open end item: only its generating line is sure
    const toMs = loopFreedAt(t) ?? t.endedMs ?? cut ?? t.generatingMs ?? t.receivedMs;
    if (t.group) out.push({ id: t.id, key: endpointKey('g', t.group), fromMs: t.receivedMs, toMs, sure: true });
    if (t.url) out.push({ id: t.id, key: endpointKey('u', t.url), fromMs: t.receivedMs, toMs, sure: true });
  }
  return out;
}

/**
 * How long a task surely kept its loop busy: to its feedback, else (no best fit in its facts) to the
 * line that freed its loop or its end, else to its generating line.
 */
export function surelyBusyUntil(t: Task): number {
  if (t.phase === 'feedback' && t.closedMs != null) return t.closedMs;
  const freed = t.guessed ? null : (loopFreedAt(t) ?? t.endedMs);
  return freed ?? t.generatingMs ?? t.receivedMs;
}

/**
 * The loops of the miner's current run (as many as it announced endpoints; more if its tasks were
 * surely busy more at once: a modified miner may run several per endpoint), and the tasks outside
 * this part that keep some busy. Null when the run announced none.
 */
export function loopCount(cx: TrackerContext, all: Task[], part: WindowTask[], sinceMs: number): LoopCount | null {
  const announced = cx.book.runEndpoints.length;
  if (!announced) return null;
  const inPart = new Set(part.map((t) => t.id));
  const sure = (ts: Task[]) => ts.map((t) => ({ fromMs: t.receivedMs, toMs: surelyBusyUntil(t) }));
  const written = cx.book.writtenBusy.filter((b) => b.toMs > sinceMs);
  const busy = [...written, ...sure(all.filter((t) => !inPart.has(t.id)))];
  return { loops: Math.max(announced, mostAtOnce([...written, ...sure(all)])), busy };
}

/** The most intervals that hold one instant. */
function mostAtOnce(spans: { fromMs: number; toMs: number }[]): number {
  let most = 0;
  for (const { fromMs: at } of spans) most = Math.max(most, spans.filter((s) => s.fromMs <= at && at < Math.max(s.toMs, s.fromMs + 1)).length);
  return most;
}

/** How long a worker may still be at a request the miner abandoned (event time). */
const ABANDONED_WORK_MS = 10 * 60_000;

/**
 * A task the miner abandoned (it restarted) may still be finished by its worker, whose late lines are
 * its, not the next task's: it stays open to them for a while, unless the input ends.
 */
export function mayStillWork(cx: TrackerContext, t: Task): boolean {
  const now = Math.max(cx.book.lastMs, cx.book.tickMs);
  return (
    !!t.interrupted &&
    !cx.book.draining &&
    t.phase !== 'feedback' &&
    now - (t.closedMs ?? 0) < ABANDONED_WORK_MS &&
    workerEvidenceMayCome(cx, t.group)
  );
}

/** Worker lines or output files of this group (any group, if unknown) are read: later evidence may come. */
function workerEvidenceMayCome(cx: TrackerContext, group: string | null): boolean {
  const read = [...cx.opts.workerGroups, ...cx.opts.outputGroups];
  return group === null ? read.length > 0 : read.includes(group);
}

/**
 * How long a task a best fit touched might have lived under another fit: to its close if a named line
 * closed it (its feedback, an interruption), else (a submit failure, itself perhaps a guess) as long
 * as a task may run.
 */
export function guessedUntil(cx: TrackerContext, t: Task): number {
  const named = t.phase === 'feedback' || !!t.interrupted;
  return named && t.closedMs != null ? t.closedMs : t.receivedMs + cx.opts.taskTimeoutMs;
}
