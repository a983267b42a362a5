/**
 * Finishing a task: into the outbox, or first into `closing` while its output file may still come;
 * the timeouts; the outbox itself (drained by the pipeline, put back when the store failed).
 */
import type { MinerEvent } from '../../schema';
import { completeAgain, type FinishedRecord, type Task, type TrackerContext } from './book';
import { settleVerdict } from './settle';
import { heldByWindow } from './window';
import { busyFromMs, endpointSpans, guessedLife, loopFreedAt, mayStillWork, surelyBusyUntil } from './busy';

/** A finished task waits at most this long (wall) past the link window for its output file. */
const OUTPUT_MAX_WAIT_MS = 30_000;

/**
 * The miner logs the detail line right after the feedback line, and any other miner line closes the
 * wait; this is only for a miner that logs none and then goes quiet. Generous, since the event clock
 * also moves with the workers' lines, which may be read before the detail line reaches the file.
 */
const DETAIL_WAIT_MS = 60_000;

/**
 * The task is finished on its own terms (its feedback and detail, a submit failure, a timeout, an
 * interruption): it waits in `closing` until no unsettled event could still be its and its output
 * file had its chance, then its verdict is settled and it goes to the outbox.
 */
export function finish(cx: TrackerContext, t: Task): void {
  const { book } = cx;
  book.changes++;
  book.tasks = book.tasks.filter((x) => x !== t);
  if (book.awaitingDetail === t) book.awaitingDetail = null;
  t.closedMs ??= book.lastMs;
  t.closedAtMs ??= book.lastMs;
  if (book.output) t.closingSinceMs ??= book.output.wallMs;
  if (!book.closing.includes(t)) book.closing.push(t);
  release(cx);
}

/** Writes the finished tasks nothing holds back any more. */
export function release(cx: TrackerContext): void {
  const { book } = cx;
  const held = heldByWindow(cx);
  const closing = book.closing;
  book.closing = [];
  for (const t of closing) {
    if (awaitsOutput(cx, t) || held.all || held.ids.has(t.id) || mayStillWork(cx, t)) {
      book.closing.push(t);
      continue;
    }
    book.changes++;
    // later events in its lifetime are still decided under its guess (window.ts)
    if (t.guessed) book.guessedWritten.push(guessedLife(cx, t));
    book.writtenLives = [...book.writtenLives, { fromMs: t.receivedMs, toMs: Math.min(t.closedMs ?? book.lastMs, book.lastMs), seq: ++book.seq }].slice(-WRITTEN_SPANS_KEPT);
    rememberSpan(cx, t);
    settleVerdict(t);
    const supersedes = t.orphanId && t.orphanId !== t.id ? [t.orphanId] : [];
    book.finished.push({ record: t.record, supersedesIfPresent: supersedes, ply: t.ply ?? null });
    book.counters.recordsFinished++;
    if (t.phase !== 'feedback' && !t.interrupted && !t.key.startsWith('orphan:')) rememberWritten(cx, t);
  }
}

/** Spans kept: enough for the open tasks of a busy miner (a few per endpoint, 8 endpoints). */
const WRITTEN_SPANS_KEPT = 64;

/**
 * A task written with its endpoint: its endpoint's loop was busy with it from its received line to
 * its feedback or submit failure (else, as far as the lines show, its end or its restart). Sure when
 * no best fit is in its facts.
 */
function rememberSpan(cx: TrackerContext, t: Task): void {
  cx.book.writtenBusy = [...cx.book.writtenBusy, { fromMs: busyFromMs(t), toMs: surelyBusyUntil(t), id: t.id }].slice(-WRITTEN_SPANS_KEPT);
  const toMs = loopFreedAt(t) ?? t.endedMs ?? (t.interrupted === 'miner_restarted' ? t.closedMs : null) ?? t.receivedMs;
  const spans = endpointSpans(t, toMs, !t.guessed);
  if (spans.length) cx.book.writtenSpans = [...cx.book.writtenSpans, ...spans].slice(-WRITTEN_SPANS_KEPT);
}

/** Written tasks kept for a feedback that comes after all (in the snapshot too), at most this many and this old. */
const WRITTEN_KEPT = 256;
const WRITTEN_KEPT_MS = 6 * 3600_000;

/** A task written without its feedback: kept (a copy) so that a feedback coming after all reopens it. */
function rememberWritten(cx: TrackerContext, t: Task): void {
  const { book } = cx;
  book.written = book.written.filter((x) => book.lastMs - (x.closedMs ?? x.receivedMs) < WRITTEN_KEPT_MS).slice(-(WRITTEN_KEPT - 1));
  book.written.push(structuredClone(t));
}

/**
 * The feedback of a task already written (its feedback timeout passed, or a submit failure settled by
 * best fit closed it): the task is open again, without that submit failure (the feedback says it
 * submitted), and is written again; the store keeps it as the generation's next revision.
 */
export function reopenWritten(cx: TrackerContext, isIt: (t: Task) => boolean, atMs: number): Task | null {
  const { book } = cx;
  let i = book.written.length - 1;
  while (i >= 0 && !(isIt(book.written[i]!) && book.written[i]!.receivedMs <= atMs)) i--;
  if (i < 0) return null;
  const [t] = book.written.splice(i, 1);
  const r = t!.record;
  const p = r.provenance;
  if (p.links.some((l) => l.event === 'submit_failed')) {
    p.links = p.links.filter((l) => l.event !== 'submit_failed');
    p.sources = p.sources.filter((s) => s.event !== 'submit_failed');
    r.generation.submission.submitted = null;
    if (r.failure_analysis.error_type === 'submit_failed') r.failure_analysis = { failed: false, error_type: null, error_message: null, stack_trace: null };
    book.counters.eventsWithoutTask++;
  }
  completeAgain(t!, 'submit_failure_ambiguous');
  t!.closedMs = null;
  t!.closedAtMs = null;
  book.tasks.push(t!);
  return t!;
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

/** Cuts a task short (miner restart, task timeout, end of an input): it needs no end of its own any more. */
export function interrupt(cx: TrackerContext, t: Task, reason: string): void {
  if (t.phase !== 'feedback') t.interrupted ??= reason;
  t.endLost = true;
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

/** How far the output directories are known (wall ms) and the wall clock now; only the daemon reads them live. */
export function setOutputSettled(cx: TrackerContext, settledMs: number, wallMs: number): void {
  cx.book.output = { settledMs, wallMs };
  release(cx);
}

/**
 * tick's timeouts: no feedback `feedbackTimeoutMs` after the generation ended (for an end not
 * settled yet: after its latest possible end, once it has one in every consistent assignment); still
 * generating `taskTimeoutMs` after it was received: interrupted.
 *
 * "No feedback" needs the miner alive at the deadline: a line of its process at or after it. A miner
 * silent since before it may have been stopped while it waited; its next start then says so
 * (interrupted, miner_restarted). Silent a whole timeout past the deadline, with no start, the task is
 * written as interrupted by that silence (`miner_silent`).
 */
export function closeTimedOut(cx: TrackerContext, nowMs: number): void {
  const ended = cx.book.window.length ? cx.book.ended : null;
  const timeout = cx.opts.feedbackTimeoutMs;
  for (const t of [...cx.book.tasks]) {
    if (t.phase === 'feedback') continue;
    const open = ended?.get(t.id);
    const endMs = t.endedMs ?? (open?.inAll ? open.latestMs : null);
    if (endMs !== null && nowMs - endMs > timeout) {
      if (cx.book.minerAliveMs > endMs + timeout) {
        t.closedMs = nowMs;
        finish(cx, t);
      } else if (nowMs - endMs > 2 * timeout) interrupt(cx, t, 'miner_silent');
    } else if (endMs === null && nowMs - t.receivedMs > cx.opts.taskTimeoutMs) {
      interrupt(cx, t, 'task_timeout');
    }
  }
}

/** Every open task is cut short, marked with `reason` (finishAll, a miner restart). */
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
