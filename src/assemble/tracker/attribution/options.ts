/** The ways a branch of the search can take an item, each with its cost (lower fits better). */
import type { Branch } from './branch';
import { NAMESPACES, type Answer, type AttributionLimits, type Binding, type WindowItem, type WindowTask } from './types';

export interface Option {
  id: string;
  /** The task's index in the branch's tasks. */
  at: number;
  cost: number;
  /** Changes the branch; returns the undo. */
  apply: () => () => void;
}

/** A Size figure that differs from the linked file's size: possible (a worker may return other bytes), unlikely. */
const SIZE_MISMATCH_COST = 5;

/**
 * The ways the branch can take item `it` (tried cheapest first), or whether a named line holds.
 * `hasFeedback`: tasks with a feedback line in the window (none of them failed to submit).
 */
export function optionsFor(br: Branch, it: WindowItem, hasFeedback: Set<string>): Option[] | boolean {
  // one function per kind: each is compiled on its own, when it is hot, and again alone when its types change
  switch (it.kind) {
    case 'close':
      return closeHolds(br, it);
    case 'end':
      return endOptions(br, it);
    case 'submit_failure':
      return submitFailureOptions(br, it, hasFeedback);
    case 'worker':
    case 'file':
      return workerOrFileOptions(br, it);
  }
}

/** A feedback line holds: its end came before, it did not also fail to submit, and a score above 0 means it completed. */
function closeHolds(br: Branch, it: Extract<WindowItem, { kind: 'close' }>): boolean {
  const i = br.indexOf.get(it.taskId);
  if (i === undefined) return true;
  const t = br.tasks[i]!;
  const e = br.end[i];
  return !((!e && !t.endLost) || br.submitted[i] !== undefined || (e && it.mustComplete && !e.completed));
}

function endOptions(br: Branch, it: Extract<WindowItem, { kind: 'end' }>): Option[] {
  const { limits, tasks } = br;
  const out: Option[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    // the end line and the task's generating (or received) line are the miner's own, one clock: no slack
    if (!t.canEnd || br.end[i] || br.closedBefore(i, it.timeMs) || t.startMs > it.timeMs) continue;
    if (it.binding && !br.canBind(i, it.binding, it.timeMs)) continue;
    const a = br.answer[i];
    if (a && !answerFits(t, it.timeMs, a, limits)) continue;
    const bound = br.bindTo(i, it.binding);
    let clash = false;
    for (const ns of NAMESPACES) {
      const value = br.boundIn(i, ns);
      if (value !== undefined && (clash = br.overlaps(i, ns, value, it.timeMs))) break;
    }
    if (bound) br.unbind(i, it.binding!);
    if (clash) continue;
    const file = br.fileSize[i];
    out.push({
      id: t.id,
      at: i,
      cost: endCost(t, it.timeMs, a) + (it.bytes !== null && file !== undefined && file !== it.bytes ? SIZE_MISMATCH_COST : 0) + closeLagCost(t, it.timeMs),
      apply: () => {
        const bound = br.bindTo(i, it.binding);
        br.end[i] = { timeMs: it.timeMs, completed: it.completed, late: it.late, bytes: it.bytes };
        return () => {
          br.end[i] = undefined;
          if (bound) br.unbind(i, it.binding!);
        };
      },
    });
  }
  return out;
}

function submitFailureOptions(br: Branch, it: Extract<WindowItem, { kind: 'submit_failure' }>, hasFeedback: Set<string>): Option[] {
  const { tasks } = br;
  const out: Option[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    if (!br.end[i] || t.hadFeedback || br.closedBefore(i, it.timeMs) || br.submitted[i] !== undefined || hasFeedback.has(t.id)) continue;
    if (otherValidator(t, it)) continue;
    out.push({
      id: t.id,
      at: i,
      cost: 0,
      apply: () => {
        br.submitted[i] = it.timeMs;
        return () => {
          br.submitted[i] = undefined;
        };
      },
    });
  }
  return out;
}

function workerOrFileOptions(br: Branch, it: Extract<WindowItem, { kind: 'worker' | 'file' }>): Option[] {
  const { limits, tasks } = br;
  const out: Option[] = [];
  const b: Binding = { ns: 'g', value: it.group };
  const early = it.kind === 'file' ? limits.fileEarlyMs : limits.slackMs;
  const late = it.kind === 'file' ? it.lateMs : 0;
  // one task at a time on an endpoint: the task known to run there, if it is generating now, is the
  // only one the miner is waiting for; a worker may still be at one the miner gave up on. One that
  // ended a moment ago (a file may come late) is a candidate, but another may run there since. A
  // task not seen generating (`canEnd`) never reached a worker.
  const sent: number[] = [];
  for (let i = 0; i < tasks.length; i++) if (tasks[i]!.canEnd) sent.push(i);
  const open = sent.filter((i) => !br.closedBefore(i, it.timeMs) && br.generatingAt(i, it.timeMs, early, late));
  const running = open.filter((i) => br.group[i] === it.group && br.generatingAt(i, it.timeMs, early, 0));
  const current = running.length ? running : open.filter((i) => br.canBind(i, b, it.timeMs));
  const givenUp =
    it.kind === 'worker' ? sent.filter((i) => !open.includes(i) && !br.workerClosedBefore(i, it.timeMs) && br.givenUpBefore(i, it.timeMs) && br.canBind(i, b, it.timeMs)) : [];
  for (const i of [...current, ...givenUp]) {
    const t = tasks[i]!;
    const e = br.end[i];
    const after = givenUp.includes(i);
    if (it.kind === 'file') {
      if (br.fileSize[i] !== undefined) continue;
      out.push({
        id: t.id,
        at: i,
        cost: e && e.bytes !== null && e.bytes !== it.size ? SIZE_MISMATCH_COST : 0,
        apply: () => {
          const bound = br.bindTo(i, b);
          br.fileSize[i] = it.size;
          return () => {
            br.fileSize[i] = undefined;
            if (bound) br.unbind(i, b);
          };
        },
      });
      continue;
    }
    if (!workerLineFits(t, it, limits)) continue;
    const a: Answer | null = it.answerMs === null ? null : { timeMs: it.answerMs, durationMs: it.durationMs };
    if (a && (br.answer[i] || (!after && e && !answerFits(t, e.timeMs, a, limits)))) continue;
    out.push({
      id: t.id,
      at: i,
      // an answer to a task whose end is already placed pairs with it here (else at its end)
      cost: (after ? 1 : 0) + (it.startMs !== null ? gapCost(it.startMs - t.startMs) : 0) + (a && !after && e ? answerCost(t, e.timeMs, a) : 0),
      apply: () => {
        const bound = br.bindTo(i, b);
        if (it.answerMs !== null) br.answer[i] = { timeMs: it.answerMs, durationMs: it.durationMs };
        return () => {
          if (it.answerMs !== null) br.answer[i] = undefined;
          if (bound) br.unbind(i, b);
        };
      },
    });
  }
  return out;
}

/**
 * What a worker line says of its request fits the task: the kind and length of prompt it was asked,
 * and it began the request after the task's generating line (also after the miner gave up).
 */
export function workerLineFits(t: WindowTask, it: Extract<WindowItem, { kind: 'worker' }>, limits: AttributionLimits): boolean {
  return (
    (!it.promptKind || !t.taskType || it.promptKind === t.taskType) &&
    (it.promptChars === null || t.promptLength === null || it.promptChars === t.promptLength) &&
    (it.startMs === null || it.startMs >= t.startMs - limits.slackMs)
  );
}

/** The failure names a validator, and the task is known to be another's. */
export function otherValidator(t: WindowTask, it: { validatorHotkey: string | null; validatorUid: number | null; validatorUids?: number[] | null }): boolean {
  const known = <T>(x: T | null | undefined): x is T => x !== null && x !== undefined;
  return (
    (known(it.validatorUid) && known(t.validatorUid) && it.validatorUid !== t.validatorUid) ||
    (!!it.validatorUids && known(t.validatorUid) && !it.validatorUids.includes(t.validatorUid)) ||
    (!!it.validatorHotkey && !!t.validatorHotkey && it.validatorHotkey !== t.validatorHotkey)
  );
}

/** The one-per-task slot an item fills (its end, its submit failure, its answer, its file), if any. */
export function slotOf(it: WindowItem): string | null {
  if (it.kind === 'worker') return it.answerMs !== null ? 'answer' : null;
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
  return 1e-4 * dur * dur - 0.1 * dur + (a ? answerCost(t, endMs, a) : 0);
}

/**
 * An answer and an end as one pair (see endCost): counted once, by whichever of the two the walk
 * places last. The lag between the answer and the end line, then how far the worker's own start (its
 * answer less its own measure of the request) lies from the task's generating line: the miner's
 * interval less the worker's measure is that gap plus the lag, so the lag is not counted twice (the
 * answer's transfer, long for a large output, made tasks that started later look the better fit).
 */
function answerCost(t: WindowTask, endMs: number, a: Answer): number {
  // an end before the answer is only the processes' clocks apart (within the slack): unlikely
  return -50 + gapCost(endMs - a.timeMs) + (a.durationMs !== null ? gapCost(a.timeMs - a.durationMs - t.startMs) : 0);
}

/**
 * From an end to its task's feedback (the submit and the validator's answer): the time fit said nothing
 * of that wait. A small square (1e-4 per s², below a millisecond of any other gap) says shorter waits
 * are likelier: for two ends before two feedback lines it keeps the order (first ended, first
 * answered); for one task of two fed back, it draws that task's end towards its feedback. Counting
 * only order inversions instead kept the first and lost the second, and with it the gain on the
 * model test's schedules (bench/README.md, attribution).
 */
function closeLagCost(t: WindowTask, endMs: number): number {
  return !t.hadFeedback || t.closedMs === null ? 0 : 1e-10 * (t.closedMs - endMs) ** 2;
}

/**
 * Two times that should agree, `ms` apart: 10 per second, and a little more than that as the gap
 * grows. Summed over a matching, the linear part alone ties whenever every worker started after
 * every generating line (any matching has the same sum); the square then prefers the matching that
 * keeps the order (first sent, first started), which equal lags make the likeliest.
 */
function gapCost(ms: number): number {
  return (10 * Math.abs(ms)) / 1000 + 1e-6 * ms * ms;
}

/**
 * A worker's answer and a miner's end line can be one request's: the end comes after the answer,
 * within the lag, and the worker's own measure of the request lies inside the miner's interval, short
 * of it by the request's and the answer's transfer at most.
 */
function answerFits(t: WindowTask, endMs: number, a: Answer, limits: AttributionLimits): boolean {
  if (endMs < a.timeMs - limits.slackMs || endMs - a.timeMs > limits.maxAnswerLagMs) return false;
  if (a.durationMs === null) return true;
  const gap = endMs - t.startMs - a.durationMs;
  return gap >= -limits.slackMs && gap <= limits.maxAnswerLagMs;
}
