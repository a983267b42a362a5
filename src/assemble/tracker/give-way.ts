/**
 * What gives way when the attribution window holds nothing consistent (window.ts): an end line known
 * lost, else an event (window.ts).
 */
import { solve, type AttributionLimits, type LoopCount, type WindowItem, type WindowTask, type WrittenSpan } from './attribution';
import { incomplete, type TrackerContext, type WindowEntry } from './book';

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
