/** The mutable state of one branch of the search (undone on the way back), and what it allows. */
import { firstFit, fitsOnEndpoints, outsideOnEndpoints, type Outside, type Span } from './endpoint-fit';
import { bindingOfKey, busyAt, endpointKey, spanStartsAfter, type Answer, type SpanStarts, type AttributionLimits, type Binding, type Ends, type LoopCount, type WindowTask, type WrittenSpan } from './types';

export class Branch {
  readonly end = new Map<string, Ends>();
  /** Tasks a submit failure closed in this branch, and when. */
  readonly submitted = new Map<string, number>();
  readonly bind = new Map<string, Map<Binding['ns'], string>>();
  readonly answer = new Map<string, Answer>();
  readonly fileSize = new Map<string, number>();
  readonly byId: Map<string, WindowTask>;
  /** Per endpoint (namespace and value), the tasks bound to it in this branch: the overlap checks look only there. */
  private readonly boundTo = new Map<string, Set<WindowTask>>();

  /** endpointsKept's answers in this search, by how the branch placed the tasks; the tasks outside the search; its buffers. */
  private readonly fitted = new Map<number, { lane: Int32Array; to: Float64Array; fits: boolean }[]>();
  private outside: Outside | null = null;
  private laneBuf: Int32Array | null = null;
  private untilBuf: Float64Array | null = null;
  /** The run's endpoints' indexes, by namespace and value. */
  private laneOfBuf: Map<Binding['ns'], Map<string, number>> | null = null;

  /** Per guessed task, the endpoints a best fit placed it on (`endpointKey`). */
  private readonly guessedKeys = new Map<string, Set<string>>();

  /** Per task, `spanStarts` gathered once per search. */
  private readonly spanStartsOf = new Map<string, SpanStarts>();

  constructor(
    readonly tasks: WindowTask[],
    readonly limits: AttributionLimits,
    /** Written tasks' spans on their endpoints. */
    private readonly spans: WrittenSpan[] = [],
    /** How many loops the miner runs, and the tasks outside the search that keep some busy. */
    private readonly loopCount: LoopCount | null = null,
  ) {
    this.byId = new Map(tasks.map((t) => [t.id, t]));
    for (const t of tasks) {
      if (t.fixedEnd) this.end.set(t.id, { ...t.fixedEnd, bytes: null });
      this.bind.set(t.id, new Map(t.fixedBindings.map((b) => [b.ns, b.value])));
      for (const b of t.fixedBindings) this.boundSet(b.ns, b.value).add(t);
      if (t.fixedAnswerMs !== null) this.answer.set(t.id, { timeMs: t.fixedAnswerMs, durationMs: t.fixedDurationMs });
      if (t.fixedFileSize != null) this.fileSize.set(t.id, t.fixedFileSize);
      if (t.guessed) this.guessedKeys.set(t.id, new Set(t.fixedBindings.map((b) => endpointKey(b.ns, b.value))));
    }
  }

  private boundSet(ns: Binding['ns'], value: string): Set<WindowTask> {
    const k = endpointKey(ns, value);
    return this.boundTo.get(k) ?? this.boundTo.set(k, new Set()).get(k)!;
  }

  endOf(id: string): number {
    return this.end.get(id)?.timeMs ?? Infinity;
  }

  /** Closed before `ms`: nothing at `ms` can be its. */
  closedBefore(t: WindowTask, ms: number): boolean {
    return Math.min(t.closedMs ?? Infinity, this.submitted.get(t.id) ?? Infinity) < ms;
  }

  generatingAt(t: WindowTask, ms: number, earlyMs: number, lateMs: number): boolean {
    return t.startMs <= ms + earlyMs && ms <= this.endOf(t.id) + this.limits.slackMs + lateMs;
  }

  /**
   * The miner gave up on `t` before `ms` (a timeout, a dropped connection, a restart while it was
   * generating): its worker may still be at it. A restart after its answer came gave up on nothing.
   */
  givenUpBefore(t: WindowTask, ms: number): boolean {
    const e = this.end.get(t.id);
    const answered = !!e && !e.late && t.abandonedMs !== null && e.timeMs <= t.abandonedMs;
    return (!!e && e.late && e.timeMs + this.limits.slackMs < ms) || (t.abandonedMs !== null && t.abandonedMs < ms && !answered);
  }

  /** Closed before `ms`, except that a worker may finish what the miner abandoned. */
  workerClosedBefore(t: WindowTask, ms: number): boolean {
    return t.abandonedMs !== null ? (this.submitted.get(t.id) ?? Infinity) < ms : this.closedBefore(t, ms);
  }

  /**
   * Until when the miner's loop of endpoint `key` is surely busy with a task, as far as the walk knows
   * at `nowAt`: up to the line that freed it (its feedback, a submit failure this branch gave it);
   * with none, up to its end, its close or `nowAt` (a task with no end yet is generating; an ended
   * one may have had no feedback to wait for: upstream logs nothing then). On an endpoint a best fit
   * placed it on, that place is a guess: its span there stops at its end.
   */
  private until(t: WindowTask, key: string, nowAt: number): number {
    const freed = this.freedAt(t, !this.guessedKeys.get(t.id)?.has(key));
    return Math.min(freed < Infinity ? freed : Math.min(this.endOf(t.id), t.closedMs ?? Infinity), nowAt);
  }

  /**
   * When a line freed `t`'s loop (Infinity: none says so): its feedback, a submit failure this branch
   * gave it. Its feedback names it, so it holds whatever guesses its other facts hold (`feedback`:
   * false where its place is itself the guess in question).
   */
  private freedAt(t: WindowTask, feedback: boolean): number {
    const named = feedback && t.hadFeedback && t.closedMs !== null ? t.closedMs : Infinity;
    return Math.min(t.loopFreeMs ?? named, this.submitted.get(t.id) ?? Infinity);
  }

  /** Another task on endpoint `value` whose time on it overlaps `t`'s. */
  overlaps(t: WindowTask, ns: Binding['ns'], value: string, nowAt: number): boolean {
    const key = endpointKey(ns, value);
    const others = this.boundTo.get(key);
    if (!others) return false;
    for (const o of others) if (o !== t && o.receivedMs < this.until(t, key, nowAt) && t.receivedMs < this.until(o, key, nowAt)) return true;
    return false;
  }

  /** Binding `t` to `b` keeps one task at a time on that endpoint. */
  canBind(t: WindowTask, b: Binding, nowAt: number): boolean {
    const own = this.bind.get(t.id)!.get(b.ns);
    return own !== undefined ? own === b.value : !this.overlaps(t, b.ns, b.value, nowAt);
  }

  /** Every endpoint runs one task at a time, up to `nowAt`. */
  sequential(nowAt: number): boolean {
    for (const [key, group] of this.boundTo) {
      if (group.size < 2) continue;
      // the overlap is symmetric: each pair asked both ways costs less than copying the group
      for (const a of group) for (const b of group) if (a !== b && a.receivedMs < this.until(b, key, nowAt) && b.receivedMs < this.until(a, key, nowAt)) return false;
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
    for (const t of this.tasks) {
      n += this.crossedBy(t, sure);
      if (sure && n) return 1;
    }
    return n;
  }

  /** spansCrossed for one task. */
  private crossedBy(t: WindowTask, sure: boolean): number {
    const starts = this.spanStarts(t);
    if (!starts.size) return 0;
    let n = 0;
    let last = NaN;
    for (const [ns, value] of this.bind.get(t.id)!) {
      const froms = starts.get(ns)?.get(value)?.[sure ? 0 : 1];
      if (!froms?.length) continue;
      if (Number.isNaN(last)) {
        last = Math.max(t.receivedMs, this.end.get(t.id)?.timeMs ?? -Infinity, this.submitted.get(t.id) ?? -Infinity);
        if (t.hadFeedback && t.closedMs !== null) last = Math.max(last, t.closedMs);
      }
      for (let i = 0; i < froms.length && froms[i]! < last; i++) {
        if (sure) return 1;
        n++;
      }
    }
    return n;
  }

  /** `spanStartsAfter` of `t`, once per search. */
  private spanStarts(t: WindowTask): SpanStarts {
    return this.spanStartsOf.get(t.id) ?? this.spanStartsOf.set(t.id, spanStartsAfter(t, this.spans)).get(t.id)!;
  }

  /**
   * The instants the count is checked at (every task's received line, every outside task's start),
   * ascending, and how many tasks outside the search are busy at each; computed once per search.
   */
  private instants: Float64Array | null = null;
  private outsideAt: Int32Array | null = null;
  private fromBuf: Float64Array | null = null;
  private toBuf: Float64Array | null = null;

  /** A task's busy time in this branch (see loopsKept). */
  private busyUntil(t: WindowTask): number {
    const freed = this.freedAt(t, true);
    // a fixed end a best fit gave may be another's: only an end this branch gives is a hypothesis to test
    const end = t.guessed && t.fixedEnd ? undefined : this.end.get(t.id)?.timeMs;
    // with no end, only its generating line is sure: an end line no rule knows may have freed it
    return Math.max(freed < Infinity ? freed : (end ?? t.startMs), t.receivedMs + 1);
  }

  /**
   * No more tasks busy at once than the miner has loops: a task is busy from its received line to the
   * line that freed its loop (its feedback, a submit failure this branch gave it), else to its end in
   * this branch (its loop may have moved on silently after it), else to its generating line, and at
   * its received line at least. As the walk gives tasks ends and submit failures their time only
   * grows, so a branch that breaks it can be cut at once; and after one task's time grew, only the
   * instants in its time need counting again (`changed`).
   */
  loopsKept(changed?: WindowTask): boolean {
    const lc = this.loopCount;
    if (!lc) return true;
    if (!this.instants) {
      let since = Infinity;
      for (const t of this.tasks) since = Math.min(since, t.receivedMs);
      const all = new Float64Array(this.tasks.length + lc.busy.length);
      let m = 0;
      for (const t of this.tasks) all[m++] = t.receivedMs;
      for (const b of lc.busy) if (b.fromMs >= since) all[m++] = b.fromMs;
      const sorted = all.subarray(0, m).sort();
      let k = 0;
      for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[k++] = sorted[i]!;
      this.instants = sorted.slice(0, k);
      this.outsideAt = new Int32Array(k);
      for (let i = 0; i < k; i++) this.outsideAt[i] = busyAt(lc.busy, sorted[i]!);
    }
    const instants = this.instants;
    const lo = changed ? changed.receivedMs : -Infinity;
    const hi = changed ? this.busyUntil(changed) : Infinity;
    let i = 0;
    while (i < instants.length && instants[i]! < lo) i++;
    if (i === instants.length || instants[i]! >= hi) return true;
    const n = this.tasks.length;
    const from = (this.fromBuf ??= Float64Array.from(this.tasks.map((t) => t.receivedMs)));
    const to = (this.toBuf ??= new Float64Array(n));
    for (let j = 0; j < n; j++) to[j] = this.busyUntil(this.tasks[j]!);
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
    const laneOf = (this.laneOfBuf ??= laneIndex(lc.endpoints));
    let anyFree = false;
    for (let i = 0; i < n; i++) {
      const t = this.tasks[i]!;
      let at = -1;
      for (const [ns, value] of this.bind.get(t.id)!) {
        const k = laneOf.get(ns)?.get(value) ?? -1;
        // placed outside the run's endpoints, or on two: this cannot tell
        if (k < 0 || (at >= 0 && k !== at)) return true;
        at = k;
      }
      lane[i] = at;
      to[i] = Math.max(this.until(t, at < 0 ? '' : lc.endpoints[at]!, nowAt), t.receivedMs + 1);
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
    const lanes = lc.endpoints.map((k) => [...outside.taken.get(k)!]);
    const free: Span[] = [...outside.free];
    for (let i = 0; i < n; i++) {
      const x: Span = [this.tasks[i]!.receivedMs, to[i]!];
      if (lane[i]! < 0) free.push(x);
      else lanes[lane[i]!]!.push(x);
    }
    const fits = fitsOnEndpoints(lanes, free, lc.loops);
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
  chainsKept(changed?: WindowTask): boolean {
    if (!this.spans.length) return true;
    return changed ? this.crossedBy(changed, true) === 0 : this.spansCrossed(true) === 0;
  }

  /** A task whose worker answered must have its end within the lag; checked as time passes. */
  answersKept(ms: number): boolean {
    for (const [id, a] of this.answer) if (!this.end.has(id) && !this.byId.get(id)!.endLost && ms - a.timeMs > this.limits.maxAnswerLagMs) return false;
    return true;
  }

  /** Binds `t` to `b` (if it is not bound in that namespace yet); returns the undo. */
  bindTo(t: WindowTask, b: Binding | null): () => void {
    const m = this.bind.get(t.id)!;
    if (b === null || m.has(b.ns)) return () => {};
    m.set(b.ns, b.value);
    const group = this.boundSet(b.ns, b.value);
    group.add(t);
    return () => {
      m.delete(b.ns);
      group.delete(t);
    };
  }
}

/** Per namespace and value, the index of that endpoint among `endpoints` (`endpointKey`s; the first where one repeats). */
function laneIndex(endpoints: string[]): Map<Binding['ns'], Map<string, number>> {
  const m = new Map<Binding['ns'], Map<string, number>>();
  endpoints.forEach((key, i) => {
    const { ns, value } = bindingOfKey(key);
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
