/**
 * The generation tracker: one state per task, fed by events in event-time order, emitting finished
 * records. Links events to tasks with what upstream's worker loop guarantees (reference:
 * upstream-miner-logs.md): each endpoint handles one task at a time (pull -> generate -> submit ->
 * feedback); a feedback line names its task's log id; an endpoint error names its URL; a worker's
 * lines belong to its endpoint. Where the logs leave more than one candidate, the oldest is taken
 * and the record says the link was inferred. No I/O: images go out through `storeImage`.
 *
 * This class only dispatches: the open tasks are in the book (`book.ts`), and each family of
 * events acts on it from its own module.
 */
import type { MinerEvent } from '../../schema';
import type { PlyResult } from '../../ply';
import { GENERATION_END_EVENTS, type LogEvent, type OutputFile } from '../events';
import type { Hashers, Prompt } from '../prompt';
import type { LinkedPly } from '../ply-output';
import { TaskBook, type FinishedRecord, type TrackerContext, type TrackerCounters } from './book';
import type { StoreImage, TrackerOptions } from './options';
import {
  awaitsOutput,
  closeFeedback,
  closeStaleFeedback,
  closeTimedOut,
  drainMinerEvents,
  drainRecords,
  interruptAll,
  release,
  requeue,
  setOutputSettled,
} from './close';
import { onDamaged, onPromptLine } from './task-start';
import { applyEnd, endItem } from './end';
import { applyWorker, workerItem } from './workers';
import { applySubmitFailed, submitFailureItem } from './submit-failures';
import { onFeedback, onFeedbackDetail } from './feedback';
import { linkPly, pendingPlys, plysToMeasure, pushOutput, setPlyMeasure } from './output-link';
import { attribute, attributeAsTimePasses, enter, type Appliers } from './window';
import {
  onCooldown,
  onMinerStarted,
  onMinerStats,
  onNetwork,
  onNeuronStarted,
  onNoValidators,
  onPullFailed,
  onQuery,
  onWorkerStarted,
} from './miner-events';
import { restoreSnapshot, takeSnapshot, type TrackerSnapshot } from './snapshot';
import { COMPETITION_GROUP, CompetitionBook, type OutputMeasure } from '../competition';
import type { CompetitionFacts } from '../../parse/competition-state';

export { DEFAULT_TRACKER_OPTIONS, type TrackerOptions, type StoreImage } from './options';
export type { FinishedRecord, TrackerCounters } from './book';
export { TrackerSnapshotSchema, type TrackerSnapshot } from './snapshot';

/** How each kind of settled event is applied to its task. */
const APPLIERS: Appliers = { end: applyEnd, submitFailure: applySubmitFailed, worker: applyWorker, file: linkPly, release };

export class Tracker {
  readonly counters: TrackerCounters;
  private readonly cx: TrackerContext;
  /** Competition mode's generations (null in pull/submit mode). */
  readonly competition: CompetitionBook | null;

  constructor(opts: TrackerOptions, hashers: Hashers, storeImage: StoreImage) {
    this.cx = { opts, hashers, storeImage, book: new TaskBook() };
    this.counters = this.cx.book.counters;
    this.competition = opts.competition ? new CompetitionBook(opts.competition) : null;
  }

  // ---- feeding ----

  /** `prompt`: the event's long field analysed already (`analysePrompt`, on another thread); else analysed here when needed. */
  push(e: LogEvent, prompt: Prompt | null = null): void {
    const cx = this.cx;
    cx.book.changes++;
    if (Number.isFinite(e.timeMs)) cx.book.lastMs = Math.max(cx.book.lastMs, e.timeMs);
    // a start is the new process's line: it says nothing of whether the old one lived on
    if (e.spec.role === 'miner' && e.type !== 'miner_started' && Number.isFinite(e.timeMs)) cx.book.minerAliveMs = Math.max(cx.book.minerAliveMs, e.timeMs);
    if (e.spec.role === 'generation') {
      if (this.competition) this.competition.push(e);
      else cx.book.counters.eventsWithoutTask++;
      return;
    }
    if (e.damaged) {
      onDamaged(cx, e);
      return;
    }
    if (cx.book.awaitingDetail && e.spec.role === 'miner' && e.type !== 'feedback_detail') closeFeedback(cx);
    if (e.spec.role === 'worker') {
      const { item, sameRequestAs } = workerItem(cx, e);
      enter(cx, APPLIERS, { item, event: e, file: null }, sameRequestAs);
      return;
    }
    switch (e.type) {
      case 'querying_validator':
      case 'querying_owner':
        return onQuery(cx, e);
      case 'task_received':
        return onPromptLine(cx, e, 'received', prompt);
      case 'generating':
        return onPromptLine(cx, e, 'generating', prompt);
      case 'submit_failed':
        return enter(cx, APPLIERS, { item: submitFailureItem(cx, e), event: e, file: null });
      case 'feedback':
        return onFeedback(cx, APPLIERS, e, prompt);
      case 'feedback_detail':
        return onFeedbackDetail(cx, e);
      case 'miner_started':
        return onMinerStarted(cx, APPLIERS, e);
      case 'neuron_started':
        return onNeuronStarted(cx, e);
      case 'network':
        return onNetwork(cx, e);
      case 'pull_failed':
        return onPullFailed(cx, e);
      case 'no_validators':
        return onNoValidators(cx, e);
      case 'cooldown':
        return onCooldown(cx, e);
      case 'worker_started':
        return onWorkerStarted(cx, e);
      case 'miner_stats':
        return onMinerStats(cx, e);
      default:
        if (!GENERATION_END_EVENTS.has(e.type)) return;
        // an ERROR with a traceback that no rule knows is a generation's end only when nothing else is generating
        if (e.type === 'exception' && !e.fields.endpoint && cx.book.tasks.filter((t) => t.phase === 'generating' || t.phase === 'received').length !== 1) {
          cx.book.counters.eventsWithoutTask++;
          return;
        }
        enter(cx, APPLIERS, { item: endItem(cx, e), event: e, file: null });
    }
  }

  /**
   * While events come in a batch (an `ingest` read, a backlog), the attribution window is solved once
   * at its end instead of at each event: the same constraints, far fewer searches. Turning it off
   * solves what came meanwhile.
   */
  deferAttribution(on: boolean): void {
    this.cx.book.deferSolve = on;
    if (!on && this.cx.book.solveDue) attribute(this.cx, APPLIERS);
  }

  /** Finishes what waited too long: `nowMs` is event time while catching up, the wall clock after. */
  tick(nowMs: number): void {
    this.cx.book.tickMs = Math.max(this.cx.book.tickMs, nowMs);
    closeStaleFeedback(this.cx, nowMs);
    attributeAsTimePasses(this.cx, APPLIERS, nowMs);
    closeTimedOut(this.cx, nowMs);
    if (this.cx.book.closing.length) release(this.cx);
    this.competition?.tick(nowMs);
  }

  /** End of an `ingest` input: every open task is finished as it stands, marked so. */
  finishAll(reason: string): void {
    this.cx.book.changes++;
    this.cx.book.draining = true;
    closeFeedback(this.cx);
    interruptAll(this.cx, reason);
    attribute(this.cx, APPLIERS);
    this.competition?.finishAll(reason);
  }

  /** What the competition's state repository says now (competition mode). */
  setCompetitionFacts(facts: CompetitionFacts): void {
    this.competition?.setFacts(facts);
  }

  /** The miner's settings in force for tasks received from now on. */
  setMinerSettings(settings: Record<string, string | number | boolean | null>): void {
    this.cx.book.changes++;
    this.cx.book.minerSettings = { ...settings };
  }

  // ---- output directories ----

  /** A complete new file in a worker's output directory: the id of the task it was linked to, if any. */
  pushOutput(f: OutputFile): string | null {
    this.cx.book.changes++;
    if (f.group === COMPETITION_GROUP && this.competition) {
      // each competition output is a generation of its own
      this.counters.outputFilesLinked++;
      return this.competition.pushOutput(f);
    }
    return pushOutput(this.cx, APPLIERS, f);
  }

  /** Competition outputs not measured yet (any format: hashed, and read as a PLY when one). */
  outputsToMeasure(): { id: string; output: LinkedPly }[] {
    return this.competition?.outputsToMeasure() ?? [];
  }

  setOutputMeasure(id: string, m: OutputMeasure): void {
    this.competition?.setOutputMeasure(id, m);
  }

  /** How far the output directories are known (wall ms) and the wall clock now; only the daemon reads them live. */
  setOutputSettled(settledMs: number, wallMs: number): void {
    setOutputSettled(this.cx, settledMs, wallMs);
  }

  /** Linked files not measured yet: the daemon reads them while they are fresh. */
  plysToMeasure(): { id: string; ply: LinkedPly }[] {
    return plysToMeasure(this.cx);
  }

  setPlyMeasure(id: string, result: PlyResult): void {
    setPlyMeasure(this.cx, id, result);
  }

  /** Measured files of open tasks: kept once their feedback says accepted (the state's pending blobs). */
  pendingPlys(): { generationId: string; ply: LinkedPly; sha256: string }[] {
    return pendingPlys(this.cx);
  }

  // ---- the outbox ----

  /** Records finished since the last call, in finishing order. */
  drainRecords(): FinishedRecord[] {
    const records = drainRecords(this.cx);
    return this.competition ? [...records, ...this.competition.drain()] : records;
  }

  /** Puts back what could not be written (the store failed), to be drained again first. */
  requeue(records: FinishedRecord[], events: MinerEvent[]): void {
    requeue(this.cx, records.filter((f) => !f.record.competition), events);
    this.competition?.requeue(records.filter((f) => f.record.competition));
  }

  /** Finished records not drained yet: a checkpoint must not be committed past their lines. */
  get unwritten(): number {
    return this.cx.book.finished.length + this.cx.book.minerEvents.length + (this.competition?.unwritten ?? 0);
  }

  drainMinerEvents(): MinerEvent[] {
    return drainMinerEvents(this.cx);
  }

  get openTasks(): number {
    return this.cx.book.tasks.length + this.cx.book.closing.length + (this.competition?.open ?? 0);
  }

  /**
   * Finished tasks waiting for the output directory to show their file (not those that wait for an
   * attribution or a worker: time moves those, and the daemon's loop need not poll for them).
   */
  get awaitingOutput(): number {
    return this.cx.book.closing.filter((t) => awaitsOutput(this.cx, t)).length;
  }

  /** The open work, JSON-safe; taking it changes nothing (a task waiting for its detail line stays open). */
  snapshot(): TrackerSnapshot {
    const snap = takeSnapshot(this.cx.book);
    return this.competition ? { ...snap, competition: this.competition.snapshot() } : snap;
  }

  restore(s: TrackerSnapshot): void {
    restoreSnapshot(this.cx.book, s);
    if (s.competition) this.competition?.restore(s.competition);
  }
}
