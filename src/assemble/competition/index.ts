/**
 * Competition mode's generations (reference: competition.md). The miner's generation service (PM2
 * app `generation`, the base miners' serve.py) handles one request at a time: `Task received.
 * Prompt-Image` -> `Model Generation took: X secs.` -> `Garbage Collection took: Y secs` -> `Task
 * completed.`; its lines name no prompt. The operator's driver saves each answer as `{stem}.ply|glb|js`
 * in the output directory, and that file names the prompt: each output file is one generation,
 * linked to the service task that completed last before it was written. A task that never
 * completes (an exception, the next request, a restart, a timeout) is a failed generation of an
 * unknown prompt. The state repository's facts (set by the pipeline) give each generation its
 * round and, days later, its duel: each step is a new revision of the same record. No I/O.
 */
import { competitionStage, competitionWrittenSeconds, emptyRecord, uuidV5, GENERATION_ID_NAMESPACE, type GenerationRecord } from '../../schema';
import { isoUtc } from '../../parse';
import type { CompetitionFacts } from '../../parse/competition-state';
import { MTIME_TICK_MS, type LogEvent, type OutputFile } from '../events';
import { applyPlyResult, applyPlySize, type LinkedPly } from '../ply-output';
import type { FinishedRecord } from '../finished';
import { competitionSection, noFacts, settleCompetitionVerdict, verdictFinal } from './verdict';
import type { CompetitionOptions, CompetitionSnapshot, Held, OutputMeasure, ServiceTask } from './shapes';

export { CompetitionSnapshotSchema, type CompetitionOptions, type CompetitionSnapshot, type OutputMeasure } from './shapes';

/** The output directory's group name in competition mode. */
export const COMPETITION_GROUP = 'competition';

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
/** The exception's own line: a Python traceback ends with it. */
const lastLine = (trace: string): string => trace.trimEnd().split('\n').at(-1)!.trim().slice(0, 500);

export class CompetitionBook {
  private current: ServiceTask | null = null;
  /** Completed tasks whose file has not come yet (newest last). */
  private completed: ServiceTask[] = [];
  /** Generations written whose verdict is not final: revised as the state repository learns more. */
  private held: Held[] = [];
  private outbox: FinishedRecord[] = [];
  private facts: CompetitionFacts | null = null;
  private occurrences = new Map<string, number>();
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: CompetitionOptions) {}

  /** A line of the generation service. */
  push(e: LogEvent): void {
    this.lastMs = Math.max(this.lastMs, e.timeMs);
    if (e.damaged) return;
    switch (e.type) {
      case 'service_task_received':
        // the service takes one request at a time: one still open never completed
        if (this.current) this.failTask(this.current, 'exception', 'the generation service took the next request before completing this one');
        this.current = {
          receivedMs: e.timeMs,
          receivedText: e.timeText,
          file: e.file,
          offset: e.offset,
          timing: {},
          sources: [{ event: e.type, file: e.file, offset: e.offset }],
          completedMs: null,
        };
        // uvicorn's error line and traceback have no loguru header: they join the request's own line
        if (e.stackTrace) this.failTask(this.current, 'exception', lastLine(e.stackTrace), e.stackTrace);
        return;
      case 'service_metrics':
        if (!this.current) return;
        for (const [path, v] of Object.entries(e.set)) {
          const key = path.slice(path.lastIndexOf('.') + 1);
          if (typeof v === 'number') this.current.timing[key] = v;
        }
        this.current.sources.push({ event: e.type, file: e.file, offset: e.offset });
        return;
      case 'service_task_completed':
        if (!this.current) return;
        this.current.completedMs = e.timeMs;
        this.current.sources.push({ event: e.type, file: e.file, offset: e.offset });
        this.completed.push(this.current);
        this.current = null;
        return;
      case 'service_starting':
        if (this.current) this.failTask(this.current, 'miner_restarted', 'the generation service restarted during the request');
        return;
      case 'exception':
        // uvicorn's traceback after the request's line was handed on (live): the same failure as when joined to it
        if (this.current) this.failTask(this.current, 'exception', e.stackTrace ? lastLine(e.stackTrace) : String(e.fields.message ?? 'exception'), e.stackTrace);
        return;
      default:
    }
  }

  /** An output file: one generation. Returns its generation id. */
  pushOutput(f: OutputFile): string {
    // The service logs `Task completed.` before it sends the answer, and the driver writes the file
    // after (one clock, the host's): the file is of a request completed at or before its mtime, the
    // last such one unless the driver saves answers out of order (then the link says inferred, until the
    // other requests each take a file only they could have written: wroteOwnFile). Files come late (once
    // stable), so requests completed after the file are left out by time, not order.
    // (An mtime can be a kernel tick behind the line before it: MTIME_TICK_MS.)
    const mayHaveWritten = (completedMs: number) => completedMs <= f.timeMs + MTIME_TICK_MS && f.timeMs - completedMs <= this.opts.linkWithinMs;
    const candidates = this.completed.filter((t) => mayHaveWritten(t.completedMs!));
    // a request that took a file by a best fit may be this file's instead (files can be handed on out of
    // order: each is reported once its size is stable, and under load a later one can come first)
    const guessed = this.held.filter((h) => h.doubt && mayHaveWritten(h.doubt.completedMs)).length;
    const task = candidates.at(-1) ?? null;
    if (task) this.completed = this.completed.filter((t) => t !== task);
    const stem = f.name.slice(f.name.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');
    const id = uuidV5(JSON.stringify(['competition', this.opts.app, f.name, f.mtimeMs]), GENERATION_ID_NAMESPACE);
    const r = this.newRecord(id, task ? task.receivedMs : f.timeMs, stem, f.path);
    const others = candidates.length - 1 + guessed;
    if (task) {
      this.applyTask(r, task);
      r.provenance.links.push({ event: 'output_written', link: others > 0 ? 'inferred' : 'determined', candidates: others + 1 });
    } else {
      r.provenance.incomplete = true;
      r.provenance.incomplete_reasons.push('service_lines_not_seen');
    }
    r.provenance.sources.push({ event: 'output_written', file: f.path, offset: 0 });
    r.generation.submission.submission_time = isoUtc(f.timeMs);
    applyPlySize(r, f.size);
    const output: LinkedPly = { path: f.path, dir: f.dir, name: f.name, size: f.size, mtimeMs: f.mtimeMs, measured: false };
    const doubt = task && candidates.length > 1 && !guessed ? { others: candidates.slice(0, -1).map(taskKey), completedMs: task.completedMs! } : undefined;
    this.held.push({ record: r, timeMs: f.timeMs, output, measured: false, emitted: null, ...(doubt ? { doubt } : {}) });
    if (task && others === 0) this.wroteOwnFile(taskKey(task));
    return id;
  }

  /**
   * Request `key` wrote a file no other request could have: a file linked by a best fit that it was an
   * alternative for has one doubt fewer, and with none left its link is determined (written again).
   */
  private wroteOwnFile(key: string): void {
    for (const h of this.held) {
      if (!h.doubt?.others.includes(key)) continue;
      h.doubt.others = h.doubt.others.filter((k) => k !== key);
      if (h.doubt.others.length) continue;
      delete h.doubt;
      const link = h.record.provenance.links.find((l) => l.event === 'output_written');
      if (link) Object.assign(link, { link: 'determined', candidates: 1 });
      if (h.measured) {
        h.emitted = null;
        this.emit(h);
      }
    }
  }

  /** Outputs not measured yet: the pipeline reads them while fresh (the driver may rewrite a stem's file next round). */
  outputsToMeasure(): { id: string; output: LinkedPly }[] {
    return this.held.flatMap((h) => (!h.measured && h.output ? [{ id: h.record.metadata.generation_id, output: h.output }] : []));
  }

  setOutputMeasure(id: string, m: OutputMeasure): void {
    const h = this.held.find((x) => x.record.metadata.generation_id === id);
    if (!h || h.measured) return;
    h.measured = true;
    h.output!.measured = true;
    const c = h.record.competition!;
    c.output_hash = m.sha256 ? `sha256:${m.sha256}` : null;
    if (m.ply) applyPlyResult(h.record, m.ply);
    else if (m.error) h.record.generation.output.ply_error = m.error;
    this.emit(h);
  }

  /** What the state repository says now: every held generation is revised where it says more. */
  setFacts(facts: CompetitionFacts): void {
    this.facts = facts;
    for (const h of this.held) if (h.measured) this.emit(h);
    this.release();
  }

  /** Time passes (event time, or the wall clock once caught up): a task open too long failed. */
  tick(nowMs: number): void {
    if (this.current && nowMs - this.current.receivedMs > this.opts.taskTimeoutMs)
      this.failTask(this.current, 'exception', `the generation service did not complete the request within ${Math.round(this.opts.taskTimeoutMs / 60000)} min`);
    // a completed task whose file never came: a generation with no prompt known
    const late = this.completed.filter((t) => nowMs - t.completedMs! > this.opts.linkWithinMs);
    if (late.length) {
      this.completed = this.completed.filter((t) => !late.includes(t));
      for (const t of late) this.taskWithoutOutput(t);
    }
    this.release(nowMs);
  }

  /** End of an `ingest` input: what is open is written as it stands. */
  finishAll(reason: string): void {
    if (this.current) {
      const t = this.current;
      this.current = null;
      const r = this.taskRecord(t);
      r.outcome = 'interrupted';
      r.provenance.incomplete = true;
      r.provenance.incomplete_reasons.push(reason);
      this.hold(r, t.receivedMs);
    }
    for (const t of this.completed) this.taskWithoutOutput(t);
    this.completed = [];
  }

  drain(): FinishedRecord[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  requeue(records: FinishedRecord[]): void {
    this.outbox = [...records, ...this.outbox];
  }

  get unwritten(): number {
    return this.outbox.length;
  }

  get open(): number {
    return (this.current ? 1 : 0) + this.completed.length + this.held.filter((h) => !h.measured).length;
  }

  /** Generations held for their verdict (the state keeps them). */
  get heldCount(): number {
    return this.held.length;
  }

  snapshot(): CompetitionSnapshot {
    return {
      current: this.current && structuredClone(this.current),
      completed: structuredClone(this.completed),
      held: structuredClone(this.held),
      occurrences: [...this.occurrences],
    };
  }

  restore(s: CompetitionSnapshot): void {
    this.current = structuredClone(s.current);
    this.completed = structuredClone(s.completed);
    this.held = structuredClone(s.held);
    this.occurrences = new Map(s.occurrences);
  }

  // ---- records ----

  private newRecord(id: string, timeMs: number, stem: string | null, outputFile: string | null): GenerationRecord {
    const r = emptyRecord({
      generation_id: id,
      timestamp: isoUtc(timeMs),
      host: this.opts.host,
      miner_app: this.opts.app,
      collector_version: this.opts.collectorVersion,
      outcome: 'no_feedback',
    });
    r.metadata.miner_version = this.opts.minerVersion;
    r.metadata.network = 'mainnet';
    r.miner_config = { ...r.miner_config, ...this.opts.minerConfig };
    r.competition = { ...noFacts(), stem, hotkey: this.opts.hotkey, output_file: outputFile, output_hash: null };
    return r;
  }

  private applyTask(r: GenerationRecord, t: ServiceTask): void {
    r.metadata.timestamp = isoUtc(t.receivedMs);
    const timing = r.generation.timing;
    for (const [k, v] of Object.entries(t.timing)) timing[k] = v === null ? null : round3(v);
    timing.total_time = t.completedMs !== null ? (t.completedMs - t.receivedMs) / 1000 : null;
    r.provenance.sources.push(...t.sources);
    for (const s of t.sources) if (s.event !== 'service_task_received') r.provenance.links.push({ event: s.event, link: 'determined', candidates: 1 });
  }

  /** A record of a service task with no output file: its id from its received line (its occurrence makes it unique). */
  private taskRecord(t: ServiceTask): GenerationRecord {
    const key = `${t.file}\0${t.receivedText}`;
    const n = this.occurrences.get(key) ?? 0;
    this.occurrences.set(key, n + 1);
    const id = uuidV5(JSON.stringify(['competition-task', this.opts.app, t.receivedText, n]), GENERATION_ID_NAMESPACE);
    const r = this.newRecord(id, t.receivedMs, null, null);
    this.applyTask(r, t);
    return r;
  }

  private failTask(t: ServiceTask, type: 'exception' | 'miner_restarted', message: string, stack: string | null = null): void {
    if (this.current === t) this.current = null;
    const r = this.taskRecord(t);
    r.failure_analysis = { failed: true, error_type: type, error_message: message, stack_trace: stack };
    this.hold(r, t.receivedMs);
  }

  private taskWithoutOutput(t: ServiceTask): void {
    const r = this.taskRecord(t);
    r.provenance.incomplete = true;
    r.provenance.incomplete_reasons.push('output_file_not_seen');
    this.hold(r, t.receivedMs);
  }

  /** A request with no file: written now, and again when the state repository tells its round. */
  private hold(r: GenerationRecord, timeMs: number): void {
    const h: Held = { record: r, timeMs, output: null, measured: true, emitted: null };
    this.held.push(h);
    this.emit(h);
  }

  /** Writes the held generation as the facts now say (the store adds a revision only when it says more). */
  private emit(h: Held): void {
    const r = h.record;
    if (this.facts) r.competition = competitionSection(r.competition!, this.facts, h.timeMs);
    settleCompetitionVerdict(r);
    const said = JSON.stringify([competitionStage(r.competition), competitionWrittenSeconds(r.competition), r.outcome, r.competition!.round]);
    if (said === h.emitted) return;
    h.emitted = said;
    this.outbox.push({ record: structuredClone(r), supersedesIfPresent: [], ply: h.output });
  }

  /** Lets go of generations whose verdict is final, or held longer than holdMs. */
  private release(nowMs = this.lastMs): void {
    const facts = this.facts;
    this.held = this.held.filter((h) => {
      if (!h.measured) return true;
      if (facts && verdictFinal(h.record.competition!, facts)) return false;
      return !(nowMs - h.timeMs > this.opts.holdMs);
    });
  }
}

/** A service request by its received line's place: unique, and the same after a restart (snapshots copy tasks). */
function taskKey(t: ServiceTask): string {
  return `${t.file}:${t.offset}`;
}
