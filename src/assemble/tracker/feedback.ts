/** The validator's feedback line (it names its task's log id) and the detail line that follows it. */
import { generationId } from '../../schema';
import { isoUtc } from '../../parse';
import type { LogEvent } from '../events';
import { analysePrompt, promptKey, taskTypeOfLogId, textLogId, type Prompt } from '../prompt';
import { addSource, incomplete, link, NAMED, newRecord, num, oldest, openTask, round3, str, type Task, type TrackerContext } from './book';
import { pulledAt } from './queries';
import { closeFeedback, reopenWritten } from './close';
import { attributeSoon, enter, type Appliers } from './window';

/**
 * The feedback line names its task (log id, or the whole prompt on older miners). It closes the task:
 * its end came before (a constraint for the window), and a score above 0 says it completed.
 */
export function onFeedback(cx: TrackerContext, ap: Appliers, e: LogEvent, analysed: Prompt | null): void {
  const { book, opts } = cx;
  let logId = str(e.fields.log_id);
  let key: string | null = null;
  if (e.long) {
    // older miners: the whole prompt instead of the log id
    const p = analysed ?? analysePrompt(e.long, cx.hashers);
    logId = p.logId;
    key = promptKey(p);
  }
  if (!logId) return;
  const awaiting = book.tasks.filter((t) => (key ? t.key === key : t.logId === logId) && t.phase !== 'feedback');
  const ended = awaiting.filter((t) => t.endedMs !== null);
  const candidates = ended.length ? ended : awaiting;
  const orphanId = orphanIdOf(cx, e, logId);
  let t: Task;
  let named = true;
  const reopened = candidates.length ? null : reopenWritten(cx, (x) => (key ? x.key === key : x.logId === logId), e.timeMs);
  if (reopened) {
    t = reopened;
    link(t, e, NAMED);
  } else if (!candidates.length) {
    t = orphanTask(cx, e, logId, orphanId);
  } else {
    t = oldest(candidates, 'receivedMs');
    t.orphanId = orphanId;
    named = candidates.length === 1;
    link(t, e, named ? NAMED : { link: 'inferred', candidates: candidates.length });
  }
  const r = t.record;
  const uid = num(e.fields.validator_uid);
  if (uid !== null) {
    // the line names its task: that task's pull was of this validator
    if (named && !t.key.startsWith('orphan:')) t.pulledMs ??= pulledAt(book, uid, t.receivedMs);
    r.metadata.validator_uid = uid;
    r.metadata.validator_hotkey = opts.validatorHotkeys[String(uid)] ?? r.metadata.validator_hotkey;
  }
  const fb = r.validator_feedback;
  fb.received = true;
  fb.feedback_time = isoUtc(e.timeMs);
  r.generation.submission.submitted = true;
  const score = e.fields.score;
  if (score === 'failed' || score === null || score === undefined) {
    fb.score = null;
    fb.accepted = null;
  } else {
    fb.score = num(score);
    fb.accepted = fb.score === null ? null : fb.score > opts.acceptScoreAbove;
  }
  t.validationFailed = score === 'failed';
  t.mustComplete = (fb.score ?? 0) > 0;
  const subTime = r.generation.submission.submission_time;
  if (subTime) fb.feedback_delay_seconds = round3((e.timeMs - Date.parse(subTime)) / 1000);
  t.phase = 'feedback';
  t.feedbackMs = e.timeMs;
  t.closedMs = e.timeMs;
  book.awaitingDetail = t;
  if (!t.key.startsWith('orphan:') && t.endedMs === null)
    enter(cx, ap, { item: { kind: 'close', key: `close:${t.id}`, timeMs: e.timeMs, taskId: t.id, mustComplete: t.mustComplete }, event: null, file: null });
  else attributeSoon(cx, ap);
}

export function onFeedbackDetail(cx: TrackerContext, e: LogEvent): void {
  const t = cx.book.awaitingDetail;
  if (!t) {
    cx.book.counters.eventsWithoutTask++;
    return;
  }
  const fb = t.record.validator_feedback;
  fb.average_score = num(e.fields.average_score);
  fb.duel_rating = num(e.fields.duel_rating);
  fb.accepted_recent = num(e.fields.accepted_recent);
  fb.accepted_window_hours = num(e.fields.accepted_window_hours);
  fb.reward = num(e.fields.reward);
  addSource(t, e);
  closeFeedback(cx);
}

function orphanIdOf(cx: TrackerContext, e: LogEvent, logId: string): string {
  return generationId({ minerApp: cx.opts.minerApp, headerTime: e.timeText, logId, occurrence: 0 });
}

/** A feedback line whose task was never seen: a record of what is known, marked incomplete. */
function orphanTask(cx: TrackerContext, e: LogEvent, logId: string, id: string): Task {
  cx.book.counters.feedbackWithoutTask++;
  const record = newRecord(cx, id, e.timeMs);
  record.task.log_id = logId;
  record.task.task_type = taskTypeOfLogId(logId);
  record.task.is_base64_image = record.task.task_type === 'IMAGE-TO-3D';
  if (record.task.task_type === 'TEXT-TO-3D' && !logId.endsWith('...')) {
    // a text log id of at most 100 characters is the whole prompt
    record.task.prompt = logId;
    record.task.prompt_length = textLogId(logId).length;
  }
  const t = openTask(cx, id, `orphan:${id}`, logId, 'ended', e, record);
  t.endLost = true;
  incomplete(t, 'task_not_seen');
  return t;
}
