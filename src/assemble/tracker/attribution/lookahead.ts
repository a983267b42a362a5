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
  /** Per task, the indexes (ascending) of the end items it could take on its fixed facts alone. */
  private readonly endsOf = new Map<string, number[]>();
  /** The feedback lines of the search's tasks, by index. */
  private readonly closes: { at: number; task: WindowTask; mustComplete: boolean }[] = [];
  /** The worker items, by index, each with the tasks that could take it on their fixed facts alone. */
  private readonly workers: { at: number; it: WorkerItem; takers: WindowTask[] }[] = [];
  /** The last instant the answers' lag is checked at (the last item's, or now). */
  private readonly lastCheckMs: number;

  constructor(
    private readonly order: WindowItem[],
    tasks: WindowTask[],
    nowMs: number,
    private readonly limits: AttributionLimits,
  ) {
    const byId = new Map(tasks.map((t) => [t.id, t]));
    order.forEach((it, i) => {
      if (it.kind === 'close') {
        const task = byId.get(it.taskId);
        if (task) this.closes.push({ at: i, task, mustComplete: it.mustComplete });
      } else if (it.kind === 'worker') {
        const takers = tasks.filter((t) => t.canEnd && workerLineFits(t, it, limits) && !t.fixedBindings.some((b) => b.ns === 'g' && b.value !== it.group));
        this.workers.push({ at: i, it, takers });
      } else if (it.kind === 'end') {
        // a superset of what the walk allows (options.ts): the task's own lines, one clock, no slack
        for (const t of tasks) {
          if (!t.canEnd || t.fixedEnd || t.startMs > it.timeMs || (t.closedMs !== null && t.closedMs < it.timeMs)) continue;
          const at = this.endsOf.get(t.id) ?? this.endsOf.set(t.id, []).get(t.id)!;
          at.push(i);
        }
      }
    });
    this.lastCheckMs = Math.max(nowMs, order.at(-1)?.timeMs ?? -Infinity);
  }

  /**
   * No consistent assignment lies below the branch `br` as it stands before item `k`. `changed`: the
   * task the walk gave item k - 1 (only its facts grew since the check before); undefined at the root.
   */
  doomed(br: Branch, k: number, changed: WindowTask | null | undefined): boolean {
    for (const c of this.closes) {
      if (c.at < k) continue;
      const id = c.task.id;
      if (br.submitted.has(id)) return true;
      const e = br.end.get(id);
      if (e) {
        if (c.mustComplete && !e.completed) return true;
      } else if (!c.task.endLost && !this.endBetween(id, k, c.at, -Infinity, Infinity)) return true;
    }
    for (const [id, a] of br.answer) {
      if (br.end.has(id) || br.byId.get(id)!.endLost || this.lastCheckMs - a.timeMs <= this.limits.maxAnswerLagMs) continue;
      if (!this.endBetween(id, k, this.order.length, a.timeMs - this.limits.slackMs, a.timeMs + this.limits.maxAnswerLagMs)) return true;
    }
    for (const w of this.workers) {
      if (w.at <= k || (changed !== undefined && (changed === null || !w.takers.includes(changed)))) continue;
      if (!w.takers.some((t) => mayStillTake(br, t, w.it, this.limits))) return true;
    }
    return false;
  }

  /** Task `id` could still take an end item at an index in [from, to), timed within [fromMs, toMs]. */
  private endBetween(id: string, from: number, to: number, fromMs: number, toMs: number): boolean {
    for (const i of this.endsOf.get(id) ?? []) {
      if (i < from) continue;
      if (i >= to) return false;
      const ms = this.order[i]!.timeMs;
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
function mayStillTake(br: Branch, t: WindowTask, it: WorkerItem, limits: AttributionLimits): boolean {
  const g = br.bind.get(t.id)!.get('g');
  if ((g !== undefined && g !== it.group) || (it.answerMs !== null && br.answer.has(t.id))) return false;
  const e = br.end.get(t.id);
  const w = it.timeMs;
  if (!br.closedBefore(t, w) && t.startMs <= w + limits.slackMs && (!e || w <= e.timeMs + limits.slackMs)) return true;
  return !br.workerClosedBefore(t, w) && (t.abandonedMs !== null || !e || e.late);
}
