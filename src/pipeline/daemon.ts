/**
 * The long-running collector: follows every log file, parses, merges by event time, tracks tasks,
 * appends finished records, and commits checkpoints with the open-task snapshot only after the
 * records they cover are fsynced (ARCHITECTURE.md, "Delivery"). A restart replays from the last
 * commit; the store drops what was already written.
 */
import * as os from 'node:os';
import { OutputDirWatcher, OutputMark, type Checkpoint, type OutputFile } from '../sources';
import type { LogEvent } from '../parse';
import { createHashers } from '../assemble';
import { acquireInstanceLock, moveAside, stateFilePath, type InstanceLock } from '../state';
import { emptyState, loadState, saveState, type CollectorState } from './state-shape';
import { ClockStepWatch, systemClock, type Clock } from '../common/clock';
import { CollectorError } from '../common/errors';
import { silentLogger, type Logger } from '../common/logger';
import { openMinerConfigHistoryStore } from '../sinks';
import { createParsers, createTracker, openOutputs, sourceKey, type Outputs, type PipelineInputs } from './wiring';
import { MinerSettingsWatch } from './miner-settings';
import { Assembly, spanWords } from './assembly';
import { RecordWriter } from './writer';
import { nextState } from './commit';
import { LogSource } from './log-source';
import { HealthCheck, Warnings } from './health';
import { recordFields, recordLine, StatusLine } from './log-lines';
import type { LogFormat } from '../common/log';
import { StateRepoFollower } from './state-repo';

export interface DaemonOptions extends PipelineInputs {
  clock?: Clock;
  /** Period of the one-line status log (default 60 s). */
  statusEveryMs?: number;
  /** Commit state at least this often while lines flow (default 1 s). */
  commitEveryMs?: number;
  /** A test's fault (`AssemblyOptions.beforeEvent`). */
  beforeEvent?: (e: LogEvent) => void;
  /** json: each log line carries its facts as fields too; human: the line says them. */
  logFormat?: LogFormat;
  /** Asks PM2 whether the configured apps run (null: all is well); not given when the logs are named explicitly. */
  checkApps?: () => Promise<string | null>;
  /** Health checks this often (default 30 s). */
  healthEveryMs?: number;
  /** The miner counts as silent after this long without a line (default 5 min). */
  minerSilentMs?: number;
}

/** The longest an idle daemon sleeps: the config file, the state repository and the checks are looked at this often. */
const IDLE_SLEEP_MS = 5000;

export class Daemon {
  private lock: InstanceLock | null = null;
  private state!: CollectorState;
  private out!: Outputs;
  private assembly!: Assembly;
  private sources: LogSource[] = [];
  private outputs: { id: string; watcher: OutputDirWatcher }[] = [];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private running = false;
  private settingsWatch: MinerSettingsWatch | null = null;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private lastCommitMs = 0;
  private statusLine!: StatusLine;
  private stepWatch!: ClockStepWatch;
  private health!: HealthCheck;
  private dirty = false;
  private writer!: RecordWriter;
  /** Competition mode: the state repository, fetched and read beside the loop. */
  private stateRepo: StateRepoFollower | null = null;
  readonly counters = { lines: 0, records: 0, duplicates: 0, minerEvents: 0, writeErrors: 0, outputFiles: 0 };

  /** With nothing open, the loop wakes only this often: the periodic checks' pace, at most 5 s. */
  private readonly idleSleepMs: number;

  constructor(private readonly opts: DaemonOptions) {
    this.idleSleepMs = Math.min(IDLE_SLEEP_MS, opts.statusEveryMs ?? IDLE_SLEEP_MS, opts.healthEveryMs ?? IDLE_SLEEP_MS);
    this.clock = opts.clock ?? systemClock;
    this.statusLine = new StatusLine({ everyMs: opts.statusEveryMs ?? 60000 });
    this.stepWatch = new ClockStepWatch(this.clock);
    this.logger = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    this.lock = acquireInstanceLock(config.dataDir, { clock: this.clock });
    try {
      const loaded = this.loadOrMoveAside(config.dataDir);
      // a new session: records_written adds this session's records to what earlier ones wrote
      this.state = { ...loaded, counters: { ...loaded.counters, session_records: 0 } };
      const hashers = await createHashers();
      this.out = await openOutputs(config, this.logger);
      this.writer = new RecordWriter(this.out, config.dataDir, this.clock, this.logger);
      const outputDirs = this.opts.outputDirs ?? [];
      const tracker = createTracker(config, this.opts.minerApp, hashers, this.out.storeImage, outputDirs, this.opts.streams, true);
      this.assembly = new Assembly(
        { tracker, logger: this.logger, clock: this.clock, live: true, knownOffsetsMs: this.state.health.clock_offsets_ms, beforeEvent: this.opts.beforeEvent },
        this.opts.streams.map((spec, i) => ({ id: String(i), key: sourceKey(spec), spec })),
        outputDirs.map((_, k) => `out:${k}`),
      );
      const snap = this.state.open_tasks[0];
      // timeouts go on from where the last run's miner time stood, not from today's date
      if (snap) this.assembly.restore(snap, this.state.health.miner_last_line_time_ms);
      const parsers = createParsers(this.opts.streams, config, this.opts.rulesFile, (i, e) => this.onEvent(i, e));
      this.sources = this.opts.streams.map((spec, i) => {
        const key = sourceKey(spec);
        return new LogSource(String(i), key, spec, parsers[i]!, this.state.sources[key] ?? null, config, this.logger);
      });
      // registered after the logs: a log line wins a tie with a file of the same time
      this.outputs = outputDirs.map((spec, k) => {
        const saved = this.state.output_dirs[spec.dir];
        const mark = saved ? new OutputMark(saved) : OutputMark.fresh(config.startAt, this.clock.now());
        const id = `out:${k}`;
        const watcher = new OutputDirWatcher(spec, mark, { ...config.output, logger: this.logger, clock: this.clock, onReady: () => this.wake?.() });
        return { id, watcher };
      });
      for (const o of this.outputs) await o.watcher.start();
    } catch (err) {
      await Promise.all(this.outputs.map((o) => o.watcher.close()));
      this.lock.release();
      throw err;
    }
    if (config.minerConfigFile) {
      const history = await openMinerConfigHistoryStore({ dataDir: config.dataDir, logger: this.logger });
      this.settingsWatch = new MinerSettingsWatch(
        config.minerConfigFile,
        history,
        { host: os.hostname(), minerApp: this.opts.minerApp },
        (settings) => this.assembly.tracker.setMinerSettings(settings),
        this.logger,
      );
      await this.settingsWatch.start();
    }
    const warnings = new Warnings(this.logger);
    if (config.competition) {
      this.stateRepo = new StateRepoFollower(config.competition, warnings, this.logger);
      // the round of each output is known before its first record, when the clone is readable
      const facts = await this.stateRepo.readNow(this.clock.now());
      if (facts) this.assembly.tracker.setCompetitionFacts(facts);
    }
    this.health = new HealthCheck(
      this.opts.streams,
      warnings,
      { everyMs: this.opts.healthEveryMs ?? 30000, minerSilentMs: this.opts.minerSilentMs ?? 5 * 60000, checkApps: this.opts.checkApps },
      this.clock.now(),
    );
    this.running = true;
    for (const s of this.sources)
      void s.read(
        () => this.running,
        () => this.wake?.(),
      );
    this.loopDone = this.mainLoop();
    this.logger.info(
      {
        dataDir: config.dataDir,
        files: this.sources.map((s) => `${s.spec.app}:${s.spec.stream} ${s.spec.file}`),
        outputDirs: this.outputs.map((o) => `${o.watcher.spec.group} ${o.watcher.spec.dir}`),
        openTasks: this.assembly.tracker.openTasks,
        nodeFlags: process.execArgv.join(' '),
      },
      'collector started',
    );
  }

  /**
   * The state; one that is not valid (a torn or hand-edited file) is moved aside, never deleted, and
   * the logs are read again from their start: the store drops the records it already has. (A state of
   * a newer version is refused: a newer build wrote it.)
   */
  private loadOrMoveAside(dataDir: string): CollectorState {
    try {
      return loadState(dataDir);
    } catch (err) {
      if (!(err instanceof CollectorError) || err.code !== 'STATE_INVALID') throw err;
      const aside = moveAside(stateFilePath(dataDir), this.clock.now());
      this.logger.error(
        { file: stateFilePath(dataDir), movedTo: aside, error: err.message },
        `state file not valid: moved aside to ${aside}; the logs are read again from their start (records already written are not written twice)`,
      );
      return emptyState(this.clock);
    }
  }

  /** Graceful stop: stop reading, write what is finished, commit, release the lock. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loopDone;
    await this.stateRepo?.settle();
    await Promise.all([...this.sources.map((s) => s.close()), ...this.outputs.map((o) => o.watcher.close())]);
    try {
      await this.flushRecords();
      this.commit(true);
    } finally {
      this.lock?.release();
      this.lock = null;
    }
    this.logger.info({ ...this.counters, openTasks: this.assembly.tracker.openTasks }, 'collector stopped');
  }

  get openTasks(): number {
    return this.assembly.tracker.openTasks;
  }

  // ---- reading ----

  private onEvent(i: number, e: LogEvent): void {
    this.assembly.pushLog(String(i), e, this.clock.now());
  }

  // ---- the loop ----

  private async mainLoop(): Promise<void> {
    while (this.running) {
      const writing = this.writer.waiting;
      if (!writing) this.consumeQueues();
      const now = this.clock.now();
      for (const s of this.sources) s.flushIfIdle(this.assembly, now);
      this.assembly.setAllCaughtUp(this.sources.every((s) => s.caughtUp));
      this.takeOutputs();
      this.takeStateRepo();
      if (!writing) {
        if (await this.assembly.step(this.clock.now(), (f, id) => this.onOutput(f, id))) this.dirty = true;
        await this.flushRecords();
      }
      if (this.dirty && this.clock.now() - this.lastCommitMs >= (this.opts.commitEveryMs ?? 1000)) this.commit(false);
      this.status();
      this.out.checkConfig();
      await this.settingsWatch?.poll();
      // New lines wake the loop at once; otherwise it comes back soon only for what waits on
      // time (held events, an entry that may still grow, a retry, uncommitted work), once a second
      // while tasks are open (their timeouts), and with nothing open only for the periodic checks:
      // each wake-up of an idle process costs (here about 0.8 % of a core per wake-up a second).
      const waiting =
        this.assembly.heldCount > 0 ||
        this.dirty ||
        this.writer.pending ||
        this.assembly.tracker.awaitingOutput > 0 ||
        this.sources.some((x) => x.holdsOpenEntry);
      const sleepMs = waiting ? 50 : this.assembly.tracker.openTasks > 0 ? 1000 : this.idleSleepMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, sleepMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private onOutput(f: OutputFile, id: string | null): void {
    const fields = { dir: f.dir, name: f.name, mtime: new Date(f.mtimeMs).toISOString(), id };
    // the first few at info (a wrong outputDir or clock shows at once), then in the status line's count
    if (id || this.assembly.tracker.counters.outputFilesWithoutTask > 10) this.logger.debug(fields, id ? 'output file linked' : 'output file with no generation running then');
    else this.logger.info(fields, 'output file with no generation running then');
    this.outputs.find((o) => o.watcher.spec.dir === f.dir)?.watcher.handedOn(f);
    this.counters.outputFiles++;
  }

  /** Complete output files into the merge; how far the directories are known, to the tracker. */
  private takeOutputs(): void {
    if (!this.outputs.length) return;
    const now = this.clock.now();
    let settled = Number.POSITIVE_INFINITY;
    for (const o of this.outputs) {
      for (const f of o.watcher.take()) this.assembly.pushOutput(o.id, f, now);
      this.assembly.setIdle(o.id, o.watcher.idle);
      settled = Math.min(settled, o.watcher.settledMs());
    }
    this.assembly.tracker.setOutputSettled(settled, now);
  }

  /** Competition mode: new facts from the state repository revise the generations they speak of. */
  private takeStateRepo(): void {
    if (!this.stateRepo) return;
    this.stateRepo.poll(this.clock.now());
    const facts = this.stateRepo.take();
    if (facts) {
      this.assembly.tracker.setCompetitionFacts(facts);
      this.dirty = true;
    }
  }

  private consumeQueues(): void {
    for (const s of this.sources) {
      const lines = s.consume(this.assembly, this.clock.now());
      this.counters.lines += lines;
      if (lines) this.dirty = true;
    }
  }

  /** Appends finished records and miner events; on a write failure puts them back for the writer's retry. */
  private async flushRecords(): Promise<void> {
    const records = this.assembly.tracker.drainRecords();
    const events = this.assembly.tracker.drainMinerEvents();
    if (!records.length && !events.length && !this.writer.pending) return;
    const done = await this.writer.write(records, events);
    if (!done) {
      this.assembly.tracker.requeue(records, events);
      this.counters.writeErrors++;
      return;
    }
    this.counters.records += done.records;
    this.counters.duplicates += done.duplicates;
    this.counters.minerEvents += done.minerEvents;
    for (const f of records) {
      // a later revision of a record already counted is not a new record of the hour
      if (f.record.provenance.revision === 0) this.statusLine.noteRecord(this.clock.now(), { accepted: f.record.validator_feedback.accepted });
      this.logger.info(this.opts.logFormat === 'json' ? recordFields(f.record) : {}, recordLine(f.record));
    }
    if (records.length || events.length) this.dirty = true;
    if (records.length) this.commit(false);
  }

  /** Checkpoints + open tasks, in one atomic state write, only for what is durable. */
  private commit(force: boolean): void {
    // Never past records that are not durable: their lines must be read again after a crash.
    if (!this.lock || this.assembly.tracker.unwritten > 0 || (!force && this.writer.waiting)) return;
    this.lock.verify();
    const checkpoints: Record<string, Checkpoint> = {};
    for (const s of this.sources) {
      const cp = s.checkpoint(this.assembly.held(s.id) as LogEvent | undefined); // a log source holds log events only
      if (cp) checkpoints[s.key] = cp;
    }
    const next = nextState(this.state, {
      checkpoints,
      snapshot: this.assembly.tracker.snapshot(),
      outputMarks: Object.fromEntries(this.outputs.map((o) => [o.watcher.spec.dir, o.watcher.markState()])),
      pendingPlys: this.assembly.tracker.pendingPlys(),
      quarantined: this.assembly.drainQuarantined(),
      miner: this.assembly.minerLastLine(),
      clockOffsets: this.assembly.clockOffsets(),
      warnings: this.health.warnings.list(),
      sessionRecords: this.counters.records,
      nowMs: this.clock.now(),
    });
    this.state = saveState(this.opts.config.dataDir, next, { clock: this.clock });
    this.lastCommitMs = this.clock.now();
    this.dirty = false;
  }

  /** The status line, only when something changed; the health checks and the warnings in force. */
  private status(): void {
    const now = this.clock.now();
    const step = this.stepWatch.check();
    if (step)
      this.logger.warn(
        { stepMs: step },
        `the system clock stepped ${step > 0 ? 'forward' : 'back'} by ${spanWords(step)}: timeouts run on elapsed time and close no task for it; records keep the times their lines carry`,
      );
    const miner = this.assembly.minerLastLine();
    this.health.check(now, miner?.readMs ?? null);
    const line = this.statusLine.next({
      nowMs: now,
      lines: this.counters.lines,
      records: this.counters.records,
      openTasks: this.assembly.tracker.openTasks,
      quarantined: this.assembly.counters.quarantined,
      // how far the tasks handed on are behind the miner's newest line read (log time)
      lagSeconds: this.assembly.isCaughtUp() ? 0 : miner ? Math.max(0, Math.round((miner.timeMs - this.assembly.now()) / 1000)) : null,
      minerLastLineAgeSeconds: miner?.readMs != null ? Math.round((now - miner.readMs) / 1000) : null,
    });
    if (!line) return;
    const detail = {
      unmatched: this.sources.reduce((n, s) => n + s.parser.stats.unmatched, 0),
      damaged: this.sources.reduce((n, s) => n + s.parser.stats.damaged, 0),
      ...(this.outputs.length ? { outputFiles: this.counters.outputFiles, outputFilesWithoutTask: this.assembly.tracker.counters.outputFilesWithoutTask } : {}),
    };
    this.logger.info(this.opts.logFormat === 'json' ? { ...line.fields, ...detail } : {}, line.msg);
  }
}
