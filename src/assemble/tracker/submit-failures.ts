/**
 * "Failed to submit results": it names a validator, not the task. It goes into the attribution
 * window (a task that ended and had no feedback), and closes its task once settled.
 */
import { redactSecrets } from '../../parse';
import type { LogEvent } from '../events';
import { link, str, type LinkKind, type Task, type TrackerContext } from './book';
import { finish } from './close';
import { uidOf } from './validators';

export function submitFailureItem(cx: TrackerContext, e: LogEvent) {
  const hotkey = str(e.fields.validator_hotkey);
  const uid = hotkey ? uidOf(cx, hotkey) : null;
  const uids = hotkey && uid === null ? (cx.book.hotkeyUidChoices.get(hotkey) ?? null) : null;
  return { kind: 'submit_failure' as const, key: `${e.file}#${e.offset}`, timeMs: e.timeMs, validatorHotkey: hotkey, validatorUid: uid, validatorUids: uids };
}

export function applySubmitFailed(cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind): void {
  link(t, e, how);
  const hotkey = str(e.fields.validator_hotkey);
  const r = t.record;
  // the line names the validator: its hotkey, and its uid where known, over the guess from the queries;
  // not when the line itself went to this task by a guess (it may be another task's validator)
  if (hotkey && how.link !== 'inferred') {
    const uid = uidOf(cx, hotkey);
    r.metadata.validator_hotkey = hotkey;
    if (uid !== null) r.metadata.validator_uid = uid;
    else if (r.metadata.validator_uid !== null && t.validatorSure) cx.book.hotkeyUids.set(hotkey, r.metadata.validator_uid);
  }
  r.generation.submission.submitted = false;
  if (!r.failure_analysis.failed) {
    r.failure_analysis.failed = true;
    r.failure_analysis.error_type = 'submit_failed';
    r.failure_analysis.error_message = redactSecrets(`Failed to submit results: ${e.fields.reason ?? ''}`.trim());
  }
  t.closedMs = e.timeMs;
  finish(cx, t);
}
