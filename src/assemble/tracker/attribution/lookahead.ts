/**
 * Branches of the search that can reach no consistent assignment, seen before the walk goes down
 * them: a feedback line ahead whose task can no longer have its end before it, a worker's answer
 * whose end can no longer come within the lag, a worker's line ahead that no task can take any more. The walk would find each only at that line, after
 * trying every way to take the items between; cutting them at once leaves the same assignments
 * reached, in the same order (at eight endpoints most nodes were such dead branches).
 */
import type { Branch } from './branch';
import { workerLineFits } from './options';
import type { AttributionLimits, WindowItem, WindowTask } from './types';

type WorkerItem = Extract<WindowItem, { kind: 'worker' }>;

export class Lookahead {
  /** Per task (by index), the indexes (ascending) of the end items it could take on its fixed facts alone. */
  private readonly endsOf: (number[] | undefined)[];
  /** The feedback lines of the search's tasks: each line's index, and its task's. */
  private readonly closes: { at: number; task: number; mustComplete: boolean }[] = [];
  /** The worker items, by index, each with the tasks (indexes) that could take it on their fixed facts alone. */
  private readonly workers: { at: number; it: WorkerItem; takers: number[] }[] = [];
  /** The last instant the answers' lag is checked at (the last item's, or now). */
  private readonly lastCheckMs: number;

  constructor(
    private readonly order: WindowItem[],
    tasks: WindowTask[],
    /** Each task's index, by id (the branch's). */
    indexOf: ReadonlyMap<string, number>,
    nowMs: number,
    private readonly limits: AttributionLimits,
  ) {
    this.endsOf = new Array(tasks.length);
    order.forEach((it, i) => {
      if (it.kind === 'close') {
        const task = indexOf.get(it.taskId);
        if (task !== undefined) this.closes.push({ at: i, task, mustComplete: it.mustComplete });
      } else if (it.kind === 'worker') {
        const takers: number[] = [];
        tasks.forEach((t, k) => {
          if (t.canEnd && workerLineFits(t, it, limits) && !t.fixedBindings.some((b) => b.ns === 'g' && b.value !== it.group)) takers.push(k);
        });
        this.workers.push({ at: i, it, takers });
      } else if (it.kind === 'end') {
        // a superset of what the walk allows (options.ts): the task's own lines, one clock, no slack
        tasks.forEach((t, k) => {
          if (!t.canEnd || t.fixedEnd || t.startMs > it.timeMs || (t.closedMs !== null && t.closedMs < it.timeMs)) return;
          (this.endsOf[k] ??= []).push(i);
        });
      }
    });
    this.lastCheckMs = Math.max(nowMs, order.at(-1)?.timeMs ?? -Infinity);
  }

  /**
   * No consistent assignment lies below the branch `br` as it stands before item `k`. `changed`: the
   * task (index) the walk gave item k - 1 (only its facts grew since the check before); null when it
   * went to none, undefined at the root.
   */
  doomed(br: Branch, k: number, changed: number | null | undefined): boolean {
    for (const c of this.closes) {
      if (c.at < k) continue;
      const i = c.task;
      if (br.submitted[i] !== undefined) return true;
      const e = br.end[i];
      if (e) {
        if (c.mustComplete && !e.completed) return true;
      } else if (!br.tasks[i]!.endLost && !this.endBetween(i, k, c.at, -Infinity, Infinity)) return true;
    }
    for (let i = 0; i < br.tasks.length; i++) {
      const a = br.answer[i];
      if (!a || br.end[i] || br.tasks[i]!.endLost || this.lastCheckMs - a.timeMs <= this.limits.maxAnswerLagMs) continue;
      if (!this.endBetween(i, k, this.order.length, a.timeMs - this.limits.slackMs, a.timeMs + this.limits.maxAnswerLagMs)) return true;
    }
    for (const w of this.workers) {
      if (w.at <= k || (changed !== undefined && (changed === null || !w.takers.includes(changed)))) continue;
      if (!w.takers.some((i) => mayStillTake(br, i, w.it, this.limits))) return true;
    }
    return false;
  }

  /** Task `i` could still take an end item at an index in [from, to), timed within [fromMs, toMs]. */
  private endBetween(i: number, from: number, to: number, fromMs: number, toMs: number): boolean {
    for (const at of this.endsOf[i] ?? []) {
      if (at < from) continue;
      if (at >= to) return false;
      const ms = this.order[at]!.timeMs;
      if (ms >= fromMs && ms <= toMs) return true;
    }
    return false;
  }
}

/**
 * A superset of the tasks the walk may give worker item `it` (options.ts), in every branch below
 * `br`: facts only grow down a branch (ends, bindings, answers, submit failures), and each only
 * narrows this, but for an end the miner gave up waiting for, which lets the worker finish after it.
 */
function mayStillTake(br: Branch, i: number, it: WorkerItem, limits: AttributionLimits): boolean {
  const t = br.tasks[i]!;
  const g = br.group[i];
  if ((g !== undefined && g !== it.group) || (it.answerMs !== null && br.answer[i])) return false;
  const e = br.end[i];
  const w = it.timeMs;
  if (!br.closedBefore(i, w) && t.startMs <= w + limits.slackMs && (!e || w <= e.timeMs + limits.slackMs)) return true;
  return !br.workerClosedBefore(i, w) && (t.abandonedMs !== null || !e || e.late);
}
