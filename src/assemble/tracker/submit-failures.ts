/** "Failed to submit results": the ended task it belongs to, at once or once the feedback narrows the candidates. */
import { redactSecrets } from '../../parse';
import type { LogEvent } from '../events';
import { incomplete, link, oldest, str, type PendingSubmitFailure, type Task, type TrackerContext } from './book';
import { finish } from './close';

export function onSubmitFailed(cx: TrackerContext, e: LogEvent): void {
  const { book } = cx;
  const hotkey = str(e.fields.validator_hotkey);
  const ended = book.tasks.filter((t) => t.phase === 'ended');
  let candidates = ended;
  if (hotkey) {
    const uid = book.hotkeyUids.get(hotkey);
    const named = ended.filter(
      (t) => t.record.metadata.validator_hotkey === hotkey || (uid !== undefined && t.record.metadata.validator_uid === uid),
    );
    if (named.length) candidates = named;
  }
  if (!candidates.length) {
    book.counters.eventsWithoutTask++;
    return;
  }
  if (candidates.length === 1) {
    applySubmitFailed(cx, candidates[0]!, e, 1);
    return;
  }
  // Several tasks could have failed to submit: the ones whose feedback comes were not it.
  book.pendingSubmitFailures.push({ event: e, taskIds: candidates.map((t) => t.id), candidates: candidates.length });
}

/** A pending submit failure whose candidates the feedback narrowed to one is applied to it. */
export function resolveSubmitFailures(cx: TrackerContext, force: (p: PendingSubmitFailure) => boolean): void {
  const { book } = cx;
  for (const p of [...book.pendingSubmitFailures]) {
    const open = p.taskIds.map((id) => book.tasks.find((t) => t.id === id && t.phase === 'ended')).filter((t): t is Task => !!t);
    if (open.length > 1 && !force(p)) continue;
    book.pendingSubmitFailures = book.pendingSubmitFailures.filter((x) => x !== p);
    if (!open.length) {
      book.counters.eventsWithoutTask++;
      continue;
    }
    // one left: determined by elimination; forced: the oldest, inferred, and the others say it may have been theirs
    const t = oldest(open, 'endedMs');
    for (const o of open) if (o !== t) incomplete(o, 'submit_failure_ambiguous');
    applySubmitFailed(cx, t, p.event, open.length === 1 ? 1 : p.candidates);
  }
}

/** tick: submit failures that waited as long as feedback would have are forced onto a task. */
export function resolveStaleSubmitFailures(cx: TrackerContext, nowMs: number): void {
  if (cx.book.pendingSubmitFailures.length)
    resolveSubmitFailures(cx, (p) => nowMs - p.event.timeMs > cx.opts.feedbackTimeoutMs);
}

function applySubmitFailed(cx: TrackerContext, t: Task, e: LogEvent, candidates: number): void {
  link(t, e, candidates);
  const hotkey = str(e.fields.validator_hotkey);
  const r = t.record;
  if (hotkey && !r.metadata.validator_hotkey) r.metadata.validator_hotkey = hotkey;
  if (hotkey && r.metadata.validator_uid !== null && candidates === 1) cx.book.hotkeyUids.set(hotkey, r.metadata.validator_uid);
  r.generation.submission.submitted = false;
  if (!r.failure_analysis.failed) {
    r.failure_analysis.failed = true;
    r.failure_analysis.error_type = 'submit_failed';
    r.failure_analysis.error_message = redactSecrets(`Failed to submit results: ${e.fields.reason ?? ''}`.trim());
  }
  r.outcome = r.generation.submission.pre_submission_rejection ? 'generation_failed' : 'submit_failed';
  finish(cx, t);
}
