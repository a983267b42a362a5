/** A task starts: the miner's prompt lines ("Task received", "Generating for prompt"), and those PM2 damaged. */
import { generationId } from '../../schema';
import { isoUtc } from '../../parse';
import type { LogEvent } from '../events';
import { analysePrompt, promptKey, type Prompt } from '../prompt';
import { addSource, incomplete, newRecord, openTask, str, type Task, type TrackerContext } from './book';
import { pulledAt, takeQuery } from './queries';

export function onPromptLine(cx: TrackerContext, e: LogEvent, phase: 'received' | 'generating', analysed: Prompt | null): void {
  const { book } = cx;
  // analysed already (on another thread, whose bytes it then holds): the second copy is matched by its key below
  if (phase === 'generating' && !analysed) {
    // The second copy of a prompt: compared byte for byte with the first, not decoded and hashed again.
    const same = book.tasks.find((t) => t.phase === 'received' && book.promptBytes.get(t)?.equals(e.long!));
    if (same) {
      startGenerating(cx, same, e);
      return;
    }
  }
  const prompt = analysed ?? analysePrompt(e.long!, cx.hashers);
  const key = promptKey(prompt);
  if (phase === 'generating') {
    const waiting = book.tasks.find((t) => t.phase === 'received' && t.key === key);
    if (waiting) {
      startGenerating(cx, waiting, e);
      return;
    }
  }
  // The first intact copy of this prompt: a new task.
  const t = newTask(cx, e, prompt, key);
  if (phase === 'received' && !analysed) book.promptBytes.set(t, e.long!);
  if (phase === 'generating') {
    t.phase = 'generating';
    t.generatingMs = e.timeMs;
    // Its "Task received" line was lost (PM2 cut it) or lies before the logs we have.
    const lost = book.lostReceived.shift();
    if (lost && e.timeMs - lost.ms < 60000) {
      t.receivedMs = lost.ms;
      t.record.metadata.timestamp = isoUtc(lost.ms);
    }
    incomplete(t, 'task_received_line_lost');
  }
}

function startGenerating(cx: TrackerContext, t: Task, e: LogEvent): void {
  t.phase = 'generating';
  t.generatingMs = e.timeMs;
  cx.book.promptBytes.delete(t);
  addSource(t, e);
}

function newTask(cx: TrackerContext, e: LogEvent, prompt: Prompt, key: string): Task {
  const { book, opts } = cx;
  const occKey = `${e.timeText}|${prompt.logId}`;
  const occurrence = book.occurrences.get(occKey) ?? 0;
  book.occurrences.set(occKey, occurrence + 1);
  if (book.occurrences.size > 10000) book.occurrences.delete(book.occurrences.keys().next().value!);
  const id = generationId({ minerApp: opts.minerApp, headerTime: e.timeText, logId: prompt.logId, occurrence });
  const record = newRecord(cx, id, e.timeMs);
  const task = record.task;
  task.log_id = prompt.logId;
  task.prompt_length = prompt.length;
  if (prompt.kind === 'text') {
    task.task_type = 'TEXT-TO-3D';
    task.prompt = prompt.text;
    task.is_base64_image = false;
  } else {
    task.task_type = 'IMAGE-TO-3D';
    task.prompt = `[BASE64_IMAGE_HASH:sha256:${prompt.sha256}]`;
    task.is_base64_image = true;
    task.base64_image_hash = `sha256:${prompt.sha256}`;
    const stored = opts.storeImages ? cx.storeImage(prompt.bytes, prompt.sha256) : { skipped: 'disabled' as const };
    if ('path' in stored) task.image_file_path = stored.path;
    else record.provenance.blobs_skipped.push({ kind: 'image', reason: stored.skipped, hash: task.base64_image_hash });
  }
  const version = str(e.fields.version);
  if (version && !record.metadata.miner_version) record.metadata.miner_version = version;
  // the validator chosen just before the pull (several endpoints: first queried, first served)
  const taken = takeQuery(book);
  const recent = !!taken && e.timeMs - taken.query.ms < 60000 && taken.query.uid !== null;
  if (recent) {
    record.metadata.validator_uid = taken.query.uid;
    record.metadata.validator_hotkey = opts.validatorHotkeys[String(taken.query.uid)] ?? null;
  }
  const t = openTask(cx, id, key, prompt.logId, 'received', e, record);
  // with several queries open, which one this pull answered is a guess: attribution may not rely on it
  if (recent && taken.sure) {
    t.validatorSure = true;
    t.pulledMs = pulledAt(book, taken.query.uid!, t.receivedMs);
  }
  book.counters.tasksStarted++;
  return t;
}

export function onDamaged(cx: TrackerContext, e: LogEvent): void {
  const { book } = cx;
  book.counters.damagedEvents++;
  if (e.type === 'task_received') {
    book.lostReceived.push({ text: e.timeText, ms: e.timeMs });
    if (book.lostReceived.length > 16) book.lostReceived.shift();
  } else if (e.type === 'generating') {
    // only certain when a single task waits to start generating
    const waiting = book.tasks.filter((t) => t.phase === 'received');
    if (waiting.length === 1) {
      waiting[0]!.phase = 'generating';
      waiting[0]!.generatingMs = e.timeMs;
    } else {
      // a task with both prompt copies destroyed, or one whose start is unknown: while it may run,
      // no unnamed event can be sure of its task
      book.doubtUntilMs = Math.max(book.doubtUntilMs, e.timeMs + cx.opts.taskTimeoutMs);
    }
  }
}
