/**
 * "Failed to submit results": it names a validator, not the task. It goes into the attribution
 * window (a task that ended and had no feedback), and closes its task once settled.
 */
import { redactSecrets } from '../../parse';
import type { LogEvent } from '../events';
import { link, str, type LinkKind, type Task, type TrackerContext } from './book';
import { finish } from './close';

export function submitFailureItem(cx: TrackerContext, e: LogEvent) {
  const hotkey = str(e.fields.validator_hotkey);
  const uid = hotkey ? uidOf(cx, hotkey) : null;
  const uids = hotkey && uid === null ? (cx.book.hotkeyUidChoices.get(hotkey) ?? null) : null;
  return { kind: 'submit_failure' as const, key: `${e.file}#${e.offset}`, timeMs: e.timeMs, validatorHotkey: hotkey, validatorUid: uid, validatorUids: uids };
}

/**
 * A submit failure naming `hotkey` was settled among these candidates: if each one's validator is
 * certain, the hotkey's uid is one of theirs. Narrows what is known of it; one left is learnt. (A
 * candidate no longer open, undefined here, cannot be asked: then nothing is learnt.)
 */
export function narrowHotkeyUid(cx: TrackerContext, hotkey: string, candidates: (Task | undefined)[]): void {
  const { book } = cx;
  if (book.hotkeyUids.has(hotkey) || !candidates.length) return;
  const uids = candidates.map((t) => (t?.validatorSure ? t.record.metadata.validator_uid : null));
  if (uids.some((u) => u === null)) return;
  const before = book.hotkeyUidChoices.get(hotkey);
  const now = [...new Set(uids as number[])].filter((u) => !before || before.includes(u));
  if (now.length === 1) {
    book.hotkeyUids.set(hotkey, now[0]!);
    book.hotkeyUidChoices.delete(hotkey);
  } else if (now.length) book.hotkeyUidChoices.set(hotkey, now);
  if (book.hotkeyUidChoices.size > 256) book.hotkeyUidChoices.delete(book.hotkeyUidChoices.keys().next().value!);
}

/** A validator's uid from its hotkey: the config's, else one the logs paired (a failed pull after its query). */
function uidOf(cx: TrackerContext, hotkey: string): number | null {
  for (const [uid, k] of Object.entries(cx.opts.validatorHotkeys)) if (k === hotkey) return Number(uid);
  return cx.book.hotkeyUids.get(hotkey) ?? null;
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
