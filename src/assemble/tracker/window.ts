/**
 * The attribution window: events that name no task wait here until the search (attribution/)
 * settles them. An event every consistent assignment gives to one task is applied at once
 * (`determined`); one still open is applied with the best fit (`inferred`) only when every task it
 * could belong to is closed and the next task on each one's loop had time to show its endpoint
 * (nothing later can decide), when too many wait, or when it has waited FREEZE_AFTER_MS. A task is
 * written only once no open event could still be its.
 */
import type { PlyResult } from '../../ply';
import type { LogEvent, OutputFile } from '../events';
import { components, DEFAULT_LIMITS, mayTakeItem, type Attribution, type ItemAnswer, type WindowItem, type WindowTask } from './attribution';
import { guessedUntil, loopCount, mayStillWork, openSpans, runLoops, trimGuessedWritten } from './busy';
import { toWindowTask, withoutGuesses } from './window-task';
import { narrowHotkeyUid } from './validators';
import { incomplete, type LinkKind, type Task, type TrackerContext, type WindowEntry } from './book';
import { endsLostIn, eventToLetGo, letGo, solvePart } from './give-way';
import { FREEZE_AFTER_MS, rememberSolved, successorWaitMs, unchangedSinceSolved } from './window-time';

/** The reason a best fit's other candidates give (see applySettled), per kind of event. */
const AMBIGUOUS: Partial<Record<WindowItem['kind'], string>> = { submit_failure: 'submit_failure_ambiguous', file: 'output_file_ambiguous' };
/** Tick re-solves (answer deadlines, freezing by age) at most this often, in event time. */
const RESOLVE_EVERY_MS = 1000;

/** What applying a settled event to its task means, per kind (the event families provide them). */
export interface Appliers {
  end(cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind): void;
  submitFailure(cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind): void;
  worker(cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind, item: Extract<WindowItem, { kind: 'worker' }>): void;
  file(cx: TrackerContext, t: Task, f: OutputFile, how: LinkKind, measure: PlyResult | null): void;
  /** Frees a task that had nothing left waiting (into the outbox, if it is finished). */
  release(cx: TrackerContext): void;
}

/** The open tasks (finished ones still waiting included), orphans aside: they own nothing unnamed. */
function windowTasks(cx: TrackerContext): Task[] {
  return [...cx.book.tasks, ...cx.book.closing].filter((t) => !t.key.startsWith('orphan:'));
}

const limitsOf = (cx: TrackerContext) => ({ ...DEFAULT_LIMITS, maxAnswerLagMs: cx.opts.maxAnswerLagMs });

/**
 * Adds an event to the window and settles what can be settled. A line of the same worker request as
 * an entry still waiting (`joins`: that entry's key) joins it: one item per request keeps the window,
 * and the search, small (with worker logs a request is most of a task's unnamed lines).
 */
export function enter(cx: TrackerContext, ap: Appliers, entry: Omit<WindowEntry, 'candidates'>, joins: string | null = null): void {
  const event = entry.event ? { ...entry.event, long: null } : null;
  const open = joins === null ? undefined : cx.book.window.find((w) => w.item.key === joins);
  if (open && event) {
    open.earlier = [...(open.earlier ?? []), open.event!];
    open.event = event;
    // timed by its first line: the task was generating then
    open.item = { ...entry.item, timeMs: Math.min(open.item.timeMs, entry.item.timeMs) };
  } else cx.book.window.push({ ...entry, event, candidates: [], seq: ++cx.book.seq });
  attributeSoon(cx, ap);
}

/** Solves the window now, or once at the end when events come in a batch (deferAttribution). */
export function attributeSoon(cx: TrackerContext, ap: Appliers): void {
  if (cx.book.deferSolve) cx.book.solveDue = true;
  else attribute(cx, ap);
}

/** tick: deadlines and freezing move with time. */
export function attributeAsTimePasses(cx: TrackerContext, ap: Appliers, nowMs: number): void {
  if (!cx.book.window.length || nowMs - cx.book.solvedAtMs < RESOLVE_EVERY_MS) return;
  // solved as of now without solving (window-time.ts)
  if (unchangedSinceSolved(cx, nowMs)) cx.book.solvedAtMs = nowMs;
  else attribute(cx, ap, nowMs);
}

/**
 * Solves the window and applies what is settled. When nothing is consistent (a line was lost, or
 * the logs break a rule), evidence gives way (give-way.ts): a task whose generating line was lost may
 * take an end; a task whose worker answered long ago had its end line lost; then one event is let go
 * (a feedback line: its task's end was not seen; any other: it belongs to no task we know).
 */
export function attribute(cx: TrackerContext, ap: Appliers, nowMs = cx.book.lastMs): void {
  const t0 = performance.now();
  cx.book.counters.attributionSolves++;
  try {
    solveAndApply(cx, ap, nowMs);
  } finally {
    cx.book.counters.attributionMs += performance.now() - t0;
  }
}

function solveAndApply(cx: TrackerContext, ap: Appliers, nowMs: number): void {
  const { book } = cx;
  book.solvedAtMs = nowMs;
  book.solveDue = false;
  const limits = limitsOf(cx);
  for (;;) {
    const changesSeen = book.changes;
    if (!book.window.length) {
      ap.release(cx);
      return;
    }
    const tasks = windowTasks(cx);
    // written spans that reach the open tasks' time
    const since = Math.min(...tasks.map((t) => t.receivedMs));
    const items = book.window.map((w) => w.item);
    const spans = [...book.writtenSpans.filter((s) => s.toMs >= since), ...openSpans(tasks, items)];
    const merged: Attribution = { leaves: 1, truncated: false, items: new Map(), ended: new Map() };
    let received = false;
    let giveWay: WindowEntry | undefined;
    let endsLost: WindowTask[] = [];
    const run = runLoops(cx, tasks, since);
    const phaseOf = new Map<string, Task['phase']>();
    for (const t of tasks) if (!phaseOf.has(t.id)) phaseOf.set(t.id, t.phase);
    for (const part of components(tasks.map((t) => toWindowTask(cx, t, true)), items, limits)) {
      const strict = part.tasks.map((t) => ({ ...t, canEnd: phaseOf.get(t.id) !== 'received' }));
      const loops = run && loopCount(run, part.tasks);
      const solved = (items: WindowItem[]) => solvePart(strict, part.tasks, items, nowMs, limits, spans, loops);
      const { res, receivedEnds } = solved(part.items);
      received = received || receivedEnds;
      if (!res.leaves) {
        endsLost = endsLostIn(strict, part.items, nowMs, limits, spans, loops);
        if (!endsLost.length) giveWay = eventToLetGo(book.window.filter((w) => part.items.includes(w.item)), part.items, (items) => solved(items).res.leaves > 0);
        break;
      }
      for (const [k, v] of res.items) merged.items.set(k, v);
      for (const [k, v] of res.ended) merged.ended.set(k, v);
    }
    if (endsLost.length) {
      for (const w of endsLost) {
        const t = tasks.find((x) => x.id === w.id)!;
        t.endLost = true;
        incomplete(t, 'generation_end_not_seen');
      }
      continue;
    }
    if (giveWay) {
      book.window = book.window.filter((w) => w !== giveWay);
      letGo(cx, giveWay);
      continue;
    }
    book.ended = merged.ended;
    const before = book.window.length;
    applySettled(cx, ap, tasks, merged, nowMs, received);
    // what was applied may close tasks (a submit failure) and so settle more
    if (!book.window.length || book.window.length >= before) {
      rememberSolved(cx, windowTasks(cx), changesSeen, nowMs);
      return;
    }
  }
}

function applySettled(cx: TrackerContext, ap: Appliers, tasks: Task[], res: Attribution, nowMs: number, receivedCanEnd: boolean): void {
  const { book } = cx;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  // a task may be missing (PM2 destroyed its prompt lines): then no event can be sure of its task
  const restartDoubt = nowMs < book.doubtUntilMs;
  // closed, and no worker still at it: nothing later can be its
  const closed = (id: string) => {
    const t = byId.get(id);
    return t?.closedMs != null && !mayStillWork(cx, t);
  };
  // a task that took, or lost, an event by a best fit: an event is decided under that guess when the
  // guessed task lived while any task that may take the event did (placing it on an endpoint, rightly
  // or not, says where those could run), not only when the event falls in its lifetime
  const limits = limitsOf(cx);
  // built only when some guess is about (most solves have none); per event once (isSure asks twice)
  let unguessed: WindowTask[] | null = null;
  const takersOf = new Map<string, WindowTask[]>();
  const takers = (it: WindowItem) => {
    unguessed ??= tasks.map((t) => withoutGuesses(toWindowTask(cx, t, receivedCanEnd), t));
    return takersOf.get(it.key) ?? takersOf.set(it.key, unguessed.filter((t) => mayTakeItem(t, it, limits))).get(it.key)!;
  };
  const oldestOpen = Math.min(...book.window.map((w) => w.item.timeMs), ...tasks.map((t) => t.receivedMs));
  book.guessedWritten = book.guessedWritten.filter((g) => g.toMs >= oldestOpen);
  trimGuessedWritten(cx, tasks);
  const writtenGuessDuring = (fromMs: number, toMs: number) => book.guessedWritten.some((g) => g.fromMs <= toMs && fromMs <= g.toMs);
  const guessedFor = (it: WindowItem) => {
    if (!book.guessedWritten.length && !tasks.some((t) => t.guessed)) return false;
    const fromMs = Math.min(it.timeMs, ...takers(it).map((t) => t.receivedMs));
    return (
      writtenGuessDuring(fromMs, it.timeMs) ||
      tasks.some((t) => t.guessed && t.receivedMs <= it.timeMs && (fromMs <= guessedUntil(cx, t) || mayStillWork(cx, t)))
    );
  };
  // (a written task is not there to be counted: then this cannot tell)
  const onlyOneWithoutGuesses = (it: WindowItem) => {
    const ts = takers(it);
    return ts.length === 1 && !writtenGuessDuring(Math.min(it.timeMs, ts[0]!.receivedMs), it.timeMs);
  };
  // read after a task was written that was alive at its time: it may be that task's, which the search no longer sees
  const cameLate = (w: WindowEntry) => book.writtenLives.some((l) => (w.seq ?? 0) > l.seq && l.fromMs - limits.slackMs <= w.item.timeMs && w.item.timeMs < l.toMs);
  /** No guess, no missing task, no late read could have shaped this event's candidates. */
  const unclouded = (w: WindowEntry) => !restartDoubt && !cameLate(w) && !guessedFor(w.item);
  const determined = (w: WindowEntry, a: ItemAnswer) =>
    a.link === 'determined' && !restartDoubt && !cameLate(w) && (!guessedFor(w.item) || onlyOneWithoutGuesses(w.item));
  // a worker's line up to workerLinesLateMs later than the miner's may still come, and decide otherwise:
  // a determined event waits that long (it is neither crowded out nor frozen meanwhile)
  const lateMs = cx.opts.workerLinesLateMs;
  const lateLinesRead = (w: WindowEntry) => !lateMs || nowMs >= w.item.timeMs + lateMs;
  const waitedEnough = (id: string) => {
    const t = byId.get(id)!;
    // a task the miner's restart cut short had no next task on its loop
    return book.draining || !!t.interrupted || nowMs > t.closedMs! + successorWaitMs(t);
  };
  // the events left waiting count, but for one whose tasks are all closed: it waits for what their
  // loops do next (bounded by successorWaitMs), which decides it where a best fit would guess. (One
  // every assignment gives to a task counts: it may still wait for a guess to settle.)
  const awaitingSuccessors = (a: ItemAnswer) => a.candidateIds.length > 1 && a.candidateIds.every((id) => closed(id) && !waitedEnough(id));
  const open = book.window.filter((w) => {
    const a = res.items.get(w.item.key)!;
    return w.item.kind !== 'close' && !determined(w, a) && !awaitingSuccessors(a);
  });
  const crowded = new Set(open.slice(0, Math.max(0, open.length - cx.opts.maxOpenEvents)));
  const keep: WindowEntry[] = [];
  for (const w of book.window) {
    if (w.item.kind === 'close') {
      keep.push(w);
      continue;
    }
    const a = res.items.get(w.item.key)!;
    w.candidates = a.candidateIds;
    // in id order: a record's alternatives do not depend on which solves saw them first (a restart re-solves)
    w.widest = widen(w.widest, a.candidateIds);
    const t = a.taskId === null ? undefined : byId.get(a.taskId);
    if (!t) {
      letGo(cx, w);
      continue;
    }
    const decided = determined(w, a);
    const awaitingLateLines = decided && !lateLinesRead(w);
    const sure = decided && !awaitingLateLines;
    // closed, and what their loops did next had time to show: nothing later can decide
    const frozen =
      !awaitingLateLines && (a.candidateIds.every((id) => closed(id) && waitedEnough(id)) || nowMs - w.item.timeMs > FREEZE_AFTER_MS || crowded.has(w));
    if (!sure && !frozen) {
      keep.push(w);
      continue;
    }
    const how: LinkKind = sure
      ? { link: 'determined', candidates: 1 }
      : { link: 'inferred', candidates: Math.max(2, w.widest.length), alternatives: w.widest.filter((id) => id !== t.id) };
    if (!sure) for (const id of w.widest) if (byId.has(id)) byId.get(id)!.guessed = true;
    // its candidates say which validators the hotkey may be only where no guess shaped them: a
    // candidate list narrowed by a best fit elsewhere, taken as the truth, later pinned this hotkey's
    // failures on another validator's task as determined (a 4-endpoint run without worker logs)
    if (w.item.kind === 'submit_failure' && w.item.validatorHotkey && (sure || unclouded(w)))
      narrowHotkeyUid(cx, w.item.validatorHotkey, w.candidates.map((id) => byId.get(id)));
    // a task that may have been the one that failed to submit, or whose output file this was: its record may be wrong or lack it, and says so
    const ambiguity = sure ? undefined : AMBIGUOUS[w.item.kind];
    if (ambiguity) for (const id of w.widest) if (id !== t.id && byId.has(id)) incomplete(byId.get(id)!, ambiguity);
    apply(cx, ap, w, t, how, receivedCanEnd);
  }
  // a feedback line's constraint is kept while its task's end is open
  book.window = keep.filter((w) => {
    if (w.item.kind !== 'close') return true;
    const id = w.item.taskId;
    const t = byId.get(id);
    return t !== undefined && t.endedMs === null && !t.endLost;
  });
  ap.release(cx);
}

/** `widest` with `ids` added, in id order: the same array when it holds them already (most solves add none). */
function widen(widest: string[] | undefined, ids: string[]): string[] {
  if (widest && ids.every((id) => widest.includes(id)) && widest.every((id, i) => i === 0 || widest[i - 1]! < id)) return widest;
  return [...new Set([...(widest ?? []), ...ids])].sort();
}

function apply(cx: TrackerContext, ap: Appliers, w: WindowEntry, t: Task, how: LinkKind, receivedCanEnd: boolean): void {
  const it = w.item;
  switch (it.kind) {
    case 'end':
      if (t.phase === 'received' && receivedCanEnd) incomplete(t, 'generating_line_lost');
      ap.end(cx, t, w.event!, how);
      return;
    case 'submit_failure':
      ap.submitFailure(cx, t, w.event!, how);
      return;
    case 'worker':
      for (const e of [...(w.earlier ?? []), w.event!]) ap.worker(cx, t, e, how, it);
      return;
    case 'file':
      ap.file(cx, t, w.file!, how, w.measure ?? null);
      return;
    default:
      return;
  }
}

/**
 * The tasks an unsettled event could still be (none of them is written before): `all` when an event
 * no solve has reached yet (a batch defers them: no candidates so far) may be anyone's. One pass over
 * the window for every task asked about (a burst of tasks waiting on late worker lines made asking
 * per task quadratic).
 */
export function heldByWindow(cx: TrackerContext): { all: boolean; ids: Set<string> } {
  const ids = new Set<string>();
  for (const w of cx.book.window) {
    if (w.item.kind === 'close') ids.add(w.item.taskId);
    else if (!w.candidates.length) return { all: true, ids };
    else {
      for (const id of w.candidates) ids.add(id);
      if (w.item.kind === 'file') for (const id of w.widest ?? []) ids.add(id);
    }
  }
  return { all: false, ids };
}
