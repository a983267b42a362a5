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
  fixedEnd: { timeMs: number; completed: boolean; late: boolean } | null;
  fixedBindings: Binding[];
  fixedAnswerMs: number | null;
  fixedDurationMs: number | null;
  /**
   * Closed at this time (its feedback, a settled submit failure, a timeout, an interruption): nothing
   * later is its. A feedback line also says its end came before: that is a `close` item.
   */
  closedMs: number | null;
  /** Cut short at this time (a miner restart): its worker may still finish it, so its later worker lines are its. */
  abandonedMs: number | null;
  /** It had its feedback: no submit failure is its. */
  hadFeedback: boolean;
  /** Excused from needing an end at its close (its end line was lost: nothing consistent had one; interrupted). */
  endLost: boolean;
  /** The validator scored it above 0: its generation completed. */
  mustComplete: boolean;
  /** The validator that gave it (uid, hotkey), where known: a submit failure naming another is not its. */
  validatorUid: number | null;
  validatorHotkey: string | null;
}

export type WindowItem =
  /** `late`: the miner gave up waiting (a timeout, a dropped connection): the worker may still be at it. */
  | { kind: 'end'; key: string; timeMs: number; completed: boolean; late: boolean; binding: Binding | null; bytes: number | null }
  /** The validator the line names, by hotkey (and uid, where known): a task of another cannot take it. */
  | { kind: 'submit_failure'; key: string; timeMs: number; validatorHotkey: string | null; validatorUid: number | null }
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
  /** Nodes one walk of the search may visit; a question left open by it counts as possible (so `inferred`). */
  maxNodes: number;
}

export const DEFAULT_LIMITS: AttributionLimits = { slackMs: 50, maxAnswerLagMs: 10_000, fileEarlyMs: 1000, maxNodes: 5000 };

export interface ItemAnswer {
  /** The task of the best consistent assignment (null: no task can take it). */
  taskId: string | null;
  link: 'determined' | 'inferred';
  /**
   * Distinct tasks the item goes to in the consistent assignments the search reached: all of them
   * when it is 1 (every other task was ruled out), at least these when more.
   */
  candidates: number;
  /** Those tasks, best first. */
  candidateIds: string[];
}

export interface Attribution {
  /** Consistent assignments reached (0: the window contradicts itself; see `solve`'s caller). */
  leaves: number;
  /** Some question was left open by the node budget (its pair counted as possible). */
  truncated: boolean;
  items: Map<string, ItemAnswer>;
  /** Per task: whether it has ended in every assignment the search reached, and its latest end there (for timeouts). */
  ended: Map<string, { inAll: boolean; latestMs: number | null }>;
}

interface Ends {
  timeMs: number;
  completed: boolean;
  late: boolean;
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
  /** Per endpoint (namespace and value), the tasks bound to it in this branch: the overlap checks look only there. */
  const boundTo = new Map<string, Set<WindowTask>>();
  const endpointKey = (ns: Binding['ns'], value: string) => `${ns}\u0000${value}`;
  const boundSet = (ns: Binding['ns'], value: string) => {
    const k = endpointKey(ns, value);
    return boundTo.get(k) ?? boundTo.set(k, new Set()).get(k)!;
  };
  for (const t of tasks) {
    if (t.fixedEnd) br.end.set(t.id, { ...t.fixedEnd, bytes: null });
    br.bind.set(t.id, new Map(t.fixedBindings.map((b) => [b.ns, b.value])));
    for (const b of t.fixedBindings) boundSet(b.ns, b.value).add(t);
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
  /** The miner gave up on `t` before `ms` (a timeout, a dropped connection, a restart): its worker may still be at it. */
  const givenUpBefore = (t: WindowTask, ms: number): boolean => {
    const e = br.end.get(t.id);
    return (!!e && e.late && e.timeMs + limits.slackMs < ms) || (t.abandonedMs !== null && t.abandonedMs < ms);
  };
  /** Closed before `ms`, except that a worker may finish what the miner abandoned. */
  const workerClosedBefore = (t: WindowTask, ms: number): boolean =>
    t.abandonedMs !== null ? (br.submitted.get(t.id) ?? Infinity) < ms : closedBefore(t, ms);

  /**
   * Another task on endpoint `value` generating while `t` does, as far as the walk knows at `nowAt`:
   * a task with no end yet is generating up to `nowAt` (an end it takes later comes after it), or up
   * to its close (a restart ends the miner's side of it, whatever its worker still does).
   */
  const until = (id: string, nowAt: number) => Math.min(endOf(id), byId.get(id)!.closedMs ?? Infinity, nowAt);
  const overlaps = (t: WindowTask, ns: Binding['ns'], value: string, nowAt: number): boolean => {
    const others = boundTo.get(endpointKey(ns, value));
    if (!others) return false;
    for (const o of others) if (o !== t && o.startMs < until(t.id, nowAt) && t.startMs < until(o.id, nowAt)) return true;
    return false;
  };

  /** Binding `t` to `b` keeps one task at a time on that endpoint. */
  const canBind = (t: WindowTask, b: Binding, nowAt: number): boolean => {
    const own = br.bind.get(t.id)!.get(b.ns);
    return own !== undefined ? own === b.value : !overlaps(t, b.ns, b.value, nowAt);
  };
  /** Every endpoint runs one task at a time, up to `nowAt`. */
  const sequential = (nowAt: number): boolean => {
    for (const group of boundTo.values()) {
      if (group.size < 2) continue;
      const ts = [...group];
      for (let i = 0; i < ts.length; i++)
        for (let j = i + 1; j < ts.length; j++) {
          const a = ts[i]!;
          const b = ts[j]!;
          if (a.startMs < until(b.id, nowAt) && b.startMs < until(a.id, nowAt)) return false;
        }
    }
    return true;
  };

  /** A task whose worker answered must have its end within the lag; checked as time passes. */
  const answersKept = (ms: number): boolean => {
    for (const [id, a] of br.answer) if (!br.end.has(id) && !byId.get(id)!.endLost && ms - a.timeMs > limits.maxAnswerLagMs) return false;
    return true;
  };

  /** Binds `t` to `b` (if it is not bound in that namespace yet); returns the undo. */
  const bind = (t: WindowTask, b: Binding | null): (() => void) => {
    const m = br.bind.get(t.id)!;
    if (b === null || m.has(b.ns)) return () => {};
    m.set(b.ns, b.value);
    const group = boundSet(b.ns, b.value);
    group.add(t);
    return () => {
      m.delete(b.ns);
      group.delete(t);
    };
  };

  interface Option {
    id: string;
    cost: number;
    /** Changes the branch; returns the undo. */
    apply: () => () => void;
  }

  /** The ways the branch can take item `it` (tried cheapest first), or whether a named line holds. */
  const optionsFor = (it: WindowItem): Option[] | boolean => {
    const out: Option[] = [];
    switch (it.kind) {
      case 'close': {
        // its feedback: its end came before, it did not also fail to submit, and a score above 0 means it completed
        const t = byId.get(it.taskId);
        const e = t ? br.end.get(t.id) : undefined;
        return !(t && ((!e && !t.endLost) || br.submitted.has(t.id) || (e && it.mustComplete && !e.completed)));
      }
      case 'end':
        for (const t of tasks) {
          if (!t.canEnd || br.end.has(t.id) || closedBefore(t, it.timeMs) || t.startMs > it.timeMs + limits.slackMs) continue;
          if (it.binding && !canBind(t, it.binding, it.timeMs)) continue;
          const a = br.answer.get(t.id);
          if (a && (it.timeMs < a.timeMs - limits.slackMs || it.timeMs - a.timeMs > limits.maxAnswerLagMs)) continue;
          // the worker's own measure of the request lies inside the miner's interval, short of it by the
          // request's and the answer's transfer at most
          if (a && a.durationMs !== null) {
            const gap = it.timeMs - t.startMs - a.durationMs;
            if (gap < -limits.slackMs || gap > limits.maxAnswerLagMs) continue;
          }
          const unbind = bind(t, it.binding);
          const clash = [...br.bind.get(t.id)!].some(([ns, value]) => overlaps(t, ns, value, it.timeMs));
          unbind();
          if (clash) continue;
          const file = br.fileSize.get(t.id);
          out.push({
            id: t.id,
            cost: endCost(t, it.timeMs, a) + (it.bytes !== null && file !== undefined && file !== it.bytes ? SIZE_MISMATCH_COST : 0),
            apply: () => {
              const undo = bind(t, it.binding);
              br.end.set(t.id, { timeMs: it.timeMs, completed: it.completed, late: it.late, bytes: it.bytes });
              return () => {
                br.end.delete(t.id);
                undo();
              };
            },
          });
        }
        return out;
      case 'submit_failure':
        for (const t of tasks) {
          if (!br.end.has(t.id) || t.hadFeedback || closedBefore(t, it.timeMs) || br.submitted.has(t.id) || hasFeedback.has(t.id)) continue;
          if (otherValidator(t, it)) continue;
          out.push({
            id: t.id,
            cost: 0,
            apply: () => {
              br.submitted.set(t.id, it.timeMs);
              return () => br.submitted.delete(t.id);
            },
          });
        }
        return out;
      case 'worker':
      case 'file': {
        const b: Binding = { ns: 'g', value: it.group };
        const early = it.kind === 'file' ? limits.fileEarlyMs : limits.slackMs;
        const late = it.kind === 'file' ? it.lateMs : 0;
        // one task at a time on an endpoint: the task known to run there, if it is generating now, is the
        // only one the miner is waiting for; a worker may still be at one the miner gave up on
        const open = tasks.filter((t) => !closedBefore(t, it.timeMs) && generatingAt(t, it.timeMs, early, late));
        const bound = open.filter((t) => br.bind.get(t.id)!.get('g') === it.group);
        const current = bound.length ? bound : open.filter((o) => canBind(o, b, it.timeMs));
        const givenUp =
          it.kind === 'worker' ? tasks.filter((t) => !open.includes(t) && !workerClosedBefore(t, it.timeMs) && givenUpBefore(t, it.timeMs) && canBind(t, b, it.timeMs)) : [];
        for (const t of [...current, ...givenUp]) {
          const e = br.end.get(t.id);
          const after = givenUp.includes(t);
          if (it.kind === 'file') {
            if (br.fileSize.has(t.id)) continue;
            out.push({
              id: t.id,
              cost: e && e.bytes !== null && e.bytes !== it.size ? SIZE_MISMATCH_COST : 0,
              apply: () => {
                const undo = bind(t, b);
                br.fileSize.set(t.id, it.size);
                return () => {
                  br.fileSize.delete(t.id);
                  undo();
                };
              },
            });
            continue;
          }
          if (it.promptKind && t.taskType && it.promptKind !== t.taskType) continue;
          if (it.promptChars !== null && t.promptLength !== null && it.promptChars !== t.promptLength) continue;
          if (it.answer && (br.answer.has(t.id) || (!after && e && it.timeMs > e.timeMs + limits.slackMs))) continue;
          // after the miner gave up, the worker's own duration still starts after the generating line
          if (after && it.durationMs !== null && t.startMs + it.durationMs > it.timeMs + limits.slackMs) continue;
          out.push({
            id: t.id,
            cost: after ? 1 + (it.durationMs !== null ? (10 * Math.abs(it.timeMs - t.startMs - it.durationMs)) / 1000 : 0) : 0,
            apply: () => {
              const undo = bind(t, b);
              if (it.answer) br.answer.set(t.id, { timeMs: it.timeMs, durationMs: it.durationMs });
              return () => {
                if (it.answer) br.answer.delete(t.id);
                undo();
              };
            },
          });
        }
        return out;
      }
    }
  };

  const mayTake = (t: WindowTask, it: WindowItem) => mayTakeItem(t, it, limits);

  /** A consistent assignment reached: its pairs and ends are recorded, and the cheapest kept. */
  const leaf = (): boolean => {
    if (!answersKept(nowMs) || !sequential(nowMs)) return false;
    leaves++;
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
      if (!answersKept(it.timeMs) || !sequential(it.timeMs)) return;
      const opts = optionsFor(it);
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
  const ended = new Map([...endings].map(([id, x]) => [id, { inAll: leaves > 0 && x.leaves === leaves, latestMs: x.latestMs }]));
  return { leaves, truncated, items: out, ended };
}

/**
 * `solve` remembered: the window is solved again at every event and as time passes, and most parts
 * have not changed since. `nowMs` matters to a solution only through the deadlines it has passed (an
 * answer's lag, a task's start for the overlap of tasks with no end yet), so those make the key.
 */
export class SolveMemo {
  private readonly entries = new Map<string, Attribution>();
  constructor(private readonly size = 256) {}

  solve(tasks: WindowTask[], items: WindowItem[], nowMs: number, limits: AttributionLimits): Attribution {
    const thresholds = [
      ...tasks.map((t) => t.startMs),
      ...tasks.flatMap((t) => (t.fixedAnswerMs === null ? [] : [t.fixedAnswerMs + limits.maxAnswerLagMs])),
      ...items.flatMap((it) => (it.kind === 'worker' && it.answer ? [it.timeMs + limits.maxAnswerLagMs] : [])),
    ];
    const key = `${JSON.stringify([tasks, items, limits])}|${thresholds.map((x) => (nowMs > x ? 1 : 0)).join('')}`;
    const hit = this.entries.get(key);
    if (hit) {
      // most recently used last
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const res = solve(tasks, items, nowMs, limits);
    this.entries.set(key, res);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return res;
  }
}

/**
 * Whether the fixed facts alone let `t` take `it`: a superset of what the search allows, so items
 * and tasks it never connects can be solved apart (see `components`), and a cheap filter before a
 * walk has to prove a pair impossible.
 */
export function mayTakeItem(t: WindowTask, it: WindowItem, limits: AttributionLimits): boolean {
  if (it.kind === 'close') return it.taskId === t.id;
  if (t.closedMs !== null && t.closedMs < it.timeMs && it.kind !== 'file' && !(it.kind === 'worker' && t.abandonedMs !== null)) return false;
  const early = it.kind === 'file' ? limits.fileEarlyMs : limits.slackMs;
  if (t.startMs > it.timeMs + early) return false;
  const boundElsewhere = (b: Binding) => t.fixedBindings.some((x) => x.ns === b.ns && x.value !== b.value);
  switch (it.kind) {
    case 'end':
      return t.canEnd && !t.fixedEnd && !(it.binding && boundElsewhere(it.binding));
    case 'submit_failure':
      return !t.hadFeedback && !otherValidator(t, it);
    case 'worker':
    case 'file': {
      if (boundElsewhere({ ns: 'g', value: it.group })) return false;
      // a generation that ended before (and was not given up on) has no more worker lines
      const e = t.fixedEnd;
      if (e && !e.late && it.timeMs > e.timeMs + limits.slackMs + (it.kind === 'file' ? it.lateMs : 0)) return false;
      if (it.kind === 'file') return true;
      return (!it.promptKind || !t.taskType || it.promptKind === t.taskType) && (it.promptChars === null || t.promptLength === null || it.promptChars === t.promptLength);
    }
  }
}

/**
 * The window split into parts no item connects (`mayTakeItem`), each solved on its own: fewer
 * constraints per part than in one search, so whatever a part determines the whole would too, and a
 * busy miner's window does not grow into one search over every open task.
 */
export function components(tasks: WindowTask[], items: WindowItem[], limits: AttributionLimits): { tasks: WindowTask[]; items: WindowItem[] }[] {
  const parent = new Map(tasks.map((t) => [t.id, t.id]));
  const find = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(id, r);
    return r;
  };
  const takers = items.map((it) => tasks.filter((t) => mayTakeItem(t, it, limits)).map((t) => t.id));
  for (const ids of takers) for (const id of ids.slice(1)) parent.set(find(id), find(ids[0]!));
  const parts = new Map<string, { tasks: WindowTask[]; items: WindowItem[] }>();
  const part = (root: string) => parts.get(root) ?? parts.set(root, { tasks: [], items: [] }).get(root)!;
  for (const t of tasks) part(find(t.id)).tasks.push(t);
  // an item no task may take is a part of its own: nothing consistent, so it is let go
  items.forEach((it, i) => (takers[i]!.length ? part(find(takers[i]![0]!)) : part(`none:${it.key}`)).items.push(it));
  return [...parts.values()].filter((p) => p.items.length);
}

/** The failure names a validator, and the task is known to be another's. */
function otherValidator(t: WindowTask, it: { validatorHotkey: string | null; validatorUid: number | null }): boolean {
  const known = <T>(x: T | null | undefined): x is T => x !== null && x !== undefined;
  return (
    (known(it.validatorUid) && known(t.validatorUid) && it.validatorUid !== t.validatorUid) ||
    (!!it.validatorHotkey && !!t.validatorHotkey && it.validatorHotkey !== t.validatorHotkey)
  );
}

/** The one-per-task slot an item fills (its end, its submit failure, its answer, its file), if any. */
function slotOf(it: WindowItem): string | null {
  if (it.kind === 'worker') return it.answer ? 'answer' : null;
  return it.kind === 'close' ? null : it.kind;
}

/**
 * How well an end fits a task (lower is better). An end just after the task's worker answered, the
 * worker's own duration inside the miner's interval, is by far the best evidence (a bonus per pair,
 * then the lag and the duration gap); with no worker evidence, older tasks end first, and ends pair
 * with tasks in order (the small squared duration).
 */
function endCost(t: WindowTask, endMs: number, a: Answer | undefined): number {
  const dur = (endMs - t.startMs) / 1000;
  let cost = 1e-4 * dur * dur - 0.1 * dur;
  if (a) {
    cost += -50 + 10 * Math.max(0, (endMs - a.timeMs) / 1000);
    if (a.durationMs !== null) cost += 10 * Math.abs(dur - a.durationMs / 1000);
  }
  return cost;
}
