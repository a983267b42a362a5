/**
 * What gives way when a part of the attribution window holds nothing consistent (window.ts): a lost
 * generating line, the loops' count, an end line known lost, else one event.
 */
import { solve, type Attribution, type AttributionLimits, type LoopCount, type WindowItem, type WindowTask, type WrittenSpan } from './attribution';
import { incomplete, type TrackerContext, type WindowEntry } from './book';

/**
 * A part of the window solved as it stands; else letting a task whose generating line was lost take
 * an end (`receivedEnds`); else without the loops' count, which holds only if the best fits already
 * applied were right.
 */
export function solvePart(
  strict: WindowTask[],
  relaxed: WindowTask[],
  items: WindowItem[],
  nowMs: number,
  limits: AttributionLimits,
  spans: WrittenSpan[],
  loops: LoopCount | null,
): { res: Attribution; receivedEnds: boolean } {
  let res = solve(strict, items, nowMs, limits, spans, loops);
  let receivedEnds = false;
  if (!res.leaves && strict.some((t) => !t.canEnd)) {
    res = solve(relaxed, items, nowMs, limits, spans, loops);
    receivedEnds = res.leaves > 0;
  }
  if (!res.leaves && loops) res = solve(strict, items, nowMs, limits, spans, null);
  return { res, receivedEnds };
}

/**
 * Tasks whose worker answered longer ago than the lag allows and that have no end: when the window
 * holds nothing consistent and their end line counts as lost makes it consistent, it was lost (PM2
 * cut it, or it went to another task by a best fit). Without this, the answer would contradict every
 * later event of the tasks around it, and each would be let go.
 */
export function endsLostIn(tasks: WindowTask[], items: WindowItem[], nowMs: number, limits: AttributionLimits, spans: WrittenSpan[], loops: LoopCount | null): WindowTask[] {
  const stale = tasks.filter((t) => t.fixedAnswerMs !== null && !t.fixedEnd && !t.endLost && nowMs - t.fixedAnswerMs > limits.maxAnswerLagMs);
  if (!stale.length) return [];
  const relaxed = tasks.map((t) => (stale.includes(t) ? { ...t, endLost: true } : t));
  return solve(relaxed, items, nowMs, limits, spans, loops).leaves ? stale : [];
}

/**
 * The event let go from a part with nothing consistent: the newest whose going alone makes the rest
 * consistent, else the newest (then the next solve looks again). One event at odds with the rest costs
 * that event, not every newer one. `entries`: the part's, in arrival order; `items`: the part's, in the
 * order its search was given them (ties in time keep it).
 */
export function eventToLetGo(entries: WindowEntry[], items: WindowItem[], consistentWith: (items: WindowItem[]) => boolean): WindowEntry {
  return [...entries].reverse().find((w) => consistentWith(items.filter((it) => it !== w.item))) ?? entries.at(-1)!;
}

/** An event let go: a feedback line's task had its end not seen; any other event belongs to no task we know. */
export function letGo(cx: TrackerContext, w: WindowEntry): void {
  const it = w.item;
  if (it.kind === 'close') {
    const t = [...cx.book.tasks, ...cx.book.closing].find((x) => x.id === it.taskId);
    if (t) {
      t.endLost = true;
      incomplete(t, 'generation_end_not_seen');
    }
  } else if (it.kind === 'file') cx.book.counters.outputFilesWithoutTask++;
  else cx.book.counters.eventsWithoutTask += 1 + (w.earlier?.length ?? 0);
}
