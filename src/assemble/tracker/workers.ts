/**
 * A worker's own lines: they belong to the task generating on its endpoint, which they do not name;
 * each goes into the attribution window with what it says about its request (the worker answered,
 * how long it took, what it was asked), and the record fields its rules set are applied once settled.
 */
import type { GenerationRecord } from '../../schema';
import type { LogEvent, FieldValue } from '../events';
import type { WindowItem } from './attribution';
import { link, num, str, type LinkKind, type Task, type TrackerContext } from './book';

type WorkerItem = Extract<WindowItem, { kind: 'worker' }>;

/** How far the saving line may be from ` Generation took` + the saving time (log and clock granularity). */
const SAME_REQUEST_SLACK_MS = 250;
const TOTAL = 'generation.timing.total_time';
const GENERATION = 'generation.timing.generation_time';
const SAVING = 'generation.timing.saving_time';

/**
 * The window item of a worker line. Its answer is its last line before the response: upstream's
 * ` Saving and encoding took` (with ` Generation took` before it, the two its own measure of the
 * request), a custom worker's total, or its rejection before submission.
 */
export function workerItem(cx: TrackerContext, e: LogEvent): { item: WorkerItem; sameRequestAs: string | null } {
  const group = e.spec.group;
  const seconds = cx.book.workerSeconds;
  const set = e.set;
  let durationMs: number | null = null;
  let startMs: number | null = null;
  let answer = false;
  let sameRequestAs: string | null = null;
  const key = `${e.file}#${e.offset}`;
  if (typeof set[GENERATION] === 'number') {
    seconds.set(group, { seconds: set[GENERATION], timeMs: e.timeMs, key });
    startMs = e.timeMs - set[GENERATION] * 1000;
  }
  if (typeof set[SAVING] === 'number') {
    answer = true;
    const gen = seconds.get(group);
    // the two lines are of one request only if the saving line comes as long after as saving took
    // (a dropped line must not pair one request's generation with the next one's saving)
    const apart = gen ? e.timeMs - gen.timeMs - set[SAVING] * 1000 : Infinity;
    if (gen && Math.abs(apart) <= SAME_REQUEST_SLACK_MS) {
      durationMs = (gen.seconds + set[SAVING]) * 1000;
      sameRequestAs = gen.key;
    }
    seconds.delete(group);
  } else if (typeof set[TOTAL] === 'number') {
    answer = true;
    durationMs = set[TOTAL] * 1000;
  } else if (rejects(set)) answer = true;
  if (answer) cx.book.workerAnsweredMs.set(group, Math.max(e.timeMs, cx.book.workerAnsweredMs.get(group) ?? -Infinity));
  const kind = str(e.fields.prompt_kind);
  const item: WorkerItem = {
    kind: 'worker',
    key,
    timeMs: e.timeMs,
    group,
    answerMs: answer ? e.timeMs : null,
    durationMs,
    startMs: durationMs !== null ? e.timeMs - durationMs : startMs,
    promptKind: kind === 'image' ? 'IMAGE-TO-3D' : kind === 'text' ? 'TEXT-TO-3D' : null,
    promptChars: num(e.fields.prompt_chars),
  };
  return { item, sameRequestAs };
}

function rejects(set: Record<string, FieldValue>): boolean {
  return !!str(set['generation.submission.rejection_reason'] as FieldValue) || set['generation.submission.pre_submission_rejection'] === true;
}

/** A settled worker line: its task runs on that worker; the fields its rule sets. */
export function applyWorker(_cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind, item: WorkerItem): void {
  t.group ??= e.spec.group;
  if (item.answerMs !== null) {
    t.answerMs = item.answerMs;
    t.durationMs = item.durationMs;
  }
  link(t, e, how);
  applySet(t.record, e.set);
  const plyPath = str(e.fields.ply_path);
  if (plyPath && !t.ply) {
    t.expectedPly = plyPath;
    t.expectedPlyInferred = how.link === 'inferred';
  }
  if (rejects(e.set)) t.record.generation.submission.pre_submission_rejection = true;
}

function applySet(record: GenerationRecord, set: Record<string, FieldValue>): void {
  for (const [path, value] of Object.entries(set)) {
    const parts = path.split('.');
    let obj = record as unknown as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) obj = obj[p] as Record<string, unknown>;
    obj[parts[parts.length - 1]!] = value;
  }
}
