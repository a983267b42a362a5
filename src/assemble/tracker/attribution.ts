/**
 * Attribution: which open task each unnamed event belongs to. Pure: the open window in, every
 * assignment consistent with what the logs guarantee out, and per event the answer —
 * `determined` when every consistent assignment agrees, else `inferred` (the best time fit) with
 * the number of tasks it could be.
 *
 * What the logs guarantee (reference upstream-miner-logs.md, "Correlating a task"): each endpoint
 * runs one task at a time; a task has exactly one generation end, after its generating line and
 * before its feedback (or submit failure); a score above 0 means the generation completed; a
 * worker's lines and its output files belong to the task generating on its endpoint, and its
 * answer comes before the miner's end line and at most `maxAnswerLagMs` before it; the worker's
 * own duration fits inside the miner's generating-to-end interval.
 *
 * The search is a depth-first walk over the window's items in time order; the window holds only
 * what is still open (settled items are folded into their task's fixed facts by the caller), so it
 * stays small: a few tasks per endpoint.
 */

/** A binding namespace: `g` a worker group (config name), `u` an endpoint URL no group is known for. */
export type Binding = { ns: 'g' | 'u'; value: string };

export interface WindowTask {
  id: string;
  /** The generating line's time (the received line's when the generating line was lost). */
  startMs: number;
  /** Its generating line was seen (or is known lost): an end can be its. */
  canEnd: boolean;
  /** The task's prompt, for worker lines that say what they were asked. */
  taskType: 'TEXT-TO-3D' | 'IMAGE-TO-3D' | null;
  promptLength: number | null;
  /** Facts already settled: its end (time, completed), its endpoints, its answer. */
  fixedEnd: { timeMs: number; completed: boolean } | null;
  fixedBindings: Binding[];
  fixedAnswerMs: number | null;
  fixedDurationMs: number | null;
  /**
   * Closed at this time (its feedback, a settled submit failure, a timeout, an interruption): nothing
   * later is its. A feedback line also says its end came before: that is a `close` item.
   */
  closedMs: number | null;
  /** Excused from needing an end at its close (its end line was lost: nothing consistent had one; interrupted). */
  endLost: boolean;
  /** The validator scored it above 0: its generation completed. */
  mustComplete: boolean;
}

export type WindowItem =
  | { kind: 'end'; key: string; timeMs: number; completed: boolean; binding: Binding | null; bytes: number | null }
  | { kind: 'submit_failure'; key: string; timeMs: number }
  /**
   * A worker line of one group. `answer`: the worker answered the request here (its last line
   * before the response); `durationMs`: the worker's own measure of the request.
   */
  | {
      kind: 'worker';
      key: string;
      timeMs: number;
      group: string;
      answer: boolean;
      durationMs: number | null;
      promptKind: 'TEXT-TO-3D' | 'IMAGE-TO-3D' | null;
      promptChars: number | null;
    }
  /** A file in a worker group's output directory, timed by its mtime; one per generation. */
  | { kind: 'file'; key: string; timeMs: number; group: string; size: number; lateMs: number }
  /** A named closing line (feedback) of a task: the task's end came before it. */
  | { kind: 'close'; key: string; timeMs: number; taskId: string; mustComplete: boolean };

export interface AttributionLimits {
  /** Clock granularity and ordering slack between the miner's and the workers' lines. */
  slackMs: number;
  /** The miner logs a generation's end at most this long after its worker answered. */
  maxAnswerLagMs: number;
  /** An output file may carry a time this much before its generating line. */
  fileEarlyMs: number;
  /** Stop enumerating past this many consistent assignments (then nothing is `determined`). */
  maxLeaves: number;
}

export const DEFAULT_LIMITS: AttributionLimits = { slackMs: 50, maxAnswerLagMs: 10_000, fileEarlyMs: 1000, maxLeaves: 4096 };

export interface ItemAnswer {
  /** The task of the best consistent assignment (null: no task can take it). */
  taskId: string | null;
  link: 'determined' | 'inferred';
  /** Distinct tasks the item goes to over all consistent assignments. */
  candidates: number;
  /** Those tasks, best first. */
  candidateIds: string[];
}

export interface Attribution {
  /** Consistent assignments found (0: the window contradicts itself; see `solve`'s caller). */
  leaves: number;
  truncated: boolean;
  items: Map<string, ItemAnswer>;
  /** Per task: whether it has ended in every consistent assignment, and its latest possible end. */
  ended: Map<string, { inAll: boolean; latestMs: number | null }>;
}

interface Ends {
  timeMs: number;
  completed: boolean;
  bytes: number | null;
}

interface Answer {
  timeMs: number;
  durationMs: number | null;
}

/** The mutable state of one branch of the search (undone on the way back). */
interface Branch {
  end: Map<string, Ends>;
  /** Tasks a submit failure closed in this branch, and when. */
  submitted: Map<string, number>;
  bind: Map<string, Map<Binding['ns'], string>>;
  answer: Map<string, Answer>;
  fileSize: Map<string, number>;
  choice: Map<string, string | null>;
  cost: number;
}

/** A Size figure that differs from the linked file's size: possible (a worker may return other bytes), unlikely. */
const SIZE_MISMATCH_COST = 5;

/**
 * Every consistent assignment of the window's items to its tasks; per item the answer. Items are
 * walked in time order (ties in the given order).
 */
export function solve(tasks: WindowTask[], items: WindowItem[], nowMs: number, limits: AttributionLimits = DEFAULT_LIMITS): Attribution {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const order = items
    .map((it, i) => ({ it, i }))
    .sort((a, b) => a.it.timeMs - b.it.timeMs || a.i - b.i)
    .map((x) => x.it);
  const br: Branch = { end: new Map(), submitted: new Map(), bind: new Map(), answer: new Map(), fileSize: new Map(), choice: new Map(), cost: 0 };
  for (const t of tasks) {
    if (t.fixedEnd) br.end.set(t.id, { ...t.fixedEnd, bytes: null });
    br.bind.set(t.id, new Map(t.fixedBindings.map((b) => [b.ns, b.value])));
    if (t.fixedAnswerMs !== null) br.answer.set(t.id, { timeMs: t.fixedAnswerMs, durationMs: t.fixedDurationMs });
  }
  /** Tasks with a feedback line in the window: none of them failed to submit. */
  const hasFeedback = new Set(items.flatMap((it) => (it.kind === 'close' ? [it.taskId] : [])));
  const seen = new Map<string, Map<string, number>>(); // item -> task -> best cost of a leaf with it
  const endings = new Map(tasks.map((t) => [t.id, { leaves: 0, latestMs: null as number | null }]));
  let leaves = 0;
  let truncated = false;
  let best: { cost: number; choice: Map<string, string | null> } | null = null;
  const endOf = (id: string) => br.end.get(id)?.timeMs ?? Infinity;
  /** Closed before `ms`: nothing at `ms` can be its. */
  const closedBefore = (t: WindowTask, ms: number) => Math.min(t.closedMs ?? Infinity, br.submitted.get(t.id) ?? Infinity) < ms;

  const generatingAt = (t: WindowTask, ms: number, earlyMs: number, lateMs: number): boolean =>
    t.startMs <= ms + earlyMs && ms <= endOf(t.id) + limits.slackMs + lateMs;

  /** Another task on endpoint `value` whose generation overlaps [startMs, endMs). */
  const overlaps = (t: WindowTask, ns: Binding['ns'], value: string, endMs: number): boolean =>
    tasks.some((o) => o !== t && br.bind.get(o.id)!.get(ns) === value && o.startMs < endMs && t.startMs < endOf(o.id));

  /** Binding `t` to `b` keeps one task at a time on that endpoint. */
  const canBind = (t: WindowTask, b: Binding): boolean => {
    const own = br.bind.get(t.id)!.get(b.ns);
    return own !== undefined ? own === b.value : !overlaps(t, b.ns, b.value, endOf(t.id));
  };

  /** A task whose worker answered must have its end within the lag; checked as time passes. */
  const answersKept = (ms: number): boolean => {
    for (const [id, a] of br.answer) if (!br.end.has(id) && !byId.get(id)!.endLost && ms - a.timeMs > limits.maxAnswerLagMs) return false;
    return true;
  };

  const withBinding = (t: WindowTask, b: Binding | null, next: () => void): void => {
    const m = br.bind.get(t.id)!;
    const add = b !== null && !m.has(b.ns);
    if (add) m.set(b.ns, b.value);
    next();
    if (add) m.delete(b.ns);
  };

  const leaf = (): void => {
    if (!answersKept(nowMs)) return;
    if (++leaves > limits.maxLeaves) {
      truncated = true;
      return;
    }
    for (const [id, e] of br.end) {
      const x = endings.get(id)!;
      x.leaves++;
      x.latestMs = Math.max(x.latestMs ?? -Infinity, e.timeMs);
    }
    for (const [key, id] of br.choice) {
      if (id === null) continue;
      let m = seen.get(key);
      if (!m) seen.set(key, (m = new Map()));
      const prev = m.get(id);
      if (prev === undefined || br.cost < prev) m.set(id, br.cost);
    }
    if (!best || br.cost < best.cost) best = { cost: br.cost, choice: new Map(br.choice) };
  };

  const visit = (k: number): void => {
    if (truncated) return;
    if (k === order.length) return leaf();
    const it = order[k]!;
    if (!answersKept(it.timeMs)) return;
    /** Gives the item to `id` with `cost`; `apply` changes the branch and returns its undo. */
    const take = (id: string, cost: number, apply: () => () => void): void => {
      const undo = apply();
      br.choice.set(it.key, id);
      br.cost += cost;
      visit(k + 1);
      br.cost -= cost;
      br.choice.delete(it.key);
      undo();
    };
    switch (it.kind) {
      case 'close': {
        // its feedback: its end came before, it did not also fail to submit, and a score above 0 means it completed
        const t = byId.get(it.taskId);
        const e = t ? br.end.get(t.id) : undefined;
        if (t && ((!e && !t.endLost) || br.submitted.has(t.id) || (e && it.mustComplete && !e.completed))) return;
        return visit(k + 1);
      }
      case 'end':
        for (const t of tasks) {
          if (!t.canEnd || br.end.has(t.id) || closedBefore(t, it.timeMs) || t.startMs > it.timeMs + limits.slackMs) continue;
          if (it.binding && !canBind(t, it.binding)) continue;
          const a = br.answer.get(t.id);
          if (a && (it.timeMs < a.timeMs - limits.slackMs || it.timeMs - a.timeMs > limits.maxAnswerLagMs)) continue;
          if (a && a.durationMs !== null && it.timeMs - t.startMs < a.durationMs - limits.slackMs) continue;
          withBinding(t, it.binding, () => {
            const mine = br.bind.get(t.id)!;
            for (const [ns, value] of mine) if (overlaps(t, ns, value, it.timeMs)) return;
            const file = br.fileSize.get(t.id);
            const cost = endCost(t, it.timeMs, a) + (it.bytes !== null && file !== undefined && file !== it.bytes ? SIZE_MISMATCH_COST : 0);
            take(t.id, cost, () => {
              br.end.set(t.id, { timeMs: it.timeMs, completed: it.completed, bytes: it.bytes });
              return () => br.end.delete(t.id);
            });
          });
        }
        return;
      case 'submit_failure':
        for (const t of tasks) {
          if (!br.end.has(t.id) || t.closedMs !== null || br.submitted.has(t.id) || hasFeedback.has(t.id)) continue;
          take(t.id, 0, () => {
            br.submitted.set(t.id, it.timeMs);
            return () => br.submitted.delete(t.id);
          });
        }
        return;
      case 'worker':
      case 'file': {
        const b: Binding = { ns: 'g', value: it.group };
        const early = it.kind === 'file' ? limits.fileEarlyMs : limits.slackMs;
        const late = it.kind === 'file' ? it.lateMs : 0;
        // one task at a time on an endpoint: the task known to run there, if it is generating now, is the only one
        const open = tasks.filter((t) => !closedBefore(t, it.timeMs) && generatingAt(t, it.timeMs, early, late));
        const bound = open.filter((t) => br.bind.get(t.id)!.get('g') === it.group);
        for (const t of bound.length ? bound : open.filter((o) => canBind(o, b))) {
          const e = br.end.get(t.id);
          if (it.kind === 'file') {
            if (br.fileSize.has(t.id)) continue;
            const cost = e && e.bytes !== null && e.bytes !== it.size ? SIZE_MISMATCH_COST : 0;
            withBinding(t, b, () =>
              take(t.id, cost, () => {
                br.fileSize.set(t.id, it.size);
                return () => br.fileSize.delete(t.id);
              }),
            );
            continue;
          }
          if (it.promptKind && t.taskType && it.promptKind !== t.taskType) continue;
          if (it.promptChars !== null && t.promptLength !== null && it.promptChars !== t.promptLength) continue;
          if (it.answer && (br.answer.has(t.id) || (e && it.timeMs > e.timeMs + limits.slackMs))) continue;
          withBinding(t, b, () =>
            take(t.id, 0, () => {
              if (!it.answer) return () => {};
              br.answer.set(t.id, { timeMs: it.timeMs, durationMs: it.durationMs });
              return () => br.answer.delete(t.id);
            }),
          );
        }
        return;
      }
    }
  };
  visit(0);

  const chosen = (best as { choice: Map<string, string | null> } | null)?.choice;
  const out = new Map<string, ItemAnswer>();
  for (const it of order) {
    if (it.kind === 'close') continue;
    const ids = [...(seen.get(it.key) ?? new Map<string, number>()).entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    out.set(it.key, {
      taskId: chosen?.get(it.key) ?? null,
      link: ids.length === 1 && !truncated ? 'determined' : 'inferred',
      candidates: ids.length,
      candidateIds: ids,
    });
  }
  const ended = new Map([...endings].map(([id, x]) => [id, { inAll: leaves > 0 && x.leaves === leaves, latestMs: x.latestMs }]));
  return { leaves: Math.min(leaves, limits.maxLeaves), truncated, items: out, ended };
}

/**
 * How well an end fits a task (lower is better): the lag behind its worker's answer and the gap
 * between the worker's duration and the miner's interval weigh most; with no worker evidence,
 * generations of similar length (the squared duration, which pairs ends with tasks in order).
 */
function endCost(t: WindowTask, endMs: number, a: Answer | undefined): number {
  const dur = (endMs - t.startMs) / 1000;
  let cost = 0.001 * dur * dur;
  if (a) {
    cost += 10 * Math.max(0, (endMs - a.timeMs) / 1000);
    if (a.durationMs !== null) cost += 10 * Math.abs(dur - a.durationMs / 1000);
  }
  return cost;
}

