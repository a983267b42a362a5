/**
 * Which validator is which: the miner's lines name a validator by uid (queries, feedback) or by hotkey
 * (failed pulls and submits); what pairs them is learnt here.
 */
import type { Task, TrackerContext } from './book';

/** The hotkey of the validator that gave the task: the config's, else one the logs paired with its uid. */
export function validatorHotkeyOf(cx: TrackerContext, t: Task): string | null {
  const { validator_hotkey: hotkey, validator_uid: uid } = t.record.metadata;
  if (hotkey || uid === null) return hotkey;
  for (const [k, u] of cx.book.hotkeyUids) if (u === uid) return k;
  return null;
}

/** A validator's uid from its hotkey: the config's, else one the logs paired (a failed pull after its query). */
export function uidOf(cx: TrackerContext, hotkey: string): number | null {
  for (const [uid, k] of Object.entries(cx.opts.validatorHotkeys)) if (k === hotkey) return Number(uid);
  return cx.book.hotkeyUids.get(hotkey) ?? null;
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
