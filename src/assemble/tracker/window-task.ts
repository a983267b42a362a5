/** An open task as the attribution search sees it (window.ts). */
import type { WindowTask } from './attribution';
import { busyFromMs, loopFreedAt, namedClose } from './busy';
import { validatorHotkeyOf } from './validators';
import type { Task, TrackerContext } from './book';

export function toWindowTask(cx: TrackerContext, t: Task, receivedCanEnd: boolean): WindowTask {
  const bindings: WindowTask['fixedBindings'] = [];
  if (t.group) bindings.push({ ns: 'g', value: t.group });
  if (t.url) bindings.push({ ns: 'u', value: t.url });
  return {
    id: t.id,
    startMs: t.generatingMs ?? t.receivedMs,
    receivedMs: busyFromMs(t),
    loopFreeMs: loopFreeMs(t),
    canEnd: t.phase !== 'received' || receivedCanEnd,
    taskType: t.record.task.task_type,
    promptLength: t.record.task.prompt_length,
    fixedEnd: t.endedMs !== null ? { timeMs: t.endedMs, completed: t.endCompleted ?? true, late: t.endGivenUp ?? false } : null,
    fixedBindings: bindings,
    fixedAnswerMs: t.answerMs ?? null,
    fixedDurationMs: t.durationMs ?? null,
    fixedFileSize: t.ply?.size ?? null,
    closedMs: t.closedMs ?? null,
    hadFeedback: t.phase === 'feedback',
    abandonedMs: t.interrupted ? (t.closedMs ?? null) : null,
    endLost: t.endLost ?? false,
    guessed: t.guessed ?? false,
    mustComplete: t.mustComplete ?? false,
    validatorUid: t.validatorSure ? t.record.metadata.validator_uid : null,
    validatorHotkey: t.validatorSure ? validatorHotkeyOf(cx, t) : null,
  };
}

/** `loopFreedAt`, if no guess is in its facts (a task a best fit gave or took an event may sit on another endpoint). */
function loopFreeMs(t: Task): number | null {
  return t.guessed ? null : loopFreedAt(t);
}

/**
 * A task as it stands without what best fits gave it or took from it (its end, answer, endpoints, a
 * submit failure's close): an event only one such task may take is its, whatever those guesses were.
 */
export function withoutGuesses(w: WindowTask, t: Task): WindowTask {
  if (!t.guessed) return w;
  return { ...w, fixedEnd: null, fixedBindings: [], fixedAnswerMs: null, fixedDurationMs: null, fixedFileSize: null, closedMs: namedClose(t), canEnd: true };
}
