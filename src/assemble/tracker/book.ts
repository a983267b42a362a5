/**
 * The tracker's book: the open tasks and what links events to them (the tracker's mutable state, in
 * one place), the shape of a task, and the helpers every event family uses on a task's record.
 */
import { z } from 'zod';
import { emptyRecord, NETWORKS, type GenerationRecord, type MinerEvent } from '../../schema';
import { isoUtc } from '../../parse';
import type { LogEvent, FieldValue, OutputFile } from '../events';
import type { PlyResult } from '../../ply';
import type { Attribution, WindowItem, WrittenSpan } from './attribution';
import type { Hashers } from '../prompt';
import type { LinkedPly } from '../ply-output';
import type { FinishedRecord } from '../finished';
import type { StoreImage, TrackerOptions } from './options';
import type { PendingQuery, QueryLine } from './queries';

/** Objects the tracker keeps as they are (a record, a log event): their own code owns their shape. */
const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null;

export const PhaseSchema = z.enum(['received', 'generating', 'ended', 'feedback']);
export type Phase = z.infer<typeof PhaseSchema>;

/** An event waiting in the attribution window (see window.ts): the search's item and what it applies. */
export const WindowEntrySchema = z.object({
  item: z.custom<WindowItem>(isObject),
  /** The log line, without its long field (end, submit failure and worker items). */
  event: z.custom<LogEvent>(isObject).nullable(),
  /** Earlier lines of the same worker request, joined to this entry (see workers.ts): applied with it. */
  earlier: z.array(z.custom<LogEvent>(isObject)).optional(),
  /** The output file (file items), and its figures once measured. */
  file: z.custom<OutputFile>(isObject).nullable(),
  measure: z.custom<PlyResult>(isObject).nullable().optional(),
  /** The tasks it could go to, as last solved: none of them is written before it is settled. */
  candidates: z.array(z.string()),
  /** Every task it could have gone to so far (its alternatives, if it is settled by its best fit). */
  widest: z.array(z.string()).optional(),
  /** When it entered, on the book's `seq` (a task written after it entered was seen by its solves). */
  seq: z.number().optional(),
});
export type WindowEntry = z.infer<typeof WindowEntrySchema>;

/** One open task; JSON-safe, so the open-task snapshot goes into the state file as is. */
export const TaskSchema = z.object({
  id: z.string(),
  key: z.string(),
  logId: z.string(),
  phase: PhaseSchema,
  group: z.string().nullable(),
  receivedMs: z.number(),
  generatingMs: z.number().nullable(),
  endedMs: z.number().nullable(),
  feedbackMs: z.number().nullable(),
  /** The endpoint URL an endpoint error named, when no worker group is configured for it. */
  url: z.string().nullable().optional(),
  /** Its end is settled: whether the generation completed. */
  endCompleted: z.boolean().nullable().optional(),
  /** ... and whether the miner gave up waiting (its worker may have gone on). */
  endGivenUp: z.boolean().optional(),
  /** Its worker's answer (time, and the worker's own measure of the request), when settled. */
  answerMs: z.number().nullable().optional(),
  durationMs: z.number().nullable().optional(),
  /** Closed at this event time (feedback, submit failure, timeout, interruption): nothing later is its. */
  closedMs: z.number().nullable().optional(),
  /** Excused from needing an end: its end line was not seen (lost, or cut short). */
  endLost: z.boolean().optional(),
  /** Its score was above 0: its generation completed. */
  mustComplete: z.boolean().optional(),
  /** `Score: failed`: the validation returned no score. */
  validationFailed: z.boolean().optional(),
  /** Cut short before its end or feedback: why (miner_restarted, task_timeout, the end of an input). */
  interrupted: z.string().nullable().optional(),
  /** It took or lost an event by a best fit: nothing in its lifetime is determined any more. */
  guessed: z.boolean().optional(),
  /** Its validator is certain (one query was open when it came): a submit failure naming another is not its. */
  validatorSure: z.boolean().optional(),
  /** Its loop was busy with it from this query line at the latest (its pull), where its validator is known (`pulledAt`). */
  pulledMs: z.number().nullable().optional(),
  /** The worker line that named its output path was itself inferred. */
  expectedPlyInferred: z.boolean().optional(),
  /** The id a feedback-only record of this task would have had. */
  orphanId: z.string().nullable(),
  record: z.custom<GenerationRecord>(isObject),
  /** Its file from the output directory. (Optional fields: snapshots of older builds lack them.) */
  ply: z.custom<LinkedPly>(isObject).nullable().optional(),
  /** The output path a worker line named for it ("... PLY 35.31 MB -> /srv/outputs/x.ply"). */
  expectedPly: z.string().nullable().optional(),
  /** Finished, but waiting (since this wall time) for the output directory to show its file. */
  closingSinceMs: z.number().nullable().optional(),
  /** Event time it was finished at (a generation cut short has no end of its own). */
  closedAtMs: z.number().nullable().optional(),
  /** Wall time its generation's end was read (the daemon only): its file cannot be much later. */
  endSeenWallMs: z.number().nullable().optional(),
  /** The bytes its `Generation completed. Size: N` line gave (the record may show its file's instead). */
  endBytes: z.number().nullable().optional(),
});
export type Task = z.infer<typeof TaskSchema>;

/** The miner's uid and network, as its start lines say. */
export const IdentitySchema = z.object({ minerUid: z.number().nullable(), network: z.enum(NETWORKS).nullable() });
export type Identity = z.infer<typeof IdentitySchema>;
/**
 * The lifetime of a written task a best fit touched (window.ts); `id` and `sinceMs` while it may still
 * be trimmed (its close was itself a guess: see trimGuessedWritten).
 */
export const GuessedLifeSchema = z.object({ fromMs: z.number(), toMs: z.number(), id: z.string().optional(), sinceMs: z.number().optional() });
export type GuessedLife = z.infer<typeof GuessedLifeSchema>;

/** A "Task received" line PM2 cut: its time, for the task whose "Generating" line comes next. */
export const LostReceivedSchema = z.object({ text: z.string(), ms: z.number() });

export type { FinishedRecord } from '../finished';

export interface TrackerCounters {
  tasksStarted: number;
  recordsFinished: number;
  feedbackWithoutTask: number;
  eventsWithoutTask: number;
  damagedEvents: number;
  outputFilesLinked: number;
  outputFilesWithoutTask: number;
  /** Wall ms spent attributing unnamed events (solving the window and applying what it settled). */
  attributionMs: number;
  /** Times the window was solved (a tick with nothing new to solve skips it: window-time.ts). */
  attributionSolves: number;
}

/** The tracker's state: the open tasks, what links events to them, and the outbox. */
export class TaskBook {
  readonly counters: TrackerCounters = {
    tasksStarted: 0,
    recordsFinished: 0,
    feedbackWithoutTask: 0,
    eventsWithoutTask: 0,
    damagedEvents: 0,
    outputFilesLinked: 0,
    outputFilesWithoutTask: 0,
    attributionMs: 0,
    attributionSolves: 0,
  };
  tasks: Task[] = [];
  /** Finished tasks waiting for their output file (see awaitsOutput) or for an unsettled event they may own. */
  closing: Task[] = [];
  finished: FinishedRecord[] = [];
  minerEvents: MinerEvent[] = [];
  identity: Identity = { minerUid: null, network: null };
  occurrences = new Map<string, number>();
  pendingQueries: PendingQuery[] = [];
  /** The latest query lines, in log order (`pulledAt`). */
  queryLog: QueryLine[] = [];
  lostReceived: z.infer<typeof LostReceivedSchema>[] = [];
  /** The task whose feedback line came last: the detail line that follows belongs to it. */
  awaitingDetail: Task | null = null;
  /** Unnamed events not settled yet (attribution window), in arrival order. */
  window: WindowEntry[] = [];
  /** Endpoint URLs the miner announced (`Worker (url) started`), normalised. */
  endpointUrls: string[] = [];
  /** Those its current run announced (since its last start): one worker loop each. */
  runEndpoints: string[] = [];
  /** Written tasks of the current run: each kept a loop busy at least this long (window.ts, surelyBusyUntil). */
  writtenBusy: { fromMs: number; toMs: number; id?: string }[] = [];
  /** Per worker group, the ` Generation took` seconds of the request it is answering. */
  workerSeconds = new Map<string, { seconds: number; timeMs: number; key: string }>();
  /** Per worker group, the time of its latest answer (busy.ts, mayStillWork: what a restart abandoned is over after it). */
  workerAnsweredMs = new Map<string, number>();
  /** Until this event time, a task may be missing from the book (PM2 destroyed its prompt lines): nothing is determined. */
  doubtUntilMs = 0;
  /** The clock of the last tick (event time while catching up, the wall clock after). */
  tickMs = 0;
  /** The input ended (finishAll): nothing waits for later lines any more. */
  draining = false;
  /** Events are arriving in a batch: the window is solved once after it (solveDue), not at each one. */
  deferSolve = false;
  solveDue = false;
  /** Event time attribution was last solved at (tick re-solves as time passes), and what it found of each task's end. */
  solvedAtMs = -Infinity;
  ended: Attribution['ended'] = new Map();
  /**
   * Bumped by whatever may change what a solve reads: an event, an output file, a task closed or
   * written, a restore, the end of the input; also an update of the miner's settings (rare; the tests
   * use it to make every tick solve). Memory only.
   */
  changes = 0;
  /**
   * What the last solve read: the `changes` it saw, and until when time alone cannot change its answer
   * (the first deadline after it, in event time and on the abandoned-work clock; see window-time.ts).
   */
  solvedState = { changes: -1, untilMs: -Infinity, workUntilMs: -Infinity };
  /** Tasks written without their feedback, for a feedback that comes after all (close.ts). */
  written: Task[] = [];
  /** The lifetimes of tasks written after a best fit gave them or took from them an event (window.ts). */
  guessedWritten: GuessedLife[] = [];
  /**
   * The lifetimes of the latest written tasks, each up to the last event handed on when it was written,
   * and `seq` then: an event timed inside one that entered the window after it came late (another
   * file's line read after the miner's), and may be that task's, which the window no longer holds (window.ts).
   */
  writtenLives: { fromMs: number; toMs: number; seq: number }[] = [];
  /** Counts window entries and written tasks, in the order they came. */
  seq = 0;
  /** The latest written tasks that surely ran on an endpoint (no best fit in their facts), and their spans there. */
  writtenSpans: WrittenSpan[] = [];
  /** Validator hotkey -> uid, learnt where the logs pair them (a failed pull right after its query). */
  hotkeyUids = new Map<string, number>();
  /**
   * Validator hotkey -> the uids it may have: a settled `Failed to submit results` naming it went to
   * one of its candidates, each of a certain validator, so its uid is one of theirs (kept narrowing).
   */
  hotkeyUidChoices = new Map<string, number[]>();
  /** The miner's settings file as last read (over the config's minerConfig). */
  minerSettings: Record<string, string | number | boolean | null> = {};
  /** The first copy of each prompt until its second copy comes (not in the snapshot: memory only). */
  promptBytes = new WeakMap<Task, Buffer>();
  lastMs = 0;
  /**
   * The newest line of the miner's running process (its start excepted): the miner was alive then. A
   * feedback deadline passes only once a line shows it alive past it (close.ts, closeTimedOut).
   */
  minerAliveMs = 0;
  /** Output directories read live: how far they are known (wall ms), and the wall clock now; null in a one-shot ingest. */
  output: { settledMs: number; wallMs: number } | null = null;
}

/** What every event family acts with: the settings, the hashers and image sink, and the book. */
export interface TrackerContext {
  readonly opts: TrackerOptions;
  readonly hashers: Hashers;
  readonly storeImage: StoreImage;
  readonly book: TaskBook;
}

export function num(v: FieldValue | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
export function str(v: FieldValue | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

// ---- record helpers ----

/** A new open task, its first line as its first source. */
export function openTask(cx: TrackerContext, id: string, key: string, logId: string, phase: Phase, e: LogEvent, record: GenerationRecord): Task {
  const t: Task = {
    id,
    key,
    logId,
    phase,
    group: null,
    receivedMs: e.timeMs,
    generatingMs: null,
    endedMs: null,
    feedbackMs: null,
    orphanId: null,
    record,
  };
  cx.book.tasks.push(t);
  addSource(t, e);
  return t;
}

/** An empty record of this miner, with what is known of it now. */
export function newRecord(cx: TrackerContext, id: string, receivedMs: number): GenerationRecord {
  const record = emptyRecord({
    generation_id: id,
    timestamp: isoUtc(receivedMs),
    host: cx.opts.host,
    miner_app: cx.opts.minerApp,
    collector_version: cx.opts.collectorVersion,
  });
  fillIdentity(cx, record);
  return record;
}

export function fillIdentity(cx: TrackerContext, record: GenerationRecord): void {
  record.metadata.miner_uid = cx.book.identity.minerUid;
  record.metadata.network = cx.book.identity.network;
  record.metadata.miner_version = cx.opts.minerVersion;
  Object.assign(record.miner_config, cx.opts.minerConfig, cx.book.minerSettings);
}

export function oldest(tasks: Task[], by: 'receivedMs' | 'generatingMs' | 'endedMs'): Task {
  return tasks.reduce((a, b) => ((b[by] ?? Infinity) < (a[by] ?? Infinity) ? b : a));
}

/** How an event was tied to a task: named by the line, or by attribution (window.ts). */
export interface LinkKind {
  link: 'named' | 'determined' | 'inferred';
  candidates: number;
  /** Inferred: the other tasks it could have been. */
  alternatives?: string[];
}
export const NAMED: LinkKind = { link: 'named', candidates: 1 };

export function link(t: Task, e: LogEvent, how: LinkKind): void {
  addSource(t, e);
  addLink(t, e.type, how);
}

export function addLink(t: Task, event: string, how: LinkKind): void {
  const l: GenerationRecord['provenance']['links'][number] = { event, link: how.link, candidates: how.candidates };
  if (how.link === 'inferred' && how.alternatives?.length) l.alternatives = how.alternatives;
  t.record.provenance.links.push(l);
}

export function addSource(t: Task, e: LogEvent): void {
  t.record.provenance.sources.push({ event: e.type, file: e.file, offset: e.offset });
}

export function incomplete(t: Task, reason: string): void {
  const p = t.record.provenance;
  p.incomplete = true;
  if (!p.incomplete_reasons.includes(reason)) p.incomplete_reasons.push(reason);
}

/** A reason `incomplete` gave no longer holds. */
export function completeAgain(t: Task, reason: string): void {
  const p = t.record.provenance;
  p.incomplete_reasons = p.incomplete_reasons.filter((x) => x !== reason);
  p.incomplete = p.incomplete_reasons.length > 0;
}
