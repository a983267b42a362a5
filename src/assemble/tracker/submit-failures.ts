/**
 * "Failed to submit results": it names a validator, not the task. It goes into the attribution
 * window (a task that ended and had no feedback), and closes its task once settled.
 */
import { redactSecrets } from '../../parse';
import type { LogEvent } from '../events';
import { link, str, type LinkKind, type Task, type TrackerContext } from './book';
import { finish } from './close';

export function submitFailureItem(e: LogEvent) {
  return { kind: 'submit_failure' as const, key: `${e.file}#${e.offset}`, timeMs: e.timeMs };
}

export function applySubmitFailed(cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind): void {
  link(t, e, how);
  const hotkey = str(e.fields.validator_hotkey);
  const r = t.record;
  if (hotkey && !r.metadata.validator_hotkey) r.metadata.validator_hotkey = hotkey;
  if (hotkey && r.metadata.validator_uid !== null && how.link !== 'inferred') cx.book.hotkeyUids.set(hotkey, r.metadata.validator_uid);
  r.generation.submission.submitted = false;
  if (!r.failure_analysis.failed) {
    r.failure_analysis.failed = true;
    r.failure_analysis.error_type = 'submit_failed';
    r.failure_analysis.error_message = redactSecrets(`Failed to submit results: ${e.fields.reason ?? ''}`.trim());
  }
  t.closedMs = e.timeMs;
  finish(cx, t);
}
