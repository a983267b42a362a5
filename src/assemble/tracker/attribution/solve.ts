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
  const order = items
    .map((it, i) => ({ it, i }))
    .sort((a, b) => a.it.timeMs - b.it.timeMs || a.i - b.i)
    .map((x) => x.it);
  const br = new Branch(tasks, limits, spans, loopCount);
  const ahead = lookahead ? new Lookahead(order, tasks, nowMs, limits) : null;
  /** Tasks with a feedback line in the window: none of them failed to submit. */
  const hasFeedback = new Set(items.flatMap((it) => (it.kind === 'close' ? [it.taskId] : [])));
  const seen = new Map<string, Map<string, number>>(); // item -> task -> best cost of a leaf with it
  /** Per task: some consistent assignment leaves it without an end; its latest end in one. */
  const endings = new Map(tasks.map((t) => [t.id, { unended: false, latestMs: null as number | null }]));
  let leaves = 0;
  let truncated = false;
  let best: { cost: number; choice: Map<string, string | null> } | null = null;

  const mayTake = (t: WindowTask, it: WindowItem) => mayTakeItem(t, it, limits);

  // per line that frees a loop (a submit failure, a feedback), the tasks received right after it: the
  // next pull of that loop, likely; a written one (outside the search) by the worker group its span is on
  const inSearch = new Set(tasks.map((t) => t.id));
  const pulledAfter = order.flatMap((it) => {
    if (it.kind !== 'submit_failure' && !(it.kind === 'close' && inSearch.has(it.taskId))) return [];
    const next = tasks.filter((t) => pulledRightAfter(it.timeMs, t.receivedMs));
    const written = spans.flatMap((s) => {
      if (inSearch.has(s.id) || !pulledRightAfter(it.timeMs, s.fromMs)) return [];
      const b = bindingOfKey(s.key);
      return b.ns === 'g' ? [b.value] : [];
    });
    const taskId = it.kind === 'close' ? it.taskId : null;
    return next.length || written.length ? [{ key: it.key, taskId, next, written }] : [];
  });
  /** A soft fit: the task a line freed the loop of (its feedback, its submit failure), and the task pulled right after it, on one worker. */
  const loopFitCost = (): number => {
    let cost = 0;
    for (const { key, taskId, next, written } of pulledAfter) {
      const id = taskId ?? br.choice.get(key);
      const own = id ? br.bind.get(id)!.get('g') : undefined;
      if (own === undefined) continue;
      const elsewhere = (t: WindowTask) => {
        const g = br.bind.get(t.id)!.get('g');
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
    const id = br.choice.get(prev.key);
    return !id || br.loopsKept(br.byId.get(id));
  };

  /**
   * No sure written span crossed after the walk took item k - 1: checked whole at the root; after
   * that only the task the item went to has new facts (an end, a submit failure, a binding).
   */
  const chainsStillKept = (k: number): boolean => {
    if (k === 0) return br.chainsKept();
    const id = br.choice.get(order[k - 1]!.key);
    return !id || br.chainsKept(br.byId.get(id));
  };

  /** The task item k - 1 went to (null: none, a feedback line); undefined at the root. */
  const lastTaken = (k: number): WindowTask | null | undefined => {
    if (k === 0) return undefined;
    const id = br.choice.get(order[k - 1]!.key);
    return id ? br.byId.get(id) : null;
  };

  /**
   * Whether an assignment, were it consistent, would add to what the search knows: a pair not seen,
   * or seen only at a higher cost; a lower cost than the best; a task without an end, or with a later
   * end than any consistent assignment so far. One that adds nothing need not be checked.
   */
  const adds = (cost: number): boolean => {
    if (!best || cost < best.cost) return true;
    for (const [key, id] of br.choice) {
      if (id === null) continue;
      const prev = seen.get(key)?.get(id);
      if (prev === undefined || cost < prev) return true;
    }
    for (const [id, x] of endings) {
      const e = br.end.get(id);
      if (e ? x.latestMs === null || e.timeMs > x.latestMs : !x.unended) return true;
    }
    return false;
  };

  /** An assignment reached: if it adds anything and is consistent, its pairs and ends are recorded, and the cheapest kept. */
  const leaf = (): boolean => {
    // a guessed span crossed: possible (the guess may be wrong), a worse fit
    const cost = br.cost + GUESSED_SPAN_COST * br.spansCrossed(false) + loopFitCost();
    if (!adds(cost)) return false;
    if (!br.answersKept(nowMs) || !br.sequential(nowMs) || !chainsStillKept(order.length) || !loopsStillKept(order.length) || !br.endpointsKept(nowMs)) return false;
    leaves++;
    for (const [id, x] of endings) {
      const e = br.end.get(id);
      if (!e) x.unended = true;
      else x.latestMs = Math.max(x.latestMs ?? -Infinity, e.timeMs);
    }
    for (const [key, id] of br.choice) {
      if (id === null) continue;
      let m = seen.get(key);
      if (!m) seen.set(key, (m = new Map()));
      const prev = m.get(id);
      if (prev === undefined || cost < prev) m.set(id, cost);
    }
    if (!best || cost < best.cost) best = { cost, choice: new Map(br.choice) };
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
  const walk = (force: Map<string, string> | null, first: boolean, budget: number): boolean => {
    nodes = 0;
    stop = false;
    reserved = force ? new Map([...force].map(([key, id]) => [id, slotOf(order.find((x) => x.key === key)!)])) : null;
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
      if (!br.answersKept(it.timeMs) || !br.sequential(it.timeMs) || !chainsStillKept(k) || !loopsStillKept(k) || ahead?.doomed(br, k, lastTaken(k))) return;
      const opts = optionsFor(br, it, hasFeedback);
      if (typeof opts === 'boolean') {
        if (opts) visit(k + 1);
        return;
      }
      const want = force?.get(it.key);
      for (const o of opts.sort((x, y) => x.cost - y.cost)) {
        if (want !== undefined && o.id !== want) continue;
        // a forced later pair needs its task's slot free: an earlier item of that kind cannot take it
        if (want === undefined && reserved?.get(o.id) === slotOf(it)) continue;
        const undo = o.apply();
        br.choice.set(it.key, o.id);
        br.cost += o.cost;
        visit(k + 1);
        br.cost -= o.cost;
        br.choice.delete(it.key);
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
    for (const it of order) {
      // an item already seen with two tasks is inferred whatever else it could be: only a single
      // task so far needs the question asked of every other task that may take it
      if (it.kind === 'close' || (seen.get(it.key)?.size ?? 0) > 1) continue;
      for (const t of tasks) {
        if ((seen.get(it.key)?.size ?? 0) > 1) break;
        if (seen.get(it.key)?.has(t.id) || !mayTake(t, it)) continue;
        const finished = walk(new Map([[it.key, t.id]]), true, limits.maxNodes);
        if (!finished) {
          // undecided within the budget: it may be possible
          let m = seen.get(it.key);
          if (!m) seen.set(it.key, (m = new Map()));
          m.set(t.id, Infinity);
          truncated = true;
        }
      }
    }
  }

  const chosen = (best as { choice: Map<string, string | null> } | null)?.choice;
  const out = new Map<string, ItemAnswer>();
  for (const it of order) {
    if (it.kind === 'close') continue;
    const ids = [...(seen.get(it.key) ?? new Map<string, number>()).entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    out.set(it.key, {
      taskId: chosen?.get(it.key) ?? null,
      link: ids.length === 1 ? 'determined' : 'inferred',
      candidates: ids.length,
      candidateIds: ids,
    });
  }
  const ended = new Map([...endings].map(([id, x]) => [id, { inAll: leaves > 0 && !x.unended, latestMs: x.latestMs }]));
  return { leaves, truncated, items: out, ended };
}
