/**
 * What time alone changes in the attribution window's answer: an open event freezes by age, or (the
 * daemon) has waited out the worker lines that may come late, a closed task's events stop waiting for
 * its successor, a worker's answer outlives its lag, the doubt after a restart ends, a worker stops
 * being expected at what the miner abandoned, a task's start passes (the search's overlaps). A
 * solve's answer is a fixed point: solved again with nothing changed and none of these passed, it
 * settles nothing new. So a tick re-solves only when one of them has passed or something changed since
 * (`TaskBook.changes`): a collector left idle with events still open no longer solves the window every
 * second until they freeze.
 */
import type { Task, TrackerContext } from './book';
import { abandonedWorkUntil, workClock } from './busy';

/** An open event is settled with its best fit after this much event time: later evidence rarely comes. */
export const FREEZE_AFTER_MS = 2 * 60_000;
/** A closed task's events wait at least this long for what its loop did next (see successorWaitMs). */
const MIN_SUCCESSOR_WAIT_MS = 2000;

/**
 * How long after a task closed an event it may own still waits: the task that followed it on its loop
 * shows its endpoint (its worker's lines, an endpoint error) about one generation later, and so
 * decides which endpoint, and which events, were this one's. Twice its own generation, within limits.
 */
export function successorWaitMs(t: Task): number {
  const generation = (t.endedMs ?? t.closedMs ?? t.receivedMs) - (t.generatingMs ?? t.receivedMs);
  return Math.min(FREEZE_AFTER_MS, Math.max(MIN_SUCCESSOR_WAIT_MS, 2 * generation));
}

/** The first of `times` at or after `fromMs` (Infinity if none). */
function firstFrom(times: Iterable<number>, fromMs: number): number {
  let first = Infinity;
  for (const x of times) if (x >= fromMs && x < first) first = x;
  return first;
}

/** Remembers what a solve at `nowMs` read: the changes it saw and the deadlines ahead of it. */
export function rememberSolved(cx: TrackerContext, tasks: Task[], changesSeen: number, nowMs: number): void {
  const { book } = cx;
  const lag = cx.opts.maxAnswerLagMs;
  const times = [book.doubtUntilMs];
  for (const t of tasks) {
    times.push(t.receivedMs, t.generatingMs ?? t.receivedMs);
    if (t.answerMs != null) times.push(t.answerMs + lag);
    if (t.closedMs != null) times.push(t.closedMs + successorWaitMs(t));
  }
  for (const w of book.window) {
    times.push(w.item.timeMs + FREEZE_AFTER_MS);
    if (cx.opts.workerLinesLateMs) times.push(w.item.timeMs + cx.opts.workerLinesLateMs);
    if (w.item.kind === 'worker' && w.item.answerMs !== null) times.push(w.item.answerMs + lag);
  }
  book.solvedState = {
    changes: changesSeen,
    untilMs: firstFrom(times, nowMs),
    workUntilMs: firstFrom(tasks.filter((t) => t.interrupted).map(abandonedWorkUntil), workClock(cx)),
  };
}

/** Nothing changed since the last solve and no deadline it read has passed: solving again would settle nothing. */
export function unchangedSinceSolved(cx: TrackerContext, nowMs: number): boolean {
  const s = cx.book.solvedState;
  return s.changes === cx.book.changes && nowMs < s.untilMs && workClock(cx) < s.workUntilMs;
}
