/**
 * Every task ran on one of the run's endpoints, one task at a time on each: whether the tasks a branch
 * of the search places nowhere still fit (see Branch.endpointsKept). Pure.
 */
import type { LoopCount, WindowTask, WrittenSpan } from './types';

/** A task's time on its endpoint, from..to (ms; to > from). */
export type Span = [number, number];

/** The tasks outside the search: per endpoint (`endpointKey`) those a sure span places there, and those placed nowhere. */
export interface Outside {
  taken: Map<string, Span[]>;
  free: Span[];
}

/** Steps the fitting may take before it gives up and allows the branch. */
const FIT_STEPS = 500;

/**
 * The tasks outside the search (`tasks`), once per search: on their endpoint where a sure span says
 * it, else placed nowhere, for their sure busy time; only those that reach the search's tasks' time
 * (leaving some out only makes the check weaker).
 */
export function outsideOnEndpoints(tasks: WindowTask[], spans: WrittenSpan[], endpoints: string[], busy: LoopCount['busy']): Outside {
  const inSearch = new Set<string>();
  let since = Infinity;
  for (const t of tasks) {
    inSearch.add(t.id);
    since = Math.min(since, t.receivedMs);
  }
  const taken = new Map<string, Span[]>();
  for (const k of endpoints) taken.set(k, []);
  const placed = new Set<string>();
  for (const s of spans) {
    if (!s.sure || inSearch.has(s.id) || s.toMs <= since) continue;
    const lane = taken.get(s.key);
    if (!lane) continue;
    lane.push([s.fromMs, Math.max(s.toMs, s.fromMs + 1)]);
    placed.add(s.id);
  }
  const free: Span[] = [];
  for (const b of busy) {
    if (b.id === undefined || placed.has(b.id) || inSearch.has(b.id) || b.toMs <= since) continue;
    free.push([b.fromMs, Math.max(b.toMs, b.fromMs + 1)]);
  }
  return { taken, free };
}

/**
 * Whether the `free` spans can each go on an endpoint (`lanes`: per endpoint, the spans already on it) or on one
 * of the loops beyond them (`loops` in all), no two overlapping on one. Free spans that overlap no
 * other free span (directly or through a chain) place apart: a backtracking search per such group,
 * most constrained span first; past FIT_STEPS it answers yes (a branch is only ever cut on a proof).
 */
export function fitsOnEndpoints(lanes: Span[][], free: Span[], loops: number): boolean {
  // loops beyond the known endpoints are alike: a span needs only the first empty one
  const spare = Math.max(0, loops - lanes.length);
  const sorted = [...free].sort((a, b) => a[0] - b[0]);
  let steps = 0;
  for (let i = 0; i < sorted.length; ) {
    // a group: free spans chained by overlaps, in order of start
    let j = i + 1;
    let reach = sorted[i]![1];
    for (; j < sorted.length && sorted[j]![0] < reach; j++) reach = Math.max(reach, sorted[j]![1]);
    const group = sorted.slice(i, j);
    i = j;
    if (group.length === 1) {
      if (!spare && !lanes.some((lane) => clear(lane, group[0]!))) return false;
      continue;
    }
    const fits = fitGroup(lanes, group, spare, () => ++steps > FIT_STEPS);
    if (fits === 'gave up') return true;
    if (!fits) return false;
  }
  return true;
}

/**
 * A first fit, for the common case: the free spans in order of start, each on the first lane (the
 * endpoints', then the loops beyond them) no span already there overlaps. Finding one proves the spans
 * fit, which is what fitsOnEndpoints answers then; not finding one proves nothing (it asks then). Over
 * flat arrays, without allocating: spans [0, placed) are on their lanes (`lane`), spans [placed,
 * count) are free, sorted by start, and are given lanes.
 */
export function firstFit(from: Float64Array, to: Float64Array, lane: Int32Array, placed: number, count: number, lanes: number): boolean {
  for (let i = placed; i < count; i++) {
    const f = from[i]!;
    const u = to[i]!;
    let l = 0;
    for (; l < lanes; l++) {
      let j = 0;
      while (j < i && !(lane[j] === l && from[j]! < u && f < to[j]!)) j++;
      if (j === i) break;
    }
    if (l === lanes) return false;
    lane[i] = l;
  }
  return true;
}

/** No span of `lane` overlaps `x`. */
function clear(lane: Span[], [from, to]: Span): boolean {
  return lane.every(([f, u]) => !(f < to && from < u));
}

/** fitsOnEndpoints for one group of free spans; 'gave up' when `tired` says so. */
function fitGroup(lanes: Span[][], group: Span[], spare: number, tired: () => boolean): boolean | 'gave up' {
  // per span, the endpoints the placed spans leave it
  const options = group.map((x) => ({ x, lanes: lanes.filter((lane) => clear(lane, x)) }));
  if (!spare && options.some((o) => !o.lanes.length)) return false;
  options.sort((a, b) => a.lanes.length - b.lanes.length);
  const extra: Span[][] = [];
  let gaveUp = false;
  const tryLane = (lane: Span[], i: number): boolean => {
    lane.push(options[i]!.x);
    const ok = fit(i + 1);
    lane.pop();
    return ok;
  };
  const fit = (i: number): boolean => {
    if (i === options.length) return true;
    if (tired()) {
      gaveUp = true;
      return true;
    }
    const { x, lanes: open } = options[i]!;
    for (const lane of [...open, ...extra]) if (clear(lane, x) && tryLane(lane, i)) return true;
    if (extra.length < spare) {
      const lane: Span[] = [];
      extra.push(lane);
      const ok = tryLane(lane, i);
      extra.pop();
      if (ok) return true;
    }
    return false;
  };
  const fits = fit(0);
  return gaveUp ? 'gave up' : fits;
}
