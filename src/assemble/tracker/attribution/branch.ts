/**
 * The mutable state of one branch of the search (undone on the way back), and what it allows. Tasks
 * are known by their index in `tasks`: the walk asks these questions at every node, and a lookup by
 * index costs far less than one by id.
 */
import { firstFit, fitsOnEndpoints, outsideOnEndpoints, type Outside, type Span } from './endpoint-fit';
import { bindingOfKey, busyAt, NAMESPACES, type Answer, type AttributionLimits, type Binding, type Ends, type LoopCount, type WindowTask, type WrittenSpan } from './types';

export class Branch {
  /** Per task: its end in this branch. */
  readonly end: (Ends | undefined)[];
  /** Per task: when a submit failure closed it in this branch. */
  readonly submitted: (number | undefined)[];
  /** Per task: the worker group (`g`) and the endpoint URL (`u`) it is bound to in this branch. */
  readonly group: (string | undefined)[];
  readonly url: (string | undefined)[];
  /** Per task: its worker's answer in this branch. */
  readonly answer: (Answer | undefined)[];
  /** Per task: the size of its output file in this branch. */
  readonly fileSize: (number | undefined)[];
  /** Each task's index, by id. */
  readonly indexOf: Map<string, number>;
  /** Per endpoint (namespace, then value), the tasks bound to it in this branch: the overlap checks look only there. */
  private readonly boundTo: Record<Binding['ns'], Map<string, Set<number>>> = { g: new Map(), u: new Map() };

  /** endpointsKept's answers in this search, by how the branch placed the tasks; the tasks outside the search; its buffers. */
  private readonly fitted = new Map<number, { lane: Int32Array; to: Float64Array; fits: boolean }[]>();
  private outside: Outside | null = null;
  private laneBuf: Int32Array | null = null;
  private untilBuf: Float64Array | null = null;
  /** The run's endpoints' indexes, by namespace and value; and each index's binding. */
  private laneOfBuf: Map<Binding['ns'], Map<string, number>> | null = null;
  private lanesBuf: Readonly<Binding>[] | null = null;

  /** Per guessed task, the endpoints a best fit placed it on. */
  private readonly guessedOn: (Binding[] | undefined)[];

  constructor(
    readonly tasks: WindowTask[],
    readonly limits: AttributionLimits,
    /** Written tasks' spans on their endpoints. */
    private readonly spans: WrittenSpan[] = [],
    /** How many loops the miner runs, and the tasks outside the search that keep some busy. */
    private readonly loopCount: LoopCount | null = null,
  ) {
    const n = tasks.length;
    this.end = new Array(n);
    this.submitted = new Array(n);
    this.group = new Array(n);
    this.url = new Array(n);
    this.answer = new Array(n);
    this.fileSize = new Array(n);
    this.guessedOn = new Array(n);
    this.indexOf = new Map();
    for (let i = 0; i < n; i++) {
      const t = tasks[i]!;
      this.indexOf.set(t.id, i);
      if (t.fixedEnd) this.end[i] = { ...t.fixedEnd, bytes: null };
      for (const b of t.fixedBindings) {
        if (b.ns === 'g') this.group[i] = b.value;
        else this.url[i] = b.value;
        this.boundSet(b.ns, b.value).add(i);
      }
      if (t.fixedAnswerMs !== null) this.answer[i] = { timeMs: t.fixedAnswerMs, durationMs: t.fixedDurationMs };
      if (t.fixedFileSize != null) this.fileSize[i] = t.fixedFileSize;
      if (t.guessed) this.guessedOn[i] = t.fixedBindings;
    }
  }

  private boundSet(ns: Binding['ns'], value: string): Set<number> {
    const byValue = this.boundTo[ns];
    let s = byValue.get(value);
    if (!s) byValue.set(value, (s = new Set()));
    return s;
  }

  /** The endpoint task `i` is bound to in namespace `ns` (undefined: none). */
  boundIn(i: number, ns: Binding['ns']): string | undefined {
    return ns === 'g' ? this.group[i] : this.url[i];
  }

  endOf(i: number): number {
    return this.end[i]?.timeMs ?? Infinity;
  }

  /** Closed before `ms`: nothing at `ms` can be its. */
  closedBefore(i: number, ms: number): boolean {
    return Math.min(this.tasks[i]!.closedMs ?? Infinity, this.submitted[i] ?? Infinity) < ms;
  }

  generatingAt(i: number, ms: number, earlyMs: number, lateMs: number): boolean {
    return this.tasks[i]!.startMs <= ms + earlyMs && ms <= this.endOf(i) + this.limits.slackMs + lateMs;
  }

  /**
   * The miner gave up on task `i` before `ms` (a timeout, a dropped connection, a restart while it
   * was generating): its worker may still be at it. A restart after its answer came gave up on nothing.
   */
  givenUpBefore(i: number, ms: number): boolean {
    const t = this.tasks[i]!;
    const e = this.end[i];
    const answered = !!e && !e.late && t.abandonedMs !== null && e.timeMs <= t.abandonedMs;
    return (!!e && e.late && e.timeMs + this.limits.slackMs < ms) || (t.abandonedMs !== null && t.abandonedMs < ms && !answered);
  }

  /** Closed before `ms`, except that a worker may finish what the miner abandoned. */
  workerClosedBefore(i: number, ms: number): boolean {
    return this.tasks[i]!.abandonedMs !== null ? (this.submitted[i] ?? Infinity) < ms : this.closedBefore(i, ms);
  }

  /**
   * Until when the miner's loop of endpoint `ns`/`value` (null: none) is surely busy with task `i`,
   * as far as the walk knows at `nowAt`: up to the line that freed it (its feedback, a submit failure
   * this branch gave it); with none, up to its end, its close or `nowAt` (a task with no end yet is
   * generating; an ended one may have had no feedback to wait for: upstream logs nothing then). On an
   * endpoint a best fit placed it on, that place is a guess: its span there stops at its end.
   */
  private until(i: number, ns: Binding['ns'] | null, value: string, nowAt: number): number {
    const guessed = ns !== null && !!this.guessedOn[i]?.some((b) => b.ns === ns && b.value === value);
    const freed = this.freedAt(i, !guessed);
    return Math.min(freed < Infinity ? freed : Math.min(this.endOf(i), this.tasks[i]!.closedMs ?? Infinity), nowAt);
  }

  /**
   * When a line freed task `i`'s loop (Infinity: none says so): its feedback, a submit failure this
   * branch gave it. Its feedback names it, so it holds whatever guesses its other facts hold
   * (`feedback`: false where its place is itself the guess in question).
   */
  private freedAt(i: number, feedback: boolean): number {
    const t = this.tasks[i]!;
    const named = feedback && t.hadFeedback && t.closedMs !== null ? t.closedMs : Infinity;
    return Math.min(t.loopFreeMs ?? named, this.submitted[i] ?? Infinity);
  }

  /** Another task on endpoint `value` whose time on it overlaps task `i`'s. */
  overlaps(i: number, ns: Binding['ns'], value: string, nowAt: number): boolean {
    const others = this.boundTo[ns].get(value);
    if (!others) return false;
    const from = this.tasks[i]!.receivedMs;
    for (const o of others) if (o !== i && this.tasks[o]!.receivedMs < this.until(i, ns, value, nowAt) && from < this.until(o, ns, value, nowAt)) return true;
    return false;
  }

  /** Binding task `i` to `b` keeps one task at a time on that endpoint. */
  canBind(i: number, b: Binding, nowAt: number): boolean {
    const own = this.boundIn(i, b.ns);
    return own !== undefined ? own === b.value : !this.overlaps(i, b.ns, b.value, nowAt);
  }

  /** Every endpoint runs one task at a time, up to `nowAt`. */
  sequential(nowAt: number): boolean {
    for (const ns of NAMESPACES)
      for (const [value, group] of this.boundTo[ns]) {
        if (group.size < 2) continue;
        // the overlap is symmetric: each pair asked both ways costs less than copying the group
        for (const a of group)
          for (const b of group)
            if (a !== b && this.tasks[a]!.receivedMs < this.until(b, ns, value, nowAt) && this.tasks[b]!.receivedMs < this.until(a, ns, value, nowAt)) return false;
      }
    return true;
  }

  /**
   * How many written spans some task's time on an endpoint it is bound to (from its received line to
   * its last line of the miner's: end, submit failure, feedback) crosses: `sure` ones, or guessed ones.
   */
  spansCrossed(sure: boolean): number {
    if (!this.spans.length) return 0;
    let n = 0;
    for (let i = 0; i < this.tasks.length; i++) {
      n += this.crossedBy(i, sure);
      if (sure && n) return 1;
    }
    return n;
  }

  /**
   * spansCrossed for task `i`: the written spans (not its own) on an endpoint it is bound to that end
   * after it was pulled and start before its last line. No slack: both ends of a span and of its time
   * are the miner's own lines, written in order by one process on one clock.
   */
  private crossedBy(i: number, sure: boolean): number {
    const spansOn = (this.spansOn ??= spansByEndpoint(this.spans));
    const t = this.tasks[i]!;
    let n = 0;
    let last = NaN;
    for (const ns of NAMESPACES) {
      const value = this.boundIn(i, ns);
      const there = value === undefined ? undefined : spansOn[ns].get(value);
      if (!there) continue;
      if (Number.isNaN(last)) {
        last = Math.max(t.receivedMs, this.end[i]?.timeMs ?? -Infinity, this.submitted[i] ?? -Infinity);
        if (t.hadFeedback && t.closedMs !== null) last = Math.max(last, t.closedMs);
      }
      for (const s of there) {
        if (s.sure !== sure || s.id === t.id || s.toMs <= t.receivedMs || s.fromMs >= last) continue;
        if (sure) return 1;
        n++;
      }
    }
    return n;
  }

  /** The written spans by endpoint, once per search. */
  private spansOn: Record<Binding['ns'], Map<string, WrittenSpan[]>> | null = null;

  /**
   * The instants the count is checked at (every task's received line, every outside task's start),
   * ascending, and how many tasks outside the search are busy at each; computed once per search.
   */
  private instants: Float64Array | null = null;
  private outsideAt: Int32Array | null = null;
  private fromBuf: Float64Array | null = null;
  private toBuf: Float64Array | null = null;

  /** Task `i`'s busy time in this branch (see loopsKept). */
  private busyUntil(i: number): number {
    const t = this.tasks[i]!;
    const freed = this.freedAt(i, true);
    // a fixed end a best fit gave may be another's: only an end this branch gives is a hypothesis to test
    const end = t.guessed && t.fixedEnd ? undefined : this.end[i]?.timeMs;
    // with no end, only its generating line is sure: an end line no rule knows may have freed it
    return Math.max(freed < Infinity ? freed : (end ?? t.startMs), t.receivedMs + 1);
  }

  /**
   * No more tasks busy at once than the miner has loops: a task is busy from its received line to the
   * line that freed its loop (its feedback, a submit failure this branch gave it), else to its end in
   * this branch (its loop may have moved on silently after it), else to its generating line, and at
   * its received line at least. As the walk gives tasks ends and submit failures their time only
   * grows, so a branch that breaks it can be cut at once; and after one task's time grew, only the
   * instants in its time need counting again (`changed`: its index).
   */
  loopsKept(changed?: number): boolean {
    const lc = this.loopCount;
    if (!lc) return true;
    if (!this.instants) {
      let since = Infinity;
      for (const t of this.tasks) since = Math.min(since, t.receivedMs);
      const all = new Float64Array(this.tasks.length + lc.busy.length);
      let m = 0;
      for (const t of this.tasks) all[m++] = t.receivedMs;
      for (const b of lc.busy) if (b.fromMs >= since) all[m++] = b.fromMs;
      // a few instants: an insertion sort (a typed array's sort costs more than the sorting here)
      for (let i = 1; i < m; i++) {
        const x = all[i]!;
        let j = i;
        for (; j > 0 && all[j - 1]! > x; j--) all[j] = all[j - 1]!;
        all[j] = x;
      }
      let k = 0;
      for (let i = 0; i < m; i++) if (i === 0 || all[i] !== all[i - 1]) all[k++] = all[i]!;
      this.instants = all.slice(0, k);
      this.outsideAt = new Int32Array(k);
      for (let i = 0; i < k; i++) this.outsideAt[i] = busyAt(lc.busy, all[i]!);
    }
    const instants = this.instants;
    const lo = changed !== undefined ? this.tasks[changed]!.receivedMs : -Infinity;
    const hi = changed !== undefined ? this.busyUntil(changed) : Infinity;
    let i = 0;
    while (i < instants.length && instants[i]! < lo) i++;
    if (i === instants.length || instants[i]! >= hi) return true;
    const n = this.tasks.length;
    let from = this.fromBuf;
    if (!from) {
      from = this.fromBuf = new Float64Array(n);
      for (let j = 0; j < n; j++) from[j] = this.tasks[j]!.receivedMs;
    }
    const to = (this.toBuf ??= new Float64Array(n));
    for (let j = 0; j < n; j++) to[j] = this.busyUntil(j);
    for (; i < instants.length && instants[i]! < hi; i++) {
      const x = instants[i]!;
      let busy = this.outsideAt![i]!;
      if (busy + n <= lc.loops) continue;
      for (let j = 0; j < n; j++) if (from[j]! <= x && x < to[j]! && ++busy > lc.loops) return false;
    }
    return true;
  }

  /**
   * Every task ran on one of the run's endpoints, one task at a time on each (`until`): the tasks this
   * branch places nowhere, and the tasks outside the search whose endpoint is not sure (their busy
   * time is), must still fit somewhere, beside the tasks it places and the sure spans (loops beyond the
   * known endpoints take any task). Checked at a leaf; where a task is placed outside the run's
   * endpoints, or the fitting takes too many steps, it allows the branch.
   */
  endpointsKept(nowAt: number): boolean {
    const lc = this.loopCount;
    if (!lc?.endpoints?.length) return true;
    const n = this.tasks.length;
    const lane = (this.laneBuf ??= new Int32Array(n));
    const to = (this.untilBuf ??= new Float64Array(n));
    const lanes = (this.lanesBuf ??= lc.endpoints.map(bindingOfKey));
    const laneOf = (this.laneOfBuf ??= laneIndex(lanes));
    let anyFree = false;
    for (let i = 0; i < n; i++) {
      const t = this.tasks[i]!;
      let at = -1;
      for (const ns of NAMESPACES) {
        const value = this.boundIn(i, ns);
        if (value === undefined) continue;
        const k = laneOf.get(ns)?.get(value) ?? -1;
        // placed outside the run's endpoints, or on two: this cannot tell
        if (k < 0 || (at >= 0 && k !== at)) return true;
        at = k;
      }
      lane[i] = at;
      to[i] = Math.max(at < 0 ? this.until(i, null, '', nowAt) : this.until(i, lanes[at]!.ns, lanes[at]!.value, nowAt), t.receivedMs + 1);
      anyFree ||= at < 0;
    }
    const outside = (this.outside ??= outsideOnEndpoints(this.tasks, this.spans, lc.endpoints, lc.busy));
    if (!anyFree && !outside.free.length) return true;
    // many leaves of a search place the tasks alike: their answer is kept by placement (hashed, then compared)
    let hash = 0;
    for (let i = 0; i < n; i++) hash = (Math.imul(hash ^ lane[i]!, 0x01000193) + (to[i]! - this.tasks[i]!.receivedMs)) | 0;
    const alike = this.fitted.get(hash);
    const known = alike?.find((f) => sameFloats(f.lane, lane) && sameFloats(f.to, to));
    if (known) return known.fits;
    if (this.fitsFirst(lane, to, outside, lc.endpoints, Math.max(lc.loops, lc.endpoints.length))) return true;
    const taken = lc.endpoints.map((k) => [...outside.taken.get(k)!]);
    const free: Span[] = [...outside.free];
    for (let i = 0; i < n; i++) {
      const x: Span = [this.tasks[i]!.receivedMs, to[i]!];
      if (lane[i]! < 0) free.push(x);
      else taken[lane[i]!]!.push(x);
    }
    const fits = fitsOnEndpoints(taken, free, lc.loops);
    const entry = { lane: lane.slice(), to: to.slice(), fits };
    if (alike) alike.push(entry);
    else this.fitted.set(hash, [entry]);
    return fits;
  }

  /** The spans firstFit places: the tasks outside the search on their endpoints' lanes (once per search), then this branch's. */
  private flat: { from: Float64Array; to: Float64Array; lane: Int32Array; taken: number; free: Span[] } | null = null;

  /** endpointsKept's spans fit by a first fit (see firstFit): the tasks placed by `lane` (-1: nowhere), busy to `to`. */
  private fitsFirst(lane: Int32Array, to: Float64Array, outside: Outside, endpoints: string[], loops: number): boolean {
    const n = this.tasks.length;
    let flat = this.flat;
    if (!flat) {
      let taken = 0;
      for (const k of endpoints) taken += outside.taken.get(k)!.length;
      const size = taken + outside.free.length + n;
      flat = { from: new Float64Array(size), to: new Float64Array(size), lane: new Int32Array(size), taken, free: [...outside.free].sort((a, b) => a[0] - b[0]) };
      let m = 0;
      endpoints.forEach((k, l) => {
        for (const [f, u] of outside.taken.get(k)!) {
          flat!.from[m] = f;
          flat!.to[m] = u;
          flat!.lane[m++] = l;
        }
      });
      this.flat = flat;
    }
    const { from, to: until, lane: on } = flat;
    let m = flat.taken;
    for (let i = 0; i < n; i++) {
      if (lane[i]! < 0) continue;
      from[m] = this.tasks[i]!.receivedMs;
      until[m] = to[i]!;
      on[m++] = lane[i]!;
    }
    const placed = m;
    for (const [f, u] of flat.free) {
      from[m] = f;
      until[m++] = u;
    }
    // the tasks placed nowhere, into the free spans' order of start
    for (let i = 0; i < n; i++) {
      if (lane[i]! >= 0) continue;
      const f = this.tasks[i]!.receivedMs;
      let j = m++;
      for (; j > placed && from[j - 1]! > f; j--) {
        from[j] = from[j - 1]!;
        until[j] = until[j - 1]!;
      }
      from[j] = f;
      until[j] = to[i]!;
    }
    return firstFit(from, until, on, placed, m, loops);
  }

  /** No task (`changed`: only that one, after its facts grew) crosses a sure written span on its endpoint. */
  chainsKept(changed?: number): boolean {
    if (!this.spans.length) return true;
    return changed !== undefined ? this.crossedBy(changed, true) === 0 : this.spansCrossed(true) === 0;
  }

  /** A task whose worker answered must have its end within the lag; checked as time passes. */
  answersKept(ms: number): boolean {
    for (let i = 0; i < this.tasks.length; i++) {
      const a = this.answer[i];
      if (a && !this.end[i] && !this.tasks[i]!.endLost && ms - a.timeMs > this.limits.maxAnswerLagMs) return false;
    }
    return true;
  }

  /** Binds task `i` to `b` if it is not bound in that namespace yet; whether it did (then `unbind` undoes it). */
  bindTo(i: number, b: Binding | null): boolean {
    if (b === null || this.boundIn(i, b.ns) !== undefined) return false;
    if (b.ns === 'g') this.group[i] = b.value;
    else this.url[i] = b.value;
    this.boundSet(b.ns, b.value).add(i);
    return true;
  }

  unbind(i: number, b: Binding): void {
    if (b.ns === 'g') this.group[i] = undefined;
    else this.url[i] = undefined;
    this.boundTo[b.ns].get(b.value)!.delete(i);
  }
}

/** Written spans by endpoint (namespace, then value). */
function spansByEndpoint(spans: readonly WrittenSpan[]): Record<Binding['ns'], Map<string, WrittenSpan[]>> {
  const on: Record<Binding['ns'], Map<string, WrittenSpan[]>> = { g: new Map(), u: new Map() };
  for (const s of spans) {
    const { ns, value } = bindingOfKey(s.key);
    const there = on[ns].get(value);
    if (there) there.push(s);
    else on[ns].set(value, [s]);
  }
  return on;
}

/** Per namespace and value, the index of that endpoint among `lanes` (the first where one repeats). */
function laneIndex(lanes: readonly Readonly<Binding>[]): Map<Binding['ns'], Map<string, number>> {
  const m = new Map<Binding['ns'], Map<string, number>>();
  lanes.forEach(({ ns, value }, i) => {
    const byValue = m.get(ns) ?? m.set(ns, new Map()).get(ns)!;
    if (!byValue.has(value)) byValue.set(value, i);
  });
  return m;
}

/** Two arrays of one length hold the same numbers. */
function sameFloats(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
