/**
 * The one assembly line the daemon and `ingest` share: the event-time merge of every source, the
 * task clock, the tracker, the output files, PLY measuring. Sources push what they parsed; `step`
 * hands the merged events to the tracker.
 *
 * - The task clock runs on the miner's lines only (its timeouts are the miner's); another source
 *   whose clock disagrees is measured (`ClockSkew`) and its times corrected before merging.
 * - A bulkhead: an event whose handling throws is quarantined (where it is and its hash, never its
 *   text), counted, logged once, and skipped; the checkpoint moves past it, so a restart does not
 *   meet it again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { EventMerger, GENERATION_END_EVENTS, type Lateness, type Tracker, type TrackerSnapshot } from '../assemble';
import type { OutputFile } from '../assemble';
import { EventClock, type Clock } from '../common/clock';
import type { Logger } from '../common/logger';
import type { LogEvent, StreamSpec } from '../parse';
import type { Line } from '../sources';
import type { QuarantineEntry } from './state-shape';
import { ClockSkew } from './clock-skew';
import { isOutputEvent, outputEvent, type MergedEvent } from './wiring';
import { measureLinkedPly, measureOutputFile } from './ply-files';
import type { PromptAnalysis } from './prompt-analysis';

export interface AssemblyOptions {
  tracker: Tracker;
  logger: Logger;
  /** The wall clock. */
  clock: Clock;
  /** Live (the daemon): timeouts go on at the wall clock's pace once caught up. `ingest` runs on event time alone. */
  live: boolean;
  /** Offsets measured by an earlier run, by source key. */
  knownOffsetsMs?: Record<string, number>;
  /** A test's fault: called before each event is handled; what it throws is quarantined like any throw. */
  beforeEvent?: (e: LogEvent) => void;
  /** Long fields analysed on another thread as they are parsed (`ingest`); without, the tracker analyses them. */
  prompts?: PromptAnalysis | null;
}

interface LogSourceSlot {
  spec: StreamSpec;
  key: string;
  skew: ClockSkew | null;
  caughtUp: boolean;
}

/**
 * With workers' logs read, the unnamed events the window decides from the workers' lines wait 1 s
 * for those lines, which other files deliver: a generation's end and a submit failure (the worker
 * writes its lines just before the miner logs the end), and a miner restart (what the workers of
 * the run before still wrote). PM2 relays each app's output to its file, and under load a worker's
 * line reaches its file up to seconds after the miner's. Past this wait, the daemon's tracker asserts
 * a link only once the lines 3 s of event time later were handed on (wiring.ts, WORKER_LINES_LATE_MS;
 * attribution model test, worker lines read late). Without workers' logs an end waits 200 ms for the
 * output files, where output directories are read. Nothing else waits: the miner's own stderr holds
 * no line the tracker reads (a crash's traceback has no header), and a wait would hold every later
 * line behind it (at 10 tasks/s, each feedback behind another task's end: 200 ms to its record).
 */
const WAITS_FOR_WORKERS = new Set([...GENERATION_END_EVENTS, 'submit_failed', 'miner_started']);
function latenessFor(readsWorkers: boolean, readsOutputs: boolean): Lateness<MergedEvent> {
  return (e) => (isOutputEvent(e) ? 0 : readsWorkers && WAITS_FOR_WORKERS.has(e.type) ? 1000 : readsOutputs && GENERATION_END_EVENTS.has(e.type) ? 200 : 0);
}

export class Assembly {
  readonly tracker: Tracker;
  private readonly merger = new EventMerger<MergedEvent>();
  private readonly taskClock: EventClock;
  private readonly logs = new Map<string, LogSourceSlot>();
  private readonly hasMiner: boolean;
  private readonly lateness: Lateness<MergedEvent>;
  private minerTimeMs = Number.NEGATIVE_INFINITY;
  private minerReadMs: number | null = null;
  private minerHandedMs = Number.NEGATIVE_INFINITY;
  private tickFailures = 0;
  private quarantined: QuarantineEntry[] = [];
  readonly counters = { events: 0, outputFiles: 0, quarantined: 0 };

  constructor(
    private readonly opts: AssemblyOptions,
    streams: { id: string; key: string; spec: StreamSpec }[],
    outputIds: string[],
  ) {
    this.tracker = opts.tracker;
    this.taskClock = new EventClock(opts.clock);
    this.hasMiner = streams.some((s) => s.spec.role === 'miner');
    this.lateness = latenessFor(streams.some((s) => s.spec.role === 'worker'), outputIds.length > 0);
    // the miner's sources first: a log line wins a tie with a later source's, and a file of the same time
    for (const s of streams) {
      this.merger.addSource(s.id);
      const corrected = this.hasMiner && s.spec.role !== 'miner';
      this.logs.set(s.id, { spec: s.spec, key: s.key, skew: corrected ? new ClockSkew(opts.knownOffsetsMs?.[s.key] ?? 0) : null, caughtUp: false });
    }
    for (const id of outputIds) this.merger.addSource(id);
  }

  /**
   * Picks up where the last run stood: its open tasks, and the task clock at the last miner line
   * handed to the tracker (lines read past the checkpoint are read again), else at the tracker's last event.
   */
  restore(snap: TrackerSnapshot, minerHandedMs: number | null): void {
    this.tracker.restore(snap);
    const at = minerHandedMs ?? snap.lastMs;
    if (at > 0) this.taskClock.observe(at);
  }

  /** A parsed event of log source `id`, read at wall time `wallMs`. */
  pushLog(id: string, e: LogEvent, wallMs: number): void {
    const slot = this.logs.get(id)!;
    if (slot.spec.role === 'miner') {
      if (e.timeMs > this.minerTimeMs || !Number.isFinite(this.minerTimeMs)) this.minerTimeMs = e.timeMs;
      // a line of a backlog was not written now: only a live line says when the miner last wrote
      if (slot.caughtUp) this.minerReadMs = wallMs;
    } else if (slot.skew) {
      // a line read as it is written tells the source's clock; a backlog line does not
      if (this.opts.live && slot.caughtUp && this.minerReadMs !== null && slot.skew.sample(e.timeMs, wallMs, this.minerTimeMs, this.minerReadMs))
        this.opts.logger.warn(
          { source: slot.spec.app, file: slot.spec.file, aheadMs: slot.skew.offsetMs, ahead: formatOffset(slot.skew.offsetMs) },
          slot.skew.offsetMs ? `the clock of ${slot.spec.app}'s lines runs ${formatOffset(slot.skew.offsetMs)} of the miner's; its times are corrected` : `the clock of ${slot.spec.app}'s lines agrees with the miner's again`,
        );
      if (slot.skew.offsetMs) e.timeMs -= slot.skew.offsetMs;
    }
    this.opts.prompts?.submit(e);
    this.merger.push(id, e, wallMs);
  }

  /** A complete file of output directory `id`. */
  pushOutput(id: string, f: OutputFile, wallMs: number): void {
    this.merger.push(id, outputEvent(f), wallMs);
  }

  /** Idle: caught up with its file (live) or finished (`ingest`); no earlier event can follow. */
  setIdle(id: string, idle: boolean): void {
    this.merger.setIdle(id, idle);
  }

  /** Whether log source `id` reads as lines are written (its times then measure its clock). */
  setCaughtUp(id: string, caughtUp: boolean): void {
    this.logs.get(id)!.caughtUp = caughtUp;
  }

  /** Every log source caught up: the task clock goes on at the wall clock's pace. */
  setAllCaughtUp(caughtUp: boolean): void {
    this.taskClock.setCaughtUp(this.opts.live && caughtUp);
  }

  /** The oldest event of a source not handed on yet: a checkpoint stands at or before it. */
  held(id: string): MergedEvent | undefined {
    return this.merger.peek(id);
  }

  get heldCount(): number {
    return this.merger.held;
  }

  /** The task clock (event time; the wall clock's pace once caught up when live). */
  now(): number {
    return this.taskClock.now();
  }

  isCaughtUp(): boolean {
    return this.taskClock.isCaughtUp();
  }

  /** The offset of each source measured against the miner's clock, by source key (ms ahead; 0: aligned). */
  clockOffsets(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.logs.values()) if (s.skew) out[s.key] = s.skew.offsetMs;
    return out;
  }

  /**
   * The miner's newest line read: the time it carried and when a line was last read live (wall; null:
   * none yet); and the newest miner time handed to the tracker (where the task clock stands).
   */
  minerLastLine(): { timeMs: number; readMs: number | null; handedMs: number | null } | null {
    if (!Number.isFinite(this.minerTimeMs)) return null;
    return { timeMs: this.minerTimeMs, readMs: this.minerReadMs, handedMs: Number.isFinite(this.minerHandedMs) ? this.minerHandedMs : null };
  }

  /**
   * Hands every event no source can still precede to the tracker, then lets time pass and measures
   * the PLY files just linked. `onOutput` hears each output file with the task it was linked to;
   * `heldBack` holds a log event (and every later one) in the merge for a later step. Returns how
   * many events were handed on.
   */
  async step(wallMs: number, onOutput?: (f: OutputFile, linkedTo: string | null) => void, heldBack?: (e: LogEvent) => boolean): Promise<number> {
    let n = 0;
    this.tracker.deferAttribution(true);
    try {
      const ready = heldBack && ((e: MergedEvent) => isOutputEvent(e) || !heldBack(e));
      for (const e of this.merger.drain(this.opts.live ? wallMs : 0, this.opts.live ? this.lateness : undefined, ready)) {
        n++;
        if (isOutputEvent(e)) {
          // a file's time is not a clock reading: a copied file may carry any mtime
          let linked: string | null = null;
          try {
            linked = this.tracker.pushOutput(e.output);
          } catch (err) {
            this.opts.logger.error({ dir: e.output.dir, name: e.output.name, error: (err as Error).message }, 'output file skipped: its handling threw');
          }
          this.counters.outputFiles++;
          onOutput?.(e.output, linked);
          continue;
        }
        this.counters.events++;
        if (!this.hasMiner || e.spec.role === 'miner') {
          this.taskClock.observe(e.timeMs);
          if (e.timeMs > this.minerHandedMs) this.minerHandedMs = e.timeMs;
        }
        // analysed on another thread since it was parsed (nothing else runs meanwhile: `ingest`'s loop awaits this step)
        const prompt = this.opts.prompts?.holds(e) ? await this.opts.prompts.take(e) : null;
        try {
          this.opts.beforeEvent?.(e);
          this.tick();
          this.tracker.push(e, prompt);
        } catch (err) {
          this.quarantine(e.file, e.offset, e.end, err, () => entryHash(e), e.type);
        }
      }
    } finally {
      this.solveDeferred();
    }
    this.tick();
    // measured while fresh: a worker may reuse its file name for the next generation
    for (const m of this.tracker.plysToMeasure()) this.tracker.setPlyMeasure(m.id, await measureLinkedPly(m.ply));
    for (const m of this.tracker.outputsToMeasure()) this.tracker.setOutputMeasure(m.id, await measureOutputFile(m.output));
    return n;
  }

  /** End of `ingest`'s input: every open task is finished as it stands, marked so. */
  finish(reason: string): void {
    this.tracker.finishAll(reason);
  }

  /** Solves what the batch left in the attribution window (a failure is logged like a tick's, and tried again next step). */
  private solveDeferred(): void {
    try {
      this.tracker.deferAttribution(false);
    } catch (err) {
      this.opts.logger.error({ error: (err as Error).message }, 'attribution failed');
    }
  }

  private tick(): void {
    // before the miner's first line `ingest` has no time yet (the wall clock is not the logs' time)
    if (!this.opts.live && !this.taskClock.hasObserved()) return;
    try {
      this.tracker.tick(this.taskClock.now());
      this.tickFailures = 0;
    } catch (err) {
      // not a line's fault: logged (once, then every 1000th), and the next step tries again
      if (this.tickFailures++ % 1000 === 0) this.opts.logger.error({ error: (err as Error).message, times: this.tickFailures }, 'timeouts failed');
    }
  }

  /** A line whose parsing threw (the source's bulkhead): quarantined like an event. */
  quarantineLine(line: Line, err: unknown): void {
    this.quarantine(line.source.path, line.offset, line.end, err, () => createHash('sha256').update(line.bytes).digest('hex'), 'line');
  }

  /** Quarantined since the last call (the daemon keeps them in its state). */
  drainQuarantined(): QuarantineEntry[] {
    const out = this.quarantined;
    this.quarantined = [];
    return out;
  }

  private quarantine(file: string, offset: number, end: number, err: unknown, hash: () => string, what: string): void {
    const entry: QuarantineEntry = {
      file,
      offset,
      length: end - offset,
      sha256: hash(),
      reason: `${(err as Error)?.name ?? 'Error'}: ${String((err as Error)?.message ?? err).slice(0, 200)}`,
      at: new Date(this.opts.clock.now()).toISOString(),
    };
    if (this.quarantined.length < 100) this.quarantined.push(entry);
    this.counters.quarantined++;
    // where in our code it threw (the frames name code, not the line's text): what a bug report needs
    const where = String((err as Error)?.stack ?? '').split('\n').slice(1, 6).map((f) => f.trim()).join(' < ');
    this.opts.logger.error(
      { file, offset, length: entry.length, sha256: entry.sha256, what, error: entry.reason, where },
      `line quarantined: handling it threw; skipped (${file}:${offset})`,
    );
  }
}

/**
 * The SHA-256 of the entry's bytes, read back from its file while that is still the file it came
 * from; after a rotation, of the event's type, rule and span (enough to tell two entries apart).
 */
function entryHash(e: LogEvent): string {
  const h = createHash('sha256');
  try {
    const fd = fs.openSync(e.file, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (st.ino === e.identity.ino && st.dev === e.identity.dev && st.size >= e.end) {
        const buf = Buffer.alloc(e.end - e.offset);
        fs.readSync(fd, buf, 0, buf.length, e.offset);
        return h.update(buf).digest('hex');
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* gone: the event's own description below */
  }
  return h.update(`${e.type}\0${e.rule}\0${e.file}\0${e.offset}\0${e.end}`).digest('hex');
}

/** A span of time in words, `3 h 5 min`, `12 s`. */
export function spanWords(ms: number): string {
  const abs = Math.abs(ms);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.round((abs % 60_000) / 1000);
  return [h ? `${h} h` : '', m ? `${m} min` : '', s ? `${s} s` : ''].filter(Boolean).join(' ') || '0 s';
}

/** A clock offset in words: `3 h ahead`, `15 min behind`. */
export function formatOffset(ms: number): string {
  return `${spanWords(ms)} ${ms > 0 ? 'ahead' : 'behind'}`;
}
