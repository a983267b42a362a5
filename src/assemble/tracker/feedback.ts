/** The validator's feedback line (it names its task's log id) and the detail line that follows it. */
import { generationId, type GenerationRecord } from '../../schema';
import { isoUtc, redactSecrets } from '../../parse';
import type { LogEvent } from '../events';
import { analysePrompt, promptKey, taskTypeOfLogId, textLogId } from '../prompt';
import { addSource, incomplete, link, newRecord, num, oldest, openTask, round3, str, type Task, type TrackerContext } from './book';
import { closeFeedback } from './close';
import { reclaimGuessedEnd } from './end';
import { outcomeOf } from './settle';
import { resolveSubmitFailures } from './submit-failures';

export function onFeedback(cx: TrackerContext, e: LogEvent): void {
  const { book, opts } = cx;
  let logId = str(e.fields.log_id);
  let key: string | null = null;
  if (e.long) {
    // older miners: the whole prompt instead of the log id
    const p = analysePrompt(e.long, cx.hashers);
    logId = p.logId;
    key = promptKey(p);
  }
  if (!logId) return;
  const awaiting = book.tasks.filter((t) => (key ? t.key === key : t.logId === logId) && t.phase !== 'feedback');
  const ended = awaiting.filter((t) => t.phase === 'ended');
  const candidates = ended.length ? ended : awaiting;
  const orphanId = orphanIdOf(cx, e, logId);
  let t: Task;
  if (!candidates.length) {
    t = orphanTask(cx, e, logId, orphanId);
  } else {
    t = oldest(candidates, 'receivedMs');
    t.orphanId = orphanId;
    link(t, e, candidates.length);
  }
  if (t.phase === 'generating' || t.phase === 'received') reclaimGuessedEnd(cx, t);
  const r = t.record;
  const uid = num(e.fields.validator_uid);
  if (uid !== null) {
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
  const subTime = r.generation.submission.submission_time;
  if (subTime) fb.feedback_delay_seconds = round3((e.timeMs - Date.parse(subTime)) / 1000);
  if (t.phase !== 'ended' && t.phase !== 'feedback' && !r.provenance.incomplete_reasons.includes('task_not_seen')) {
    incomplete(t, 'generation_end_not_seen');
    failFromWorkerRejection(r);
  }
  if (fb.accepted === true && r.failure_analysis.failed && t.endInferred) swapInferredEnd(cx, t);
  r.outcome = outcomeOf(r, score === 'failed');
  if (score === 'failed' && !r.failure_analysis.failed) {
    r.failure_analysis.failed = true;
    r.failure_analysis.error_type = 'validation_failed';
    r.failure_analysis.error_message = 'the validation returned no score (Score: failed)';
  }
  t.phase = 'feedback';
  t.feedbackMs = e.timeMs;
  book.awaitingDetail = t;
  if (book.pendingSubmitFailures.length) resolveSubmitFailures(cx, () => false);
}

/**
 * The worker said it rejected its result before submission (its own line): the generation failed
 * even when the miner's failure line was not seen or went to another task by a guess.
 */
function failFromWorkerRejection(r: GenerationRecord): void {
  const sub = r.generation.submission;
  if (sub.pre_submission_rejection !== true || r.failure_analysis.failed) return;
  r.failure_analysis.failed = true;
  r.failure_analysis.error_type = 'pre_submission_rejection';
  r.failure_analysis.error_message = redactSecrets(`rejected before submission: ${sub.rejection_reason ?? 'no reason given'}`);
}

/**
 * An accepted score means the generation did not fail: when this task got a failure line that
 * named no task, and another candidate still open got the success, they are swapped.
 */
function swapInferredEnd(cx: TrackerContext, t: Task): void {
  const other = cx.book.tasks.find(
    (o) => o !== t && o.phase === 'ended' && o.endInferred && !o.record.failure_analysis.failed,
  );
  if (!other) return;
  const a = t.record;
  const b = other.record;
  const fa = a.failure_analysis;
  a.failure_analysis = b.failure_analysis;
  b.failure_analysis = fa;
  if (!t.ply && !other.ply) {
    // the miner's size figures came with the end lines; a linked file keeps its own
    const out = a.generation.output.file_size_bytes;
    a.generation.output.file_size_bytes = b.generation.output.file_size_bytes;
    a.generation.output.file_size_mb = b.generation.output.file_size_mb;
    b.generation.output.file_size_bytes = out;
    b.generation.output.file_size_mb = out === null ? null : Math.round((out / 1048576) * 1e6) / 1e6;
  }
  const pa = a.generation.submission.pre_submission_rejection;
  const ra = a.generation.submission.rejection_reason;
  a.generation.submission.pre_submission_rejection = b.generation.submission.pre_submission_rejection;
  a.generation.submission.rejection_reason = b.generation.submission.rejection_reason;
  b.generation.submission.pre_submission_rejection = pa;
  b.generation.submission.rejection_reason = ra;
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
  incomplete(t, 'task_not_seen');
  return t;
}
