/**
 * The generation tracker: one state per task, fed by events in event-time order, emitting finished
 * records. Links events to tasks with what upstream's worker loop guarantees (reference:
 * upstream-miner-logs.md): each endpoint handles one task at a time (pull -> generate -> submit ->
 * feedback); a feedback line names its task's log id; an endpoint error names its URL; a worker's
 * lines belong to its endpoint. Where the logs leave more than one candidate, the oldest is taken
 * and the record says the link was inferred. No I/O: images go out through `storeImage`.
 */
import {
  emptyRecord,
  emptyMinerEvent,
  generationId,
  type GenerationRecord,
  type MinerEvent,
  type ErrorType,
  type Outcome,
} from '../schema';
import type { LogEvent, FieldValue } from '../parse';
import { isoUtc, redactSecrets } from '../parse';
import type { PlyResult } from '../ply';
import type { OutputFile } from '../sources/output-dir';
import { analysePrompt, promptKey, taskTypeOfLogId, textLogId, type Hashers, type Prompt } from './prompt';
import { applyPlyResult, applyPlySize, type LinkedPly } from './ply-output';

export interface TrackerOptions {
  minerApp: string;
  host: string;
  collectorVersion: string;
  minerVersion: string | null;
  /** Settings in force, copied into each record's miner_config. */
  minerConfig: Record<string, string | number | boolean | null>;
  /** Endpoint URL -> worker group name (the config's worker groups). */
  endpoints: Record<string, string>;
  /** Validator uid -> hotkey (the miner logs hotkeys only in failure lines). */
  validatorHotkeys: Record<string, string>;
  /** A score above this is accepted (the validator scores every rejection 0). */
  acceptScoreAbove: number;
  /** No feedback this long after the generation ended: finished with received=false. */
  feedbackTimeoutMs: number;
  /** A task still receiving or generating after this long is finished as interrupted. */
  taskTimeoutMs: number;
  storeImages: boolean;
  /** Worker groups whose output directory is read: their files are linked to tasks. */
  outputGroups: string[];
  /** A file finished up to this long after the generation ended still belongs to it. */
  linkAfterEndMs: number;
}

export const DEFAULT_TRACKER_OPTIONS: Omit<TrackerOptions, 'minerApp' | 'host' | 'collectorVersion'> = {
  minerVersion: null,
  minerConfig: {},
  endpoints: {},
  validatorHotkeys: {},
  acceptScoreAbove: 0,
  feedbackTimeoutMs: 15 * 60 * 1000,
  taskTimeoutMs: 60 * 60 * 1000,
  storeImages: true,
  outputGroups: [],
  linkAfterEndMs: 5000,
};

/**
 * The miner logs the detail line right after the feedback line, and any other miner line closes the
 * wait; this is only for a miner that logs none and then goes quiet. Generous, since the event clock
 * also moves with the workers' lines, which may be read before the detail line reaches the file.
 */
const DETAIL_WAIT_MS = 60_000;

/** A file may carry a time a little before the line that started its generation (clock granularity). */
const OUTPUT_EARLY_SLACK_MS = 1000;
/** A finished task waits at most this long (wall) past the link window for its output file. */
const OUTPUT_MAX_WAIT_MS = 30_000;

/** Stores an image blob; returns its path relative to the data dir, or why it was not stored. */
export type StoreImage = (bytes: Buffer, sha256: string) => { path: string } | { skipped: 'disabled' | 'disk_low' | 'error' };

export interface FinishedRecord {
  record: GenerationRecord;
  /** Ids of records this one replaces if they were written (a feedback-only record of the same task). */
  supersedesIfPresent: string[];
  /** The output file linked to the generation (kept once accepted; measured then if it was not yet). */
  ply: LinkedPly | null;
}

type Phase = 'received' | 'generating' | 'ended' | 'feedback';

/** The end event a task took by a guess among candidates, and the record fields it changed. */
interface EndState {
  event: LogEvent;
  candidates: string[];
  prev: {
    submission: GenerationRecord['generation']['submission'];
    total_time: GenerationRecord['generation']['timing']['total_time'];
    file_size_bytes: number | null;
    file_size_mb: number | null;
    failure_analysis: GenerationRecord['failure_analysis'];
  };
}

interface PendingSubmitFailure {
  event: LogEvent;
  taskIds: string[];
  candidates: number;
}

/** One open task; JSON-safe, so the open-task snapshot goes into the state file as is. */
interface Task {
  id: string;
  key: string;
  logId: string;
  phase: Phase;
  group: string | null;
  receivedMs: number;
  generatingMs: number | null;
  endedMs: number | null;
  feedbackMs: number | null;
  /** The generation outcome came from a line that named no task and had other candidates. */
  endInferred: boolean;
  /**
   * The largest candidate set of an inferred choice this task took part in (0: none). A later
   * event that only this task can take is still a guess when an earlier guess left it the only one.
   */
  ambiguity: number;
  /** How the end of the generation was taken, so a guess can be moved to the right task. */
  endState: EndState | null;
  /** The id a feedback-only record of this task would have had. */
  orphanId: string | null;
  record: GenerationRecord;
  /** Its file from the output directory. (Optional fields: snapshots of older builds lack them.) */
  ply?: LinkedPly | null;
  /** The output path a worker line named for it ("... PLY 35.31 MB -> /srv/outputs/x.ply"). */
  expectedPly?: string | null;
  /** Finished, but waiting (since this wall time) for the output directory to show its file. */
  closingSinceMs?: number | null;
  /** Event time it was finished at (a generation cut short has no end of its own). */
  closedAtMs?: number | null;
  /** Wall time its generation's end was read (the daemon only): its file cannot be much later. */
  endSeenWallMs?: number | null;
}

export interface TrackerSnapshot {
  version: 1;
  tasks: Task[];
  identity: { minerUid: number | null; network: GenerationRecord['metadata']['network'] };
  occurrences: [string, number][];
  pendingQueries: { uid: number | null; ms: number }[];
  lostReceived: { text: string; ms: number }[];
  pendingSubmitFailures?: PendingSubmitFailure[];
  hotkeyUids?: [string, number][];
  awaitingDetailId?: string | null;
  closing?: Task[];
  lastMs: number;
}

export interface TrackerCounters {
  tasksStarted: number;
  recordsFinished: number;
  feedbackWithoutTask: number;
  eventsWithoutTask: number;
  damagedEvents: number;
  outputFilesLinked: number;
  outputFilesWithoutTask: number;
}

const GENERATION_END_EVENTS = new Set([
  'generation_completed',
  'generation_failed',
  'endpoint_unreachable',
  'endpoint_timeout',
  'client_error',
  'exception',
]);

const FAILURE_TYPES: Record<string, ErrorType> = {
  generation_failed: 'generation_http_error',
  endpoint_unreachable: 'endpoint_unreachable',
  endpoint_timeout: 'endpoint_timeout',
  client_error: 'client_error',
  exception: 'exception',
};

function num(v: FieldValue | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function str(v: FieldValue | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

function networkOf(text: string): GenerationRecord['metadata']['network'] {
  if (/finney/i.test(text)) return 'mainnet';
  if (/^test$|test\./i.test(text) || text === 'test') return 'testnet';
  return 'local';
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class Tracker {
  readonly counters: TrackerCounters = {
    tasksStarted: 0,
    recordsFinished: 0,
    feedbackWithoutTask: 0,
    eventsWithoutTask: 0,
    damagedEvents: 0,
    outputFilesLinked: 0,
    outputFilesWithoutTask: 0,
  };
  private tasks: Task[] = [];
  /** Finished tasks waiting for their output file (see awaitsOutput); no event but a file touches them. */
  private closing: Task[] = [];
  private finished: FinishedRecord[] = [];
  private minerEvents: MinerEvent[] = [];
  private identity: TrackerSnapshot['identity'] = { minerUid: null, network: null };
  private occurrences = new Map<string, number>();
  private pendingQueries: TrackerSnapshot['pendingQueries'] = [];
  private lostReceived: TrackerSnapshot['lostReceived'] = [];
  /** The task whose feedback line came last: the detail line that follows belongs to it. */
  private awaitingDetail: Task | null = null;
  /** Submit failures that named no single task yet (several were waiting for feedback). */
  private pendingSubmitFailures: PendingSubmitFailure[] = [];
  /** Validator hotkey -> uid, learnt where the logs pair them (a failed pull right after its query). */
  private hotkeyUids = new Map<string, number>();
  /** The miner's settings file as last read (over the config's minerConfig). */
  private minerSettings: Record<string, string | number | boolean | null> = {};
  /** The first copy of each prompt until its second copy comes (not in the snapshot: memory only). */
  private promptBytes = new WeakMap<Task, Buffer>();
  private lastMs = 0;
  /** Output directories read live: how far they are known (wall ms), and the wall clock now; null in a one-shot ingest. */
  private output: { settledMs: number; wallMs: number } | null = null;

  constructor(
    private readonly opts: TrackerOptions,
    private readonly hashers: Hashers,
    private readonly storeImage: StoreImage,
  ) {}

  // ---- feeding ----

  push(e: LogEvent): void {
    if (Number.isFinite(e.timeMs)) this.lastMs = Math.max(this.lastMs, e.timeMs);
    if (e.damaged) {
      this.onDamaged(e);
      return;
    }
    if (this.awaitingDetail && e.spec.role === 'miner' && e.type !== 'feedback_detail') this.closeFeedback();
    if (e.spec.role === 'worker') {
      this.onWorkerEvent(e);
      return;
    }
    switch (e.type) {
      case 'querying_validator':
      case 'querying_owner':
        this.pendingQueries.push({ uid: num(e.fields.validator_uid), ms: e.timeMs });
        if (this.pendingQueries.length > 64) this.pendingQueries.shift();
        return;
      case 'task_received':
        this.onPromptLine(e, 'received');
        return;
      case 'generating':
        this.onPromptLine(e, 'generating');
        return;
      case 'submit_failed':
        this.onSubmitFailed(e);
        return;
      case 'feedback':
        this.onFeedback(e);
        return;
      case 'feedback_detail':
        this.onFeedbackDetail(e);
        return;
      case 'miner_started':
        this.onMinerStarted(e);
        return;
      case 'neuron_started':
        if (num(e.fields.uid) !== null) this.identity.minerUid = num(e.fields.uid);
        if (str(e.fields.chain_endpoint)) this.identity.network = networkOf(str(e.fields.chain_endpoint)!);
        return;
      case 'network':
        if (str(e.fields.network)) this.identity.network = networkOf(str(e.fields.network)!);
        return;
      case 'pull_failed': {
        const query = this.pendingQueries.length === 1 ? this.pendingQueries[0] : undefined;
        const hotkey = str(e.fields.validator_hotkey);
        if (query && query.uid !== null && hotkey) this.hotkeyUids.set(hotkey, query.uid);
        this.pendingQueries.shift();
        this.minerEvent(e, 'pull_failed', (m) => {
          m.validator_hotkey = str(e.fields.validator_hotkey);
          m.reason = str(e.fields.reason);
        });
        return;
      }
      case 'no_validators':
        this.minerEvent(e, 'no_validators', () => {});
        return;
      case 'cooldown':
        this.minerEvent(e, 'cooldown', (m) => {
          m.cooldown_seconds = num(e.fields.seconds);
          m.cooldown_violations = num(e.fields.violations);
        });
        return;
      case 'worker_started':
        this.minerEvent(e, 'worker_started', (m) => (m.endpoint = str(e.fields.endpoint)));
        return;
      case 'miner_stats':
        if (num(e.fields.uid) !== null) this.identity.minerUid = num(e.fields.uid);
        this.minerEvent(e, 'miner_stats', (m) => {
          m.stats = {
            uid: num(e.fields.uid),
            block: num(e.fields.block),
            stake: num(e.fields.stake),
            trust: num(e.fields.trust),
            incentive: num(e.fields.incentive),
            emission: num(e.fields.emission),
          };
        });
        return;
      default:
        if (GENERATION_END_EVENTS.has(e.type)) this.onGenerationEnd(e);
    }
  }

  /** Finishes what waited too long: `nowMs` is event time while catching up, the wall clock after. */
  tick(nowMs: number): void {
    if (this.awaitingDetail && nowMs - (this.awaitingDetail.feedbackMs ?? nowMs) > DETAIL_WAIT_MS) this.closeFeedback();
    if (this.pendingSubmitFailures.length)
      this.resolveSubmitFailures((p) => nowMs - p.event.timeMs > this.opts.feedbackTimeoutMs);
    for (const t of [...this.tasks]) {
      if (t.phase === 'ended' && t.endedMs !== null && nowMs - t.endedMs > this.opts.feedbackTimeoutMs) {
        t.record.validator_feedback.received = false;
        t.record.outcome = t.record.failure_analysis.failed ? 'generation_failed' : 'no_feedback';
        this.finish(t);
      } else if ((t.phase === 'received' || t.phase === 'generating') && nowMs - t.receivedMs > this.opts.taskTimeoutMs) {
        this.interrupt(t, 'task_timeout');
      }
    }
  }

  /** End of an `ingest` input: every open task is finished as it stands, marked so. */
  finishAll(reason: string): void {
    this.closeFeedback();
    this.resolveSubmitFailures(() => true);
    for (const t of [...this.tasks]) this.interrupt(t, reason);
  }

  // ---- output directories ----

  /**
   * A complete new file in a worker's output directory: linked to the task that was generating on
   * that worker when it was written; when none was, to one that ended up to linkAfterEndMs before
   * (or started a moment after). A path named by a worker line links it for sure; among several
   * tasks, the miner's "Generation completed. Size:" figure rules out those of another size; else
   * the oldest, inferred.
   */
  pushOutput(f: OutputFile): string | null {
    const open = [...this.tasks, ...this.closing].filter((t) => !t.ply && !t.key.startsWith('orphan:'));
    const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    const named = open.filter((t) => t.expectedPly && (t.expectedPly === f.path || base(t.expectedPly) === base(f.name)));
    if (named.length === 1) {
      // as sure as the link of the worker line that named it
      this.linkPly(named[0]!, f, this.choose(named[0]!, named));
      this.releaseClosing();
      return named[0]!.id;
    }
    // written while a task was generating: that one (one task per worker at a time); else the margins around a generation
    let candidates = open.filter((t) => t.phase !== 'received' && this.inOutputWindow(t, f.timeMs, true));
    if (!candidates.length) candidates = open.filter((t) => t.phase !== 'received' && this.inOutputWindow(t, f.timeMs, false));
    // the directory's worker: tasks known to run there, else those that may (placed there by a guess,
    // or on no known worker), else those placed elsewhere only by a guess
    const tiers = [
      candidates.filter((t) => t.group === f.group && t.ambiguity === 0),
      candidates.filter((t) => (t.group === f.group && t.ambiguity > 0) || t.group === null),
      candidates.filter((t) => t.group !== null && t.group !== f.group && t.ambiguity > 0),
    ];
    candidates = tiers.find((tier) => tier.length) ?? [];
    const sized = candidates.filter((t) => t.record.generation.output.file_size_bytes === f.size);
    const uncontradicted = candidates.filter((t) => t.record.generation.output.file_size_bytes === null);
    if (sized.length) candidates = sized.length === 1 ? sized : [...sized, ...uncontradicted];
    if (!candidates.length) {
      const reopened = this.reopenGuessedEnd(f);
      if (!reopened) {
        this.counters.outputFilesWithoutTask++;
        return null;
      }
      candidates = [reopened];
    }
    const t = this.oldest(candidates, 'generatingMs');
    this.linkPly(t, f, this.choose(t, candidates));
    this.releaseClosing();
    return t.id;
  }

  /** How far the output directories are known (wall ms) and the wall clock now; only the daemon reads them live. */
  setOutputSettled(settledMs: number, wallMs: number): void {
    this.output = { settledMs, wallMs };
    this.releaseClosing();
  }

  /** Linked files not measured yet: the daemon reads them while they are fresh. */
  plysToMeasure(): { id: string; ply: LinkedPly }[] {
    return [...this.tasks, ...this.closing].filter((t) => t.ply && !t.ply.measured).map((t) => ({ id: t.id, ply: t.ply! }));
  }

  setPlyMeasure(id: string, result: PlyResult): void {
    const t = this.tasks.find((x) => x.id === id) ?? this.closing.find((x) => x.id === id);
    if (!t?.ply) return;
    applyPlyResult(t.record, result);
    t.ply.measured = true;
  }

  /** Measured files of open tasks: kept once their feedback says accepted (the state's pending blobs). */
  pendingPlys(): { generationId: string; ply: LinkedPly; sha256: string }[] {
    const out: { generationId: string; ply: LinkedPly; sha256: string }[] = [];
    for (const t of [...this.tasks, ...this.closing]) {
      const hash = t.record.generation.output.ply_file_hash;
      if (t.ply?.measured && hash) out.push({ generationId: t.id, ply: t.ply, sha256: hash.slice('sha256:'.length) });
    }
    return out;
  }

  /** Records finished since the last call, in finishing order. */
  drainRecords(): FinishedRecord[] {
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** The miner's settings in force for tasks received from now on. */
  setMinerSettings(settings: Record<string, string | number | boolean | null>): void {
    this.minerSettings = { ...settings };
  }

  /** Puts back what could not be written (the store failed), to be drained again first. */
  requeue(records: FinishedRecord[], events: MinerEvent[]): void {
    this.finished = [...records, ...this.finished];
    this.minerEvents = [...events, ...this.minerEvents];
  }

  /** Finished records not drained yet: a checkpoint must not be committed past their lines. */
  get unwritten(): number {
    return this.finished.length + this.minerEvents.length;
  }

  drainMinerEvents(): MinerEvent[] {
    const out = this.minerEvents;
    this.minerEvents = [];
    return out;
  }

  get openTasks(): number {
    return this.tasks.length + this.closing.length;
  }

  /** Finished tasks waiting for the output directory to show their file. */
  get awaitingOutput(): number {
    return this.closing.length;
  }

  /** The open work, JSON-safe; taking it changes nothing (a task waiting for its detail line stays open). */
  snapshot(): TrackerSnapshot {
    return {
      version: 1,
      tasks: structuredClone(this.tasks),
      identity: { ...this.identity },
      occurrences: [...this.occurrences],
      pendingQueries: [...this.pendingQueries],
      lostReceived: [...this.lostReceived],
      pendingSubmitFailures: structuredClone(this.pendingSubmitFailures),
      hotkeyUids: [...this.hotkeyUids],
      awaitingDetailId: this.awaitingDetail?.id ?? null,
      closing: structuredClone(this.closing),
      lastMs: this.lastMs,
    };
  }

  restore(s: TrackerSnapshot): void {
    this.tasks = structuredClone(s.tasks);
    this.identity = { ...s.identity };
    this.occurrences = new Map(s.occurrences);
    this.pendingQueries = [...s.pendingQueries];
    this.lostReceived = [...s.lostReceived];
    this.pendingSubmitFailures = structuredClone(s.pendingSubmitFailures ?? []);
    this.hotkeyUids = new Map(s.hotkeyUids ?? []);
    this.awaitingDetail = this.tasks.find((t) => t.id === s.awaitingDetailId) ?? null;
    this.closing = structuredClone(s.closing ?? []);
    this.lastMs = s.lastMs;
  }

  // ---- events ----

  private onPromptLine(e: LogEvent, phase: 'received' | 'generating'): void {
    if (phase === 'generating') {
      // The second copy of a prompt: compared byte for byte with the first, not decoded and hashed again.
      const same = this.tasks.find((t) => t.phase === 'received' && this.promptBytes.get(t)?.equals(e.long!));
      if (same) {
        this.startGenerating(same, e);
        return;
      }
    }
    const prompt = analysePrompt(e.long!, this.hashers);
    const key = promptKey(prompt);
    if (phase === 'generating') {
      const waiting = this.tasks.find((t) => t.phase === 'received' && t.key === key);
      if (waiting) {
        this.startGenerating(waiting, e);
        return;
      }
    }
    // The first intact copy of this prompt: a new task.
    const t = this.newTask(e, prompt, key);
    if (phase === 'received') this.promptBytes.set(t, e.long!);
    if (phase === 'generating') {
      t.phase = 'generating';
      t.generatingMs = e.timeMs;
      // Its "Task received" line was lost (PM2 cut it) or lies before the logs we have.
      const lost = this.lostReceived.shift();
      if (lost && e.timeMs - lost.ms < 60000) {
        t.receivedMs = lost.ms;
        t.record.metadata.timestamp = isoUtc(lost.ms);
      }
      this.incomplete(t, 'task_received_line_lost');
    }
  }

  private startGenerating(t: Task, e: LogEvent): void {
    t.phase = 'generating';
    t.generatingMs = e.timeMs;
    this.promptBytes.delete(t);
    this.addSource(t, e);
  }

  private newTask(e: LogEvent, prompt: Prompt, key: string): Task {
    const occKey = `${e.timeText}|${prompt.logId}`;
    const occurrence = this.occurrences.get(occKey) ?? 0;
    this.occurrences.set(occKey, occurrence + 1);
    if (this.occurrences.size > 10000) this.occurrences.delete(this.occurrences.keys().next().value!);
    const id = generationId({ minerApp: this.opts.minerApp, headerTime: e.timeText, logId: prompt.logId, occurrence });
    const record = this.newRecord(id, e.timeMs);
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
      const stored = this.opts.storeImages ? this.storeImage(prompt.bytes, prompt.sha256) : { skipped: 'disabled' as const };
      if ('path' in stored) task.image_file_path = stored.path;
      else record.provenance.blobs_skipped.push({ kind: 'image', reason: stored.skipped, hash: task.base64_image_hash });
    }
    const version = str(e.fields.version);
    if (version && !record.metadata.miner_version) record.metadata.miner_version = version;
    // the validator chosen just before the pull (several endpoints: first queried, first served)
    const query = this.pendingQueries.shift();
    if (query && e.timeMs - query.ms < 60000 && query.uid !== null) {
      record.metadata.validator_uid = query.uid;
      record.metadata.validator_hotkey = this.opts.validatorHotkeys[String(query.uid)] ?? null;
    }
    const t = this.openTask(id, key, prompt.logId, 'received', e, record);
    this.counters.tasksStarted++;
    return t;
  }

  private onDamaged(e: LogEvent): void {
    this.counters.damagedEvents++;
    if (e.type === 'task_received') {
      this.lostReceived.push({ text: e.timeText, ms: e.timeMs });
      if (this.lostReceived.length > 16) this.lostReceived.shift();
    } else if (e.type === 'generating') {
      // only certain when a single task waits to start generating
      const waiting = this.tasks.filter((t) => t.phase === 'received');
      if (waiting.length === 1) {
        waiting[0]!.phase = 'generating';
        waiting[0]!.generatingMs = e.timeMs;
      }
    }
  }

  /** Generation completed or failed: the generating task on that endpoint, or the oldest one generating. */
  private onGenerationEnd(e: LogEvent): void {
    const endpoint = str(e.fields.endpoint);
    const group = endpoint ? this.groupOfEndpoint(endpoint) : null;
    let candidates = this.tasks.filter((t) => t.phase === 'generating');
    // none generating: a task whose "Generating for prompt" line PM2 destroyed
    const generatingLineLost = candidates.length === 0;
    if (generatingLineLost) candidates = this.tasks.filter((t) => t.phase === 'received');
    if (group !== null) {
      // tasks known to run on that endpoint; a guessed binding does not rule the others out
      const bound = candidates.filter((t) => t.group === group);
      // free: not known to run elsewhere (no endpoint yet, or one that was only guessed)
      const free = candidates.filter((t) => t.group !== group && (t.group === null || t.ambiguity > 0));
      candidates = bound.length && bound.every((t) => t.ambiguity === 0) ? bound : [...bound, ...free];
    }
    if (!candidates.length) {
      this.counters.eventsWithoutTask++;
      return;
    }
    // An exception line without an endpoint is only taken when it cannot be someone else's.
    if (e.type === 'exception' && candidates.length > 1) {
      this.counters.eventsWithoutTask++;
      return;
    }
    const t = this.oldest(candidates, generatingLineLost ? 'receivedMs' : 'generatingMs');
    const choices = this.choose(t, candidates);
    this.applyEnd(t, e, choices, generatingLineLost);
    if (choices > 1) t.endState!.candidates = candidates.map((c) => c.id);
    if (group !== null && t.group === null) t.group = group;
  }

  private applyEnd(t: Task, e: LogEvent, choices: number, generatingLineLost: boolean): void {
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
    this.link(t, e, choices);
    if (generatingLineLost) this.incomplete(t, 'generating_line_lost');
    t.phase = 'ended';
    t.endedMs = e.timeMs;
    t.endSeenWallMs = this.output?.wallMs ?? null;
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
    fa.error_message = redactSecrets(this.failureMessage(e));
    if (e.stackTrace) fa.stack_trace = e.stackTrace;
  }

  /**
   * Feedback for a task whose end was not seen: the end went to another candidate by a guess
   * (that task has no feedback yet). A feedback line closes exactly the task it names, so that
   * task had ended: the guessed end moves to it, and the other goes back to generating.
   */
  private reclaimGuessedEnd(t: Task): void {
    const holder = this.tasks.find((o) => o !== t && o.phase === 'ended' && o.endState && o.endState.candidates.includes(t.id));
    if (holder) this.moveGuessedEnd(holder, t);
  }

  /**
   * An output file written after a task's guessed end, too late to be a file of that generation:
   * the task was still generating, so the end it took by a guess was another candidate's, one still
   * generating. The end moves there and the task is generating again. Only files do this: a late
   * worker line may follow its own generation's end.
   */
  private reopenGuessedEnd(f: OutputFile): Task | null {
    const generating = (id: string) => this.tasks.find((x) => x.id === id && x.phase === 'generating');
    const holders = this.tasks.filter(
      (t) =>
        t.phase === 'ended' &&
        t.endInferred &&
        !t.ply &&
        (t.group === f.group || t.group === null) &&
        (t.generatingMs ?? t.receivedMs) <= f.timeMs &&
        t.endState!.candidates.some((id) => id !== t.id && generating(id)),
    );
    if (!holders.length) return null;
    const holder = this.oldest(holders, 'generatingMs');
    const others = holder.endState!.candidates.filter((id) => id !== holder.id).map(generating).filter((x): x is Task => !!x);
    this.moveGuessedEnd(holder, this.oldest(others, 'generatingMs'));
    return holder;
  }

  /** The end `holder` took by a guess goes to `to`; `holder` is generating again. */
  private moveGuessedEnd(holder: Task, to: Task): void {
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
    this.applyEnd(to, st.event, st.candidates.length, false);
  }

  private failureMessage(e: LogEvent): string {
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

  private onWorkerEvent(e: LogEvent): void {
    const group = e.spec.group;
    const generating = this.tasks.filter((t) => t.phase === 'generating');
    let candidates = generating.filter((t) => t.group === group);
    if (!candidates.length) candidates = this.matchingPrompt(generating.filter((t) => t.group === null), e);
    if (!candidates.length) {
      // a worker line written just after the miner saw the generation end
      candidates = this.tasks.filter((t) => t.group === group && t.phase === 'ended' && e.timeMs - (t.endedMs ?? 0) < 5000);
    }
    if (!candidates.length) {
      this.counters.eventsWithoutTask++;
      return;
    }
    const t = this.oldest(candidates, 'generatingMs');
    t.group = group;
    this.link(t, e, this.choose(t, candidates));
    this.applySet(t.record, e.set);
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
  private matchingPrompt(tasks: Task[], e: LogEvent): Task[] {
    const kind = str(e.fields.prompt_kind);
    const chars = num(e.fields.prompt_chars);
    if (kind === null && chars === null) return tasks;
    const type = kind === 'image' ? 'IMAGE-TO-3D' : kind === 'text' ? 'TEXT-TO-3D' : null;
    const fit = tasks.filter(
      (t) => (type === null || t.record.task.task_type === type) && (chars === null || t.record.task.prompt_length === chars),
    );
    return fit.length ? fit : tasks;
  }

  private applySet(record: GenerationRecord, set: Record<string, FieldValue>): void {
    for (const [path, value] of Object.entries(set)) {
      const parts = path.split('.');
      let obj = record as unknown as Record<string, unknown>;
      for (const p of parts.slice(0, -1)) obj = obj[p] as Record<string, unknown>;
      obj[parts[parts.length - 1]!] = value;
    }
  }

  private onSubmitFailed(e: LogEvent): void {
    const hotkey = str(e.fields.validator_hotkey);
    const ended = this.tasks.filter((t) => t.phase === 'ended');
    let candidates = ended;
    if (hotkey) {
      const uid = this.hotkeyUids.get(hotkey);
      const named = ended.filter(
        (t) => t.record.metadata.validator_hotkey === hotkey || (uid !== undefined && t.record.metadata.validator_uid === uid),
      );
      if (named.length) candidates = named;
    }
    if (!candidates.length) {
      this.counters.eventsWithoutTask++;
      return;
    }
    if (candidates.length === 1) {
      this.applySubmitFailed(candidates[0]!, e, 1);
      return;
    }
    // Several tasks could have failed to submit: the ones whose feedback comes were not it.
    this.pendingSubmitFailures.push({ event: e, taskIds: candidates.map((t) => t.id), candidates: candidates.length });
  }

  /** A pending submit failure whose candidates the feedback narrowed to one is applied to it. */
  private resolveSubmitFailures(force: (p: PendingSubmitFailure) => boolean): void {
    for (const p of [...this.pendingSubmitFailures]) {
      const open = p.taskIds.map((id) => this.tasks.find((t) => t.id === id && t.phase === 'ended')).filter((t): t is Task => !!t);
      if (open.length > 1 && !force(p)) continue;
      this.pendingSubmitFailures = this.pendingSubmitFailures.filter((x) => x !== p);
      if (!open.length) {
        this.counters.eventsWithoutTask++;
        continue;
      }
      // one left: determined by elimination; forced: the oldest, inferred, and the others say it may have been theirs
      const t = this.oldest(open, 'endedMs');
      for (const o of open) if (o !== t) this.incomplete(o, 'submit_failure_ambiguous');
      this.applySubmitFailed(t, p.event, open.length === 1 ? 1 : p.candidates);
    }
  }

  private applySubmitFailed(t: Task, e: LogEvent, candidates: number): void {
    this.link(t, e, candidates);
    const hotkey = str(e.fields.validator_hotkey);
    const r = t.record;
    if (hotkey && !r.metadata.validator_hotkey) r.metadata.validator_hotkey = hotkey;
    if (hotkey && r.metadata.validator_uid !== null && candidates === 1) this.hotkeyUids.set(hotkey, r.metadata.validator_uid);
    r.generation.submission.submitted = false;
    if (!r.failure_analysis.failed) {
      r.failure_analysis.failed = true;
      r.failure_analysis.error_type = 'submit_failed';
      r.failure_analysis.error_message = redactSecrets(`Failed to submit results: ${e.fields.reason ?? ''}`.trim());
    }
    r.outcome = r.generation.submission.pre_submission_rejection ? 'generation_failed' : 'submit_failed';
    this.finish(t);
  }

  private onFeedback(e: LogEvent): void {
    let logId = str(e.fields.log_id);
    let key: string | null = null;
    if (e.long) {
      // older miners: the whole prompt instead of the log id
      const p = analysePrompt(e.long, this.hashers);
      logId = p.logId;
      key = promptKey(p);
    }
    if (!logId) return;
    const awaiting = this.tasks.filter((t) => (key ? t.key === key : t.logId === logId) && t.phase !== 'feedback');
    const ended = awaiting.filter((t) => t.phase === 'ended');
    const candidates = ended.length ? ended : awaiting;
    const orphanId = this.orphanIdOf(e, logId);
    let t: Task;
    if (!candidates.length) {
      t = this.orphanTask(e, logId, orphanId);
    } else {
      t = this.oldest(candidates, 'receivedMs');
      t.orphanId = orphanId;
      this.link(t, e, candidates.length);
    }
    if (t.phase === 'generating' || t.phase === 'received') this.reclaimGuessedEnd(t);
    const r = t.record;
    const uid = num(e.fields.validator_uid);
    if (uid !== null) {
      r.metadata.validator_uid = uid;
      r.metadata.validator_hotkey = this.opts.validatorHotkeys[String(uid)] ?? r.metadata.validator_hotkey;
    }
    const fb = r.validator_feedback;
    fb.received = true;
    fb.feedback_time = isoUtc(e.timeMs);
    r.generation.submission.submitted = true;
    const score = e.fields.score;
    if (score === 'failed' || score === null || score === undefined) {
      fb.score = null;
      fb.accepted = null;
    } else {
      fb.score = num(score);
      fb.accepted = fb.score === null ? null : fb.score > this.opts.acceptScoreAbove;
    }
    const subTime = r.generation.submission.submission_time;
    if (subTime) fb.feedback_delay_seconds = round3((e.timeMs - Date.parse(subTime)) / 1000);
    if (t.phase !== 'ended' && t.phase !== 'feedback' && !r.provenance.incomplete_reasons.includes('task_not_seen')) {
      this.incomplete(t, 'generation_end_not_seen');
      this.failFromWorkerRejection(r);
    }
    if (fb.accepted === true && r.failure_analysis.failed && t.endInferred) this.swapInferredEnd(t);
    r.outcome = this.outcomeOf(r, score === 'failed');
    if (score === 'failed' && !r.failure_analysis.failed) {
      r.failure_analysis.failed = true;
      r.failure_analysis.error_type = 'validation_failed';
      r.failure_analysis.error_message = 'the validation returned no score (Score: failed)';
    }
    t.phase = 'feedback';
    t.feedbackMs = e.timeMs;
    this.awaitingDetail = t;
    if (this.pendingSubmitFailures.length) this.resolveSubmitFailures(() => false);
  }

  /**
   * The worker said it rejected its result before submission (its own line): the generation failed
   * even when the miner's failure line was not seen or went to another task by a guess.
   */
  private failFromWorkerRejection(r: GenerationRecord): void {
    const sub = r.generation.submission;
    if (sub.pre_submission_rejection !== true || r.failure_analysis.failed) return;
    r.failure_analysis.failed = true;
    r.failure_analysis.error_type = 'pre_submission_rejection';
    r.failure_analysis.error_message = redactSecrets(`rejected before submission: ${sub.rejection_reason ?? 'no reason given'}`);
  }

  /**
   * An accepted score means the generation did not fail: when this task got a failure line that
   * named no task, and another candidate still open got the success, they are swapped.
   */
  private swapInferredEnd(t: Task): void {
    const other = this.tasks.find(
      (o) => o !== t && o.phase === 'ended' && o.endInferred && !o.record.failure_analysis.failed,
    );
    if (!other) return;
    const a = t.record;
    const b = other.record;
    const fa = a.failure_analysis;
    a.failure_analysis = b.failure_analysis;
    b.failure_analysis = fa;
    if (!t.ply && !other.ply) {
      // the miner's size figures came with the end lines; a linked file keeps its own
      const out = a.generation.output.file_size_bytes;
      a.generation.output.file_size_bytes = b.generation.output.file_size_bytes;
      a.generation.output.file_size_mb = b.generation.output.file_size_mb;
      b.generation.output.file_size_bytes = out;
      b.generation.output.file_size_mb = out === null ? null : Math.round((out / 1048576) * 1e6) / 1e6;
    }
    const pa = a.generation.submission.pre_submission_rejection;
    const ra = a.generation.submission.rejection_reason;
    a.generation.submission.pre_submission_rejection = b.generation.submission.pre_submission_rejection;
    a.generation.submission.rejection_reason = b.generation.submission.rejection_reason;
    b.generation.submission.pre_submission_rejection = pa;
    b.generation.submission.rejection_reason = ra;
  }

  private onFeedbackDetail(e: LogEvent): void {
    const t = this.awaitingDetail;
    if (!t) {
      this.counters.eventsWithoutTask++;
      return;
    }
    const fb = t.record.validator_feedback;
    fb.average_score = num(e.fields.average_score);
    fb.duel_rating = num(e.fields.duel_rating);
    fb.accepted_recent = num(e.fields.accepted_recent);
    fb.accepted_window_hours = num(e.fields.accepted_window_hours);
    fb.reward = num(e.fields.reward);
    this.addSource(t, e);
    this.closeFeedback();
  }

  private closeFeedback(): void {
    const t = this.awaitingDetail;
    this.awaitingDetail = null;
    if (t && this.tasks.includes(t)) this.finish(t);
  }

  private onMinerStarted(e: LogEvent): void {
    this.closeFeedback();
    this.resolveSubmitFailures(() => true);
    for (const t of [...this.tasks]) {
      const r = t.record;
      this.addSource(t, e);
      if (r.failure_analysis.failed) {
        // its generation had already failed: that stays the outcome
        this.interrupt(t, 'miner_restarted');
        continue;
      }
      r.failure_analysis.failed = true;
      r.failure_analysis.error_type = 'miner_restarted';
      r.failure_analysis.error_message = 'the miner restarted before the task finished';
      r.outcome = 'interrupted';
      this.finish(t);
    }
    this.pendingQueries = [];
    this.minerEvent(e, 'miner_restarted', () => {});
  }

  // ---- helpers ----

  /** A new open task, its first line as its first source. */
  private openTask(id: string, key: string, logId: string, phase: Phase, e: LogEvent, record: GenerationRecord): Task {
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
      endInferred: false,
      ambiguity: 0,
      endState: null,
      orphanId: null,
      record,
    };
    this.tasks.push(t);
    this.addSource(t, e);
    return t;
  }

  private orphanIdOf(e: LogEvent, logId: string): string {
    return generationId({ minerApp: this.opts.minerApp, headerTime: e.timeText, logId, occurrence: 0 });
  }

  /** A feedback line whose task was never seen: a record of what is known, marked incomplete. */
  private orphanTask(e: LogEvent, logId: string, id: string): Task {
    this.counters.feedbackWithoutTask++;
    const record = this.newRecord(id, e.timeMs);
    record.task.log_id = logId;
    record.task.task_type = taskTypeOfLogId(logId);
    record.task.is_base64_image = record.task.task_type === 'IMAGE-TO-3D';
    if (record.task.task_type === 'TEXT-TO-3D' && !logId.endsWith('...')) {
      // a text log id of at most 100 characters is the whole prompt
      record.task.prompt = logId;
      record.task.prompt_length = textLogId(logId).length;
    }
    const t = this.openTask(id, `orphan:${id}`, logId, 'ended', e, record);
    this.incomplete(t, 'task_not_seen');
    return t;
  }

  private outcomeOf(r: GenerationRecord, validationFailed: boolean): Outcome {
    if (r.failure_analysis.failed && r.failure_analysis.error_type !== 'validation_failed') return 'generation_failed';
    if (validationFailed) return 'validation_failed';
    if (r.validator_feedback.accepted === true) return 'accepted';
    if (r.validator_feedback.accepted === false) return 'rejected';
    return 'no_feedback';
  }

  /**
   * Finishes a task before its end was seen. A generation known to have failed stays
   * `generation_failed` (feedback would only add its score 0); anything else is `interrupted`.
   */
  private interrupt(t: Task, reason: string): void {
    if (t.phase !== 'feedback') {
      const failed = t.phase === 'ended' && t.record.failure_analysis.failed;
      t.record.outcome = failed ? 'generation_failed' : 'interrupted';
      if (!failed) this.incomplete(t, reason);
    }
    this.finish(t);
  }

  private finish(t: Task): void {
    this.tasks = this.tasks.filter((x) => x !== t);
    if (this.awaitingDetail === t) this.awaitingDetail = null;
    if (this.awaitsOutput(t)) {
      t.closingSinceMs ??= this.output!.wallMs;
      t.closedAtMs ??= this.lastMs;
      if (!this.closing.includes(t)) this.closing.push(t);
      return;
    }
    this.closing = this.closing.filter((x) => x !== t);
    const supersedes = t.orphanId && t.orphanId !== t.id ? [t.orphanId] : [];
    this.finished.push({ record: t.record, supersedesIfPresent: supersedes, ply: t.ply ?? null });
    this.counters.recordsFinished++;
  }

  /**
   * A finished task whose worker's output directory is read live, with no file linked yet, waits
   * until the directory is known up to the link window past the moment its end was read (or, with no
   * end, it was finished): its file may still be in `awaitWriteFinish`. At most OUTPUT_MAX_WAIT_MS
   * more if the directory stops answering. Feedback usually comes later than that: no wait at all.
   */
  private awaitsOutput(t: Task): boolean {
    const o = this.output;
    if (!o || t.ply || t.key.startsWith('orphan:') || (t.generatingMs === null && t.endedMs === null)) return false;
    const groups = this.opts.outputGroups;
    if (t.group !== null ? !groups.includes(t.group) : groups.length === 0) return false;
    const since = t.endSeenWallMs ?? t.closingSinceMs ?? o.wallMs;
    return o.settledMs < since + this.opts.linkAfterEndMs && o.wallMs - since < this.opts.linkAfterEndMs + OUTPUT_MAX_WAIT_MS;
  }

  private releaseClosing(): void {
    for (const t of [...this.closing]) if (!this.awaitsOutput(t)) this.finish(t);
  }

  private inOutputWindow(t: Task, timeMs: number, strict: boolean): boolean {
    const start = t.generatingMs ?? t.receivedMs;
    const end = t.endedMs ?? t.closedAtMs ?? null;
    if (strict) return timeMs >= start && (end === null || timeMs <= end);
    return timeMs >= start - OUTPUT_EARLY_SLACK_MS && (end === null || timeMs <= end + this.opts.linkAfterEndMs);
  }

  private linkPly(t: Task, f: OutputFile, candidates: number): void {
    t.ply = { path: f.path, dir: f.dir, name: f.name, size: f.size, mtimeMs: f.mtimeMs, measured: false };
    t.expectedPly = null;
    if (t.group === null) t.group = f.group;
    const p = t.record.provenance;
    p.sources.push({ event: 'ply_written', file: f.path, offset: 0 });
    p.links.push({ event: 'ply_written', link: candidates > 1 ? 'inferred' : 'exact', candidates });
    applyPlySize(t.record, f.size);
    this.counters.outputFilesLinked++;
  }

  /** An empty record of this miner, with what is known of it now. */
  private newRecord(id: string, receivedMs: number): GenerationRecord {
    const record = emptyRecord({
      generation_id: id,
      timestamp: isoUtc(receivedMs),
      host: this.opts.host,
      miner_app: this.opts.minerApp,
      collector_version: this.opts.collectorVersion,
    });
    this.fillIdentity(record);
    return record;
  }

  private fillIdentity(record: GenerationRecord): void {
    record.metadata.miner_uid = this.identity.minerUid;
    record.metadata.network = this.identity.network;
    record.metadata.miner_version = this.opts.minerVersion;
    Object.assign(record.miner_config, this.opts.minerConfig, this.minerSettings);
  }

  private groupOfEndpoint(url: string): string | null {
    const norm = (u: string) => u.replace(/\/+$/, '');
    for (const [endpoint, group] of Object.entries(this.opts.endpoints)) if (norm(endpoint) === norm(url)) return group;
    return null;
  }

  private oldest(tasks: Task[], by: 'receivedMs' | 'generatingMs' | 'endedMs'): Task {
    return tasks.reduce((a, b) => ((b[by] ?? Infinity) < (a[by] ?? Infinity) ? b : a));
  }

  /** The number of candidates `t` was really chosen among, counting earlier guesses; taints the others. */
  private choose(t: Task, candidates: Task[]): number {
    if (candidates.length > 1) for (const c of candidates) c.ambiguity = Math.max(c.ambiguity, candidates.length);
    return Math.max(candidates.length, t.ambiguity);
  }

  private link(t: Task, e: LogEvent, candidates: number): void {
    this.addSource(t, e);
    t.record.provenance.links.push({ event: e.type, link: candidates > 1 ? 'inferred' : 'exact', candidates });
  }

  private addSource(t: Task, e: LogEvent): void {
    t.record.provenance.sources.push({ event: e.type, file: e.file, offset: e.offset });
  }

  private incomplete(t: Task, reason: string): void {
    const p = t.record.provenance;
    p.incomplete = true;
    if (!p.incomplete_reasons.includes(reason)) p.incomplete_reasons.push(reason);
  }

  private minerEvent(e: LogEvent, type: MinerEvent['event'], fill: (m: MinerEvent) => void): void {
    const m = emptyMinerEvent({
      time: isoUtc(e.timeMs),
      event: type,
      host: this.opts.host,
      miner_app: this.opts.minerApp,
      source: { file: e.file, offset: e.offset },
      collector_version: this.opts.collectorVersion,
    });
    fill(m);
    this.minerEvents.push(m);
  }
}
