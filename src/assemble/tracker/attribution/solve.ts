/**
 * The search: every consistent assignment of the window's items to its tasks (depth-first over the
 * items in time order, cheapest option first, within a node budget), and per item the answer.
 */
import { Branch } from './branch';
import { Lookahead } from './lookahead';
import { optionsFor, slotOf } from './options';
import { mayTakeItem } from './parts';
import { bindingOfKey, DEFAULT_LIMITS, pulledRightAfter, type Attribution, type AttributionLimits, type ItemAnswer, type LoopCount, type WindowItem, type WindowTask, type WrittenSpan } from './types';

/** What crossing a guessed written span costs an assignment (as a size that differs from the file's). */
const GUESSED_SPAN_COST = 5;
/** What a submit failure costs when the task pulled right after it ran on another endpoint than its task's. */
const OTHER_LOOP_COST = 1;

/**
 * Every consistent assignment of the window's items to its tasks; per item the answer. Items are
 * walked in time order (ties in the given order).
 */
export function solve(
  tasks: WindowTask[],
  items: WindowItem[],
  nowMs: number,
  limits: AttributionLimits = DEFAULT_LIMITS,
  spans: WrittenSpan[] = [],
  loopCount: LoopCount | null = null,
  /** Off only to check that the lookahead changes nothing the walk reaches (its tests). */
  lookahead = true,
): Attribution {
  // the window keeps its items mostly in time order: sorted (stably) only when they are not
  const inOrder = items.every((it, i) => i === 0 || items[i - 1]!.timeMs <= it.timeMs);
  const order = inOrder
    ? items
    : items
        .map((it, i) => ({ it, i }))
        .sort((a, b) => a.it.timeMs - b.it.timeMs || a.i - b.i)
        .map((x) => x.it);
  const br = new Branch(tasks, limits, spans, loopCount);
  const ahead = lookahead ? new Lookahead(order, tasks, br.indexOf, nowMs, limits) : null;
  /** Tasks with a feedback line in the window: none of them failed to submit. */
  const hasFeedback = new Set<string>();
  for (const it of items) if (it.kind === 'close') hasFeedback.add(it.taskId);
  // by index: items in `order`, tasks in `tasks`
  /** Per item, the task each has gone to in the walk (-1: none yet, or a feedback line). */
  const choice = new Int32Array(order.length).fill(-1);
  /** Per item, each task it went to in a consistent assignment, with the best cost of one. */
  const seen: (Map<number, number> | undefined)[] = new Array(order.length);
  /** Per task: some consistent assignment leaves it without an end; its latest end in one. */
  const unended: boolean[] = tasks.map(() => false);
  const latestEndMs: (number | null)[] = tasks.map(() => null);
  /**
   * The branch's cost after its first k items, summed along its path: the same path always sums to
   * the same number (a running total added to and taken back over the walk drifted in its last bits,
   * and ties between assignments went by that drift, so by what the walk had visited before).
   */
  const costTo = new Float64Array(order.length + 1);
  let leaves = 0;
  let truncated = false;
  let best: { cost: number; choice: Int32Array } | null = null;

  const mayTake = (t: WindowTask, it: WindowItem) => mayTakeItem(t, it, limits);

  // per line that frees a loop (a submit failure, a feedback), the tasks received right after it: the
  // next pull of that loop, likely; a written one (outside the search) by the worker group its span is on
  const pulledAfter = order.flatMap((it, at) => {
    const closing = it.kind === 'close' ? br.indexOf.get(it.taskId) : undefined;
    if (it.kind !== 'submit_failure' && closing === undefined) return [];
    const next: number[] = [];
    tasks.forEach((t, i) => {
      if (pulledRightAfter(it.timeMs, t.receivedMs)) next.push(i);
    });
    const written = spans.flatMap((s) => {
      if (br.indexOf.has(s.id) || !pulledRightAfter(it.timeMs, s.fromMs)) return [];
      const b = bindingOfKey(s.key);
      return b.ns === 'g' ? [b.value] : [];
    });
    return next.length || written.length ? [{ at, closing, next, written }] : [];
  });
  /** A soft fit: the task a line freed the loop of (its feedback, its submit failure), and the task pulled right after it, on one worker. */
  const loopFitCost = (): number => {
    let cost = 0;
    for (const { at, closing, next, written } of pulledAfter) {
      const i = closing ?? choice[at]!;
      const own = i >= 0 ? br.group[i] : undefined;
      if (own === undefined) continue;
      const elsewhere = (j: number) => {
        const g = br.group[j];
        return g !== undefined && g !== own;
      };
      if (next.every(elsewhere) && written.every((g) => g !== own)) cost += OTHER_LOOP_COST;
    }
    return cost;
  };

  /**
   * The loops' count after the walk took item k - 1: checked whole at the root; after that only a
   * task given an end or a submit failure has more busy time, so only its time is counted again.
   */
  const loopsStillKept = (k: number): boolean => {
    if (k === 0) return br.loopsKept();
    const prev = order[k - 1]!;
    if (prev.kind !== 'end' && prev.kind !== 'submit_failure') return true;
    const i = choice[k - 1]!;
    return i < 0 || br.loopsKept(i);
  };

  /**
   * No sure written span crossed after the walk took item k - 1: checked whole at the root; after
   * that only the task the item went to has new facts (an end, a submit failure, a binding).
   */
  const chainsStillKept = (k: number): boolean => {
    if (k === 0) return br.chainsKept();
    const i = choice[k - 1]!;
    return i < 0 || br.chainsKept(i);
  };

  /** The task (index) item k - 1 went to (null: none, a feedback line); undefined at the root. */
  const lastTaken = (k: number): number | null | undefined => {
    if (k === 0) return undefined;
    return choice[k - 1]! < 0 ? null : choice[k - 1]!;
  };

  /**
   * Whether an assignment, were it consistent, would add to what the search knows: a pair not seen,
   * or seen only at a higher cost; a lower cost than the best; a task without an end, or with a later
   * end than any consistent assignment so far. One that adds nothing need not be checked.
   */
  const adds = (cost: number): boolean => {
    if (!best || cost < best.cost) return true;
    for (let k = 0; k < order.length; k++) {
      if (choice[k]! < 0) continue;
      const prev = seen[k]?.get(choice[k]!);
      if (prev === undefined || cost < prev) return true;
    }
    for (let i = 0; i < tasks.length; i++) {
      const e = br.end[i];
      const latest = latestEndMs[i]!;
      if (e ? latest === null || e.timeMs > latest : !unended[i]) return true;
    }
    return false;
  };

  /** An assignment reached: if it adds anything and is consistent, its pairs and ends are recorded, and the cheapest kept. */
  const leaf = (): boolean => {
    // a guessed span crossed: possible (the guess may be wrong), a worse fit
    const cost = costTo[order.length]! + GUESSED_SPAN_COST * br.spansCrossed(false) + loopFitCost();
    if (!adds(cost)) return false;
    if (!br.answersKept(nowMs) || !br.sequential(nowMs) || !chainsStillKept(order.length) || !loopsStillKept(order.length) || !br.endpointsKept(nowMs)) return false;
    leaves++;
    for (let i = 0; i < tasks.length; i++) {
      const e = br.end[i];
      if (!e) unended[i] = true;
      else latestEndMs[i] = Math.max(latestEndMs[i] ?? -Infinity, e.timeMs);
    }
    for (let k = 0; k < order.length; k++) {
      const i = choice[k]!;
      if (i < 0) continue;
      const m = (seen[k] ??= new Map());
      const prev = m.get(i);
      if (prev === undefined || cost < prev) m.set(i, cost);
    }
    if (!best || cost < best.cost) best = { cost, choice: choice.slice() };
    return true;
  };

  /**
   * One depth-first walk: with `force`, only branches that give those items to those tasks; with
   * `first`, it stops at the first consistent assignment. Every assignment it reaches is recorded.
   * Returns false when it ran out of its node budget before finishing.
   */
  let nodes = 0;
  let stop = false;
  let reserved: Map<string, string | null> | null = null;
  /** With `force` (an item's index and a task's id), only branches that give that item to that task. */
  const walk = (force: { at: number; id: string } | null, first: boolean, budget: number): boolean => {
    nodes = 0;
    stop = false;
    reserved = force ? new Map([[force.id, slotOf(order[force.at]!)]]) : null;
    const visit = (k: number): void => {
      if (stop) return;
      if (++nodes > budget) {
        stop = true;
        return;
      }
      if (k === order.length) {
        if (leaf() && first) stop = true;
        return;
      }
      const it = order[k]!;
      if (ahead?.doomed(br, k, lastTaken(k)) || !br.answersKept(it.timeMs) || !br.sequential(it.timeMs) || !chainsStillKept(k) || !loopsStillKept(k)) return;
      const opts = optionsFor(br, it, hasFeedback);
      if (typeof opts === 'boolean') {
        costTo[k + 1] = costTo[k]!;
        if (opts) visit(k + 1);
        return;
      }
      const want = force?.at === k ? force.id : undefined;
      for (const o of opts.sort((x, y) => x.cost - y.cost)) {
        if (want !== undefined && o.id !== want) continue;
        // a forced later pair needs its task's slot free: an earlier item of that kind cannot take it
        if (want === undefined && reserved?.get(o.id) === slotOf(it)) continue;
        const undo = o.apply();
        choice[k] = o.at;
        costTo[k + 1] = costTo[k]! + o.cost;
        visit(k + 1);
        choice[k] = -1;
        undo();
        if (stop) return;
      }
    };
    visit(0);
    return nodes <= budget;
  };

  // every consistent assignment, within a budget; past it, for every pair an item could still take, a
  // walk that looks for one consistent assignment with it: a pair none has is impossible
  const complete = walk(null, false, limits.maxNodes);
  // a walk that finished reached every consistent assignment: every possible pair is seen
  if (leaves > 0 && !complete) {
    order.forEach((it, k) => {
      // an item already seen with two tasks is inferred whatever else it could be: only a single
      // task so far needs the question asked of every other task that may take it
      if (it.kind === 'close' || (seen[k]?.size ?? 0) > 1) return;
      tasks.forEach((t, i) => {
        if ((seen[k]?.size ?? 0) > 1 || seen[k]?.has(i) || !mayTake(t, it)) return;
        const finished = walk({ at: k, id: t.id }, true, limits.maxNodes);
        // undecided within the budget: it may be possible
        if (!finished) {
          (seen[k] ??= new Map()).set(i, Infinity);
          truncated = true;
        }
      });
    });
  }

  const chosen = (best as { choice: Int32Array } | null)?.choice;
  const out = new Map<string, ItemAnswer>();
  order.forEach((it, k) => {
    if (it.kind === 'close') return;
    const costs = seen[k];
    const ids = !costs ? [] : (costs.size === 1 ? [...costs.keys()] : [...costs.entries()].sort((a, b) => a[1] - b[1]).map(([i]) => i)).map((i) => tasks[i]!.id);
    out.set(it.key, {
      taskId: chosen && chosen[k]! >= 0 ? tasks[chosen[k]!]!.id : null,
      link: ids.length === 1 ? 'determined' : 'inferred',
      candidates: ids.length,
      candidateIds: ids,
    });
  });
  const ended = new Map<string, { inAll: boolean; latestMs: number | null }>();
  tasks.forEach((t, i) => ended.set(t.id, { inAll: leaves > 0 && !unended[i], latestMs: latestEndMs[i]! }));
  return { leaves, truncated, items: out, ended };
}
