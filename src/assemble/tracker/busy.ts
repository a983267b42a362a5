/**
 * How long each task kept its miner loop busy, as far as the lines make sure: what the attribution
 * window tells the search about tasks outside the part it solves (their endpoints' spans, the count
 * of busy loops); and how long a task's events may still come (a worker finishing what the miner
 * abandoned, a lifetime decided under a guess).
 */
import { busyAt, endpointKey, type LoopCount, type WindowItem, type WindowTask, type WrittenSpan } from './attribution';
import type { GuessedLife, Task, TrackerContext } from './book';
import { endpointBinding } from './endpoint-binding';

/** From when `t` kept its loop busy: its pull's query line where known, else its received line. */
export const busyFromMs = (t: Task): number => t.pulledMs ?? t.receivedMs;

/**
 * When a line says the miner's loop moved on from `t`: its feedback, its submit failure (a restart is
 * not such a line: the loop may have moved on from an ended task silently before it).
 */
export function loopFreedAt(t: Task): number | null {
  if (t.closedMs == null) return null;
  return t.phase === 'feedback' || t.record.provenance.links.some((l) => l.event === 'submit_failed') ? t.closedMs : null;
}

/**
 * The open tasks whose endpoint is sure (no best fit in their facts): their loop is busy from their
 * received line to the line that freed it (else their end; with no end yet, still), so a task of
 * another part of the window cannot have run there meanwhile. A task a restart cut short was busy to
 * the cut only if no end line still open came before it: one may be its, and its loop may have moved
 * on after it (`items`: the window's).
 */
export function openSpans(tasks: Task[], items: WindowItem[]): WrittenSpan[] {
  return tasks.flatMap((t) => {
    if (t.guessed) return [];
    const cut = t.interrupted && !items.some((it) => it.kind === 'end' && it.timeMs <= t.closedMs!) ? t.closedMs : null;
    // an end not settled yet may be any open end item: only its generating line is sure
    return endpointSpans(t, loopFreedAt(t) ?? t.endedMs ?? cut ?? t.generatingMs ?? t.receivedMs, true);
  });
}

/** A task's spans, from its pull (`busyFromMs`) to `toMs`, on the endpoints it is known at (its worker group, the URL an endpoint error named). */
export function endpointSpans(t: Task, toMs: number, sure: boolean): WrittenSpan[] {
  const keys = [...(t.group ? [endpointKey('g', t.group)] : []), ...(t.url ? [endpointKey('u', t.url)] : [])];
  return keys.map((key) => ({ id: t.id, key, fromMs: busyFromMs(t), toMs, sure }));
}

/**
 * How long a task surely kept its loop busy: to its feedback, else (no best fit in its facts) to the
 * line that freed its loop or its end, else to its generating line.
 */
export function surelyBusyUntil(t: Task): number {
  if (t.phase === 'feedback' && t.closedMs != null) return t.closedMs;
  const freed = t.guessed ? null : (loopFreedAt(t) ?? t.endedMs);
  return freed ?? t.generatingMs ?? t.receivedMs;
}

/**
 * The loops of the miner's current run (as many as it announced endpoints; more if its tasks were
 * surely busy more at once: a modified miner may run several per endpoint), and every open and
 * written task's sure busy time. Null when the run announced none.
 */
export function runLoops(
  cx: TrackerContext,
  all: Task[],
  sinceMs: number,
): { loops: number; endpoints: string[]; written: LoopCount['busy']; open: Map<string, LoopCount['busy'][number]> } | null {
  const announced = cx.book.runEndpoints.length;
  if (!announced) return null;
  const written = cx.book.writtenBusy.filter((b) => b.toMs > sinceMs);
  const open = new Map(all.map((t) => [t.id, { fromMs: busyFromMs(t), toMs: surelyBusyUntil(t), id: t.id }]));
  const every = [...written, ...open.values()];
  const endpoints = [
    ...new Set(
      cx.book.runEndpoints.map((url) => {
        const b = endpointBinding(cx, url);
        return endpointKey(b.ns, b.value);
      }),
    ),
  ];
  return { loops: Math.max(announced, ...every.map((b) => busyAt(every, b.fromMs))), endpoints, written, open };
}

/**
 * The first instant from `sinceMs` at which tasks other than `id` surely fill every loop of the run
 * (Infinity: none): task `id` cannot be alive then, it would need a loop of its own.
 */
export function loopsFullFrom(run: NonNullable<ReturnType<typeof runLoops>>, id: string, sinceMs: number): number {
  const others = [...run.written, ...run.open.values()].filter((b) => b.id !== id && b.toMs > sinceMs);
  const instants = [sinceMs, ...others.map((b) => b.fromMs).filter((x) => x > sinceMs)].sort((a, b) => a - b);
  for (const x of instants) if (busyAt(others, x) >= run.loops) return x;
  return Infinity;
}

/** What a part of the window searches with: the run's loops, and the tasks outside the part that keep some busy. */
export function loopCount(run: NonNullable<ReturnType<typeof runLoops>>, part: WindowTask[]): LoopCount {
  const inPart = new Set(part.map((t) => t.id));
  return { loops: run.loops, endpoints: run.endpoints, busy: [...run.written, ...[...run.open].filter(([id]) => !inPart.has(id)).map(([, b]) => b)] };
}

/** How long a worker may still be at a request the miner abandoned (event time). */
const ABANDONED_WORK_MS = 10 * 60_000;

/**
 * A task the miner abandoned (it restarted) may still be finished by its worker, whose late lines are
 * its, not the next task's: it stays open to them for a while, unless the input ends, or every worker
 * it may have been on answered since (a worker answers one request at a time: the one it was at when
 * the miner restarted is over once it answers any).
 */
export function mayStillWork(cx: TrackerContext, t: Task): boolean {
  return (
    !!t.interrupted &&
    !cx.book.draining &&
    t.phase !== 'feedback' &&
    workClock(cx) < abandonedWorkUntil(t) &&
    groupsStillAt(cx, t)
  );
}

/**
 * Some group `t` may have run on (its own, unless a best fit gave it) may still deliver its late lines
 * or file: a group whose lines are not read is not known to have answered.
 */
function groupsStillAt(cx: TrackerContext, t: Task): boolean {
  const answered = (g: string) => cx.opts.workerGroups.includes(g) && (cx.book.workerAnsweredMs.get(g) ?? -Infinity) > t.closedMs!;
  if (t.group !== null && !t.guessed) return workerEvidenceMayCome(cx, t.group) && !answered(t.group);
  return [...new Set([...cx.opts.workerGroups, ...cx.opts.outputGroups])].some((g) => !answered(g));
}

/** The clock `mayStillWork` reads: the newest event or tick. */
export const workClock = (cx: TrackerContext): number => Math.max(cx.book.lastMs, cx.book.tickMs);

/** Until when a worker may still be at what the miner abandoned (`mayStillWork`). */
export const abandonedWorkUntil = (t: Task): number => (t.closedMs ?? 0) + ABANDONED_WORK_MS;

/** Worker lines or output files of this group (any group, if unknown) are read: later evidence may come. */
function workerEvidenceMayCome(cx: TrackerContext, group: string | null): boolean {
  const read = [...cx.opts.workerGroups, ...cx.opts.outputGroups];
  return group === null ? read.length > 0 : read.includes(group);
}

/**
 * How long a task a best fit touched might have lived under another fit: to its close if a named line
 * closed it (its feedback, an interruption), else (a submit failure, itself perhaps a guess) as long
 * as a task may run.
 */
export function guessedUntil(cx: TrackerContext, t: Task): number {
  return namedClose(t) ?? t.receivedMs + cx.opts.taskTimeoutMs;
}

/** When a named line closed `t` (its feedback, an interruption); null if none did (its close, if any, was a submit failure, maybe a guess). */
export const namedClose = (t: Task): number | null => ((t.phase === 'feedback' || !!t.interrupted) && t.closedMs != null ? t.closedMs : null);

/** A written task's `guessedUntil`; unless a named line closed it, with what trims it later (`trimGuessedWritten`). */
export function guessedLife(cx: TrackerContext, t: Task): GuessedLife {
  const life = { fromMs: t.receivedMs, toMs: guessedUntil(cx, t) };
  return namedClose(t) === null ? { ...life, id: t.id, sinceMs: t.closedMs ?? t.generatingMs ?? t.receivedMs } : life;
}

/**
 * A written task whose close was a guess lived, under another fit, as long as a task may run; but not
 * past an instant at which other tasks surely held every loop, and its output file up to
 * `linkAfterEndMs` after. Once found, that bound holds for good.
 */
export function trimGuessedWritten(cx: TrackerContext, tasks: Task[]): void {
  for (const g of cx.book.guessedWritten) {
    if (g.id === undefined || g.sinceMs === undefined) continue;
    const run = runLoops(cx, tasks, g.sinceMs);
    const full = run ? loopsFullFrom(run, g.id, g.sinceMs) + cx.opts.linkAfterEndMs : Infinity;
    if (full < g.toMs) {
      g.toMs = full;
      delete g.id;
      delete g.sinceMs;
    }
  }
}
