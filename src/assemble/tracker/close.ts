/**
 * Finishing a task: into the outbox, or first into `closing` while its output file may still come;
 * the timeouts; the outbox itself (drained by the pipeline, put back when the store failed).
 */
import type { MinerEvent } from '../../schema';
import type { FinishedRecord, Task, TrackerContext } from './book';
import { interruptedOutcome } from './settle';

/** A finished task waits at most this long (wall) past the link window for its output file. */
const OUTPUT_MAX_WAIT_MS = 30_000;

/**
 * The miner logs the detail line right after the feedback line, and any other miner line closes the
 * wait; this is only for a miner that logs none and then goes quiet. Generous, since the event clock
 * also moves with the workers' lines, which may be read before the detail line reaches the file.
 */
const DETAIL_WAIT_MS = 60_000;

export function finish(cx: TrackerContext, t: Task): void {
  const { book } = cx;
  book.tasks = book.tasks.filter((x) => x !== t);
  if (book.awaitingDetail === t) book.awaitingDetail = null;
  if (awaitsOutput(cx, t)) {
    t.closingSinceMs ??= book.output!.wallMs;
    t.closedAtMs ??= book.lastMs;
    if (!book.closing.includes(t)) book.closing.push(t);
    return;
  }
  book.closing = book.closing.filter((x) => x !== t);
  const supersedes = t.orphanId && t.orphanId !== t.id ? [t.orphanId] : [];
  book.finished.push({ record: t.record, supersedesIfPresent: supersedes, ply: t.ply ?? null });
  book.counters.recordsFinished++;
}

/** The task whose feedback line came last is finished: its detail line came, or will not. */
export function closeFeedback(cx: TrackerContext): void {
  const t = cx.book.awaitingDetail;
  cx.book.awaitingDetail = null;
  if (t && cx.book.tasks.includes(t)) finish(cx, t);
}

/** tick: a detail line that has not come after DETAIL_WAIT_MS will not come. */
export function closeStaleFeedback(cx: TrackerContext, nowMs: number): void {
  const t = cx.book.awaitingDetail;
  if (t && nowMs - (t.feedbackMs ?? nowMs) > DETAIL_WAIT_MS) closeFeedback(cx);
}

/** Finishes a task before its end was seen (its outcome: see interruptedOutcome). */
export function interrupt(cx: TrackerContext, t: Task, reason: string): void {
  interruptedOutcome(t, reason);
  finish(cx, t);
}

/**
 * A finished task whose worker's output directory is read live, with no file linked yet, waits
 * until the directory is known up to the link window past the moment its end was read (or, with no
 * end, it was finished): its file may still be in `awaitWriteFinish`. At most OUTPUT_MAX_WAIT_MS
 * more if the directory stops answering. Feedback usually comes later than that: no wait at all.
 */
export function awaitsOutput(cx: TrackerContext, t: Task): boolean {
  const o = cx.book.output;
  if (!o || t.ply || t.key.startsWith('orphan:') || (t.generatingMs === null && t.endedMs === null)) return false;
  const groups = cx.opts.outputGroups;
  if (t.group !== null ? !groups.includes(t.group) : groups.length === 0) return false;
  const since = t.endSeenWallMs ?? t.closingSinceMs ?? o.wallMs;
  return o.settledMs < since + cx.opts.linkAfterEndMs && o.wallMs - since < cx.opts.linkAfterEndMs + OUTPUT_MAX_WAIT_MS;
}

export function releaseClosing(cx: TrackerContext): void {
  for (const t of [...cx.book.closing]) if (!awaitsOutput(cx, t)) finish(cx, t);
}

/** How far the output directories are known (wall ms) and the wall clock now; only the daemon reads them live. */
export function setOutputSettled(cx: TrackerContext, settledMs: number, wallMs: number): void {
  cx.book.output = { settledMs, wallMs };
  releaseClosing(cx);
}

/** The tasks that waited too long for their feedback, or for their generation's end (tick's timeouts). */
export function closeTimedOut(cx: TrackerContext, nowMs: number): void {
  for (const t of [...cx.book.tasks]) {
    if (t.phase === 'ended' && t.endedMs !== null && nowMs - t.endedMs > cx.opts.feedbackTimeoutMs) {
      t.record.validator_feedback.received = false;
      t.record.outcome = t.record.failure_analysis.failed ? 'generation_failed' : 'no_feedback';
      finish(cx, t);
    } else if ((t.phase === 'received' || t.phase === 'generating') && nowMs - t.receivedMs > cx.opts.taskTimeoutMs) {
      interrupt(cx, t, 'task_timeout');
    }
  }
}

/** Every open task is finished as it stands, marked with `reason` (finishAll's last step). */
export function interruptAll(cx: TrackerContext, reason: string): void {
  for (const t of [...cx.book.tasks]) interrupt(cx, t, reason);
}

// ---- the outbox ----

/** Records finished since the last call, in finishing order. */
export function drainRecords(cx: TrackerContext): FinishedRecord[] {
  const out = cx.book.finished;
  cx.book.finished = [];
  return out;
}

export function drainMinerEvents(cx: TrackerContext): MinerEvent[] {
  const out = cx.book.minerEvents;
  cx.book.minerEvents = [];
  return out;
}

/** Puts back what could not be written (the store failed), to be drained again first. */
export function requeue(cx: TrackerContext, records: FinishedRecord[], events: MinerEvent[]): void {
  cx.book.finished = [...records, ...cx.book.finished];
  cx.book.minerEvents = [...events, ...cx.book.minerEvents];
}
