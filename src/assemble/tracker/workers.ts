/** A worker's own lines: the task generating on its endpoint, and the record fields its rules set. */
import type { GenerationRecord } from '../../schema';
import type { LogEvent, FieldValue } from '../events';
import { choose, link, num, oldest, str, type Task, type TrackerContext } from './book';

export function onWorkerEvent(cx: TrackerContext, e: LogEvent): void {
  const { book } = cx;
  const group = e.spec.group;
  const generating = book.tasks.filter((t) => t.phase === 'generating');
  let candidates = generating.filter((t) => t.group === group);
  if (!candidates.length) candidates = matchingPrompt(generating.filter((t) => t.group === null), e);
  if (!candidates.length) {
    // a worker line written just after the miner saw the generation end
    candidates = book.tasks.filter((t) => t.group === group && t.phase === 'ended' && e.timeMs - (t.endedMs ?? 0) < 5000);
  }
  if (!candidates.length) {
    book.counters.eventsWithoutTask++;
    return;
  }
  const t = oldest(candidates, 'generatingMs');
  t.group = group;
  link(t, e, choose(t, candidates));
  applySet(t.record, e.set);
  const plyPath = str(e.fields.ply_path);
  if (plyPath && !t.ply) t.expectedPly = plyPath;
  if (str(e.set['generation.submission.rejection_reason'] as FieldValue) || e.set['generation.submission.pre_submission_rejection'] === true) {
    t.record.generation.submission.pre_submission_rejection = true;
  }
}

/**
 * A worker line that says what it was asked (fields `prompt_kind` text|image and `prompt_chars`,
 * e.g. the custom worker's "Request received: image prompt (547204 chars base64)") keeps only the
 * tasks with such a prompt, when any does.
 */
function matchingPrompt(tasks: Task[], e: LogEvent): Task[] {
  const kind = str(e.fields.prompt_kind);
  const chars = num(e.fields.prompt_chars);
  if (kind === null && chars === null) return tasks;
  const type = kind === 'image' ? 'IMAGE-TO-3D' : kind === 'text' ? 'TEXT-TO-3D' : null;
  const fit = tasks.filter(
    (t) => (type === null || t.record.task.task_type === type) && (chars === null || t.record.task.prompt_length === chars),
  );
  return fit.length ? fit : tasks;
}

function applySet(record: GenerationRecord, set: Record<string, FieldValue>): void {
  for (const [path, value] of Object.entries(set)) {
    const parts = path.split('.');
    let obj = record as unknown as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) obj = obj[p] as Record<string, unknown>;
    obj[parts[parts.length - 1]!] = value;
  }
}
