/**
 * A generation ends (the miner's completed / failed lines): the task it belongs to, and moving an
 * end taken by a guess when later evidence shows it was another candidate's.
 */
import type { ErrorType } from '../../schema';
import { isoUtc, redactSecrets } from '../../parse';
import type { LogEvent, OutputFile } from '../events';
import { applyPlySize } from '../ply-output';
import { choose, incomplete, link, num, oldest, round3, str, type Task, type TrackerContext } from './book';

const FAILURE_TYPES: Record<string, ErrorType> = {
  generation_failed: 'generation_http_error',
  endpoint_unreachable: 'endpoint_unreachable',
  endpoint_timeout: 'endpoint_timeout',
  client_error: 'client_error',
  exception: 'exception',
};

/** Generation completed or failed: the generating task on that endpoint, or the oldest one generating. */
export function onGenerationEnd(cx: TrackerContext, e: LogEvent): void {
  const { book } = cx;
  const endpoint = str(e.fields.endpoint);
  const group = endpoint ? groupOfEndpoint(cx, endpoint) : null;
  let candidates = book.tasks.filter((t) => t.phase === 'generating');
  // none generating: a task whose "Generating for prompt" line PM2 destroyed
  const generatingLineLost = candidates.length === 0;
  if (generatingLineLost) candidates = book.tasks.filter((t) => t.phase === 'received');
  if (group !== null) {
    // tasks known to run on that endpoint; a guessed binding does not rule the others out
    const bound = candidates.filter((t) => t.group === group);
    // free: not known to run elsewhere (no endpoint yet, or one that was only guessed)
    const free = candidates.filter((t) => t.group !== group && (t.group === null || t.ambiguity > 0));
    candidates = bound.length && bound.every((t) => t.ambiguity === 0) ? bound : [...bound, ...free];
  }
  if (!candidates.length) {
    book.counters.eventsWithoutTask++;
    return;
  }
  // An exception line without an endpoint is only taken when it cannot be someone else's.
  if (e.type === 'exception' && candidates.length > 1) {
    book.counters.eventsWithoutTask++;
    return;
  }
  const t = oldest(candidates, generatingLineLost ? 'receivedMs' : 'generatingMs');
  const choices = choose(t, candidates);
  applyEnd(cx, t, e, choices, generatingLineLost);
  if (choices > 1) t.endState!.candidates = candidates.map((c) => c.id);
  if (group !== null && t.group === null) t.group = group;
}

function applyEnd(cx: TrackerContext, t: Task, e: LogEvent, choices: number, generatingLineLost: boolean): void {
  const r = t.record;
  t.endState = {
    event: e,
    candidates: [t.id],
    prev: {
      submission: { ...r.generation.submission },
      total_time: r.generation.timing.total_time,
      file_size_bytes: r.generation.output.file_size_bytes,
      file_size_mb: r.generation.output.file_size_mb,
      failure_analysis: { ...r.failure_analysis },
    },
  };
  link(t, e, choices);
  if (generatingLineLost) incomplete(t, 'generating_line_lost');
  t.phase = 'ended';
  t.endedMs = e.timeMs;
  t.endSeenWallMs = cx.book.output?.wallMs ?? null;
  t.endInferred = choices > 1;
  const sub = r.generation.submission;
  sub.submission_time = isoUtc(e.timeMs);
  if (r.generation.timing.total_time === null && t.generatingMs !== null)
    r.generation.timing.total_time = round3((e.timeMs - t.generatingMs) / 1000);
  if (e.type === 'generation_completed') {
    const bytes = num(e.fields.bytes);
    // the file itself, when linked, is the better figure
    if (!t.ply) {
      r.generation.output.file_size_bytes = bytes;
      if (bytes !== null && r.generation.output.file_size_mb === null)
        r.generation.output.file_size_mb = Math.round((bytes / 1048576) * 1e6) / 1e6;
    }
    if (sub.pre_submission_rejection === null) sub.pre_submission_rejection = false;
    return;
  }
  // The miner still submits, with empty results: a pre-submission rejection.
  const fa = r.failure_analysis;
  fa.failed = true;
  sub.pre_submission_rejection = true;
  if (sub.rejection_reason !== null) {
    fa.error_type = 'pre_submission_rejection';
  } else {
    // a failure line followed by a Python traceback is an exception, whatever the line says
    fa.error_type = e.stackTrace ? 'exception' : (FAILURE_TYPES[e.type] ?? 'exception');
    sub.rejection_reason = fa.error_type;
  }
  fa.error_message = redactSecrets(failureMessage(e));
  if (e.stackTrace) fa.stack_trace = e.stackTrace;
}

/**
 * Feedback for a task whose end was not seen: the end went to another candidate by a guess
 * (that task has no feedback yet). A feedback line closes exactly the task it names, so that
 * task had ended: the guessed end moves to it, and the other goes back to generating.
 */
export function reclaimGuessedEnd(cx: TrackerContext, t: Task): void {
  const holder = cx.book.tasks.find((o) => o !== t && o.phase === 'ended' && o.endState && o.endState.candidates.includes(t.id));
  if (holder) moveGuessedEnd(cx, holder, t);
}

/**
 * An output file written after a task's guessed end, too late to be a file of that generation:
 * the task was still generating, so the end it took by a guess was another candidate's, one still
 * generating. The end moves there and the task is generating again. Only files do this: a late
 * worker line may follow its own generation's end.
 */
export function reopenGuessedEnd(cx: TrackerContext, f: OutputFile): Task | null {
  const { book } = cx;
  const generating = (id: string) => book.tasks.find((x) => x.id === id && x.phase === 'generating');
  const holders = book.tasks.filter(
    (t) =>
      t.phase === 'ended' &&
      t.endInferred &&
      !t.ply &&
      (t.group === f.group || t.group === null) &&
      (t.generatingMs ?? t.receivedMs) <= f.timeMs &&
      t.endState!.candidates.some((id) => id !== t.id && generating(id)),
  );
  if (!holders.length) return null;
  const holder = oldest(holders, 'generatingMs');
  const others = holder.endState!.candidates.filter((id) => id !== holder.id).map(generating).filter((x): x is Task => !!x);
  moveGuessedEnd(cx, holder, oldest(others, 'generatingMs'));
  return holder;
}

/** The end `holder` took by a guess goes to `to`; `holder` is generating again. */
function moveGuessedEnd(cx: TrackerContext, holder: Task, to: Task): void {
  const st = holder.endState!;
  const r = holder.record;
  r.generation.submission = st.prev.submission;
  r.generation.timing.total_time = st.prev.total_time;
  r.generation.output.file_size_bytes = st.prev.file_size_bytes;
  r.generation.output.file_size_mb = st.prev.file_size_mb;
  if (holder.ply) applyPlySize(r, holder.ply.size);
  r.failure_analysis = st.prev.failure_analysis;
  const p = r.provenance;
  const last = p.links.map((l) => l.event).lastIndexOf(st.event.type);
  if (last !== -1) p.links.splice(last, 1);
  p.sources = p.sources.filter((x) => !(x.event === st.event.type && x.offset === st.event.offset && x.file === st.event.file));
  holder.phase = 'generating';
  holder.endedMs = null;
  holder.endInferred = false;
  holder.endState = null;
  applyEnd(cx, to, st.event, st.candidates.length, false);
}

function failureMessage(e: LogEvent): string {
  switch (e.type) {
    case 'generation_failed':
      return `Generation failed with code: ${e.fields.status}`;
    case 'endpoint_unreachable':
      return `Failed to connect to the endpoint: ${e.fields.endpoint}`;
    case 'endpoint_timeout':
      return `The request to the endpoint timed out: ${e.fields.endpoint}`;
    case 'client_error':
      return `${e.fields.error} (${e.fields.endpoint})`;
    default:
      return String(e.fields.message ?? e.type);
  }
}

function groupOfEndpoint(cx: TrackerContext, url: string): string | null {
  const norm = (u: string) => u.replace(/\/+$/, '');
  for (const [endpoint, group] of Object.entries(cx.opts.endpoints)) if (norm(endpoint) === norm(url)) return group;
  return null;
}
