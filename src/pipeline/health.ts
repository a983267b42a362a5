/**
 * What a collector that reads nothing useful says about it: a configured app PM2 does not run, a
 * followed file that does not exist, a miner that has written nothing for minutes. Each warning is
 * logged when it starts, then at most hourly while it lasts, and once more when it ends; those in
 * force go into the state for `status` and `doctor`.
 */
import * as fs from 'node:fs';
import type { Logger } from '../common/logger';
import type { Health } from './state-shape';
import type { StreamSpec } from '../parse';

const HOUR_MS = 3_600_000;

interface InForce {
  message: string;
  sinceMs: number;
  loggedMs: number;
}

export class Warnings {
  private readonly inForce = new Map<string, InForce>();

  constructor(
    private readonly logger: Logger,
    private readonly repeatMs = HOUR_MS,
  ) {}

  /** `key`'s warning holds now; logged if new or changed, else at most every `repeatMs`. */
  raise(key: string, message: string, nowMs: number, fields: object = {}): void {
    const w = this.inForce.get(key);
    if (w && w.message === message && nowMs - w.loggedMs < this.repeatMs) return;
    const sinceMs = w?.sinceMs ?? nowMs;
    this.inForce.set(key, { message, sinceMs, loggedMs: nowMs });
    this.logger.warn({ ...fields, ...(w ? { since: new Date(sinceMs).toISOString() } : {}) }, message);
  }

  /** `key`'s warning no longer holds (said once, if it was raised). */
  clear(key: string, message: string, fields: object = {}): void {
    if (!this.inForce.delete(key)) return;
    this.logger.info(fields, message);
  }

  has(key: string): boolean {
    return this.inForce.has(key);
  }

  list(): Health['warnings'] {
    return [...this.inForce].map(([key, w]) => ({ key, message: w.message, since: new Date(w.sinceMs).toISOString() }));
  }
}

export interface HealthCheckOptions {
  /** The miner is silent after this long without a line (upstream logs `Miner | UID` every 30 s). */
  minerSilentMs: number;
  /** A file missing at two checks this far apart is missing (not a rotation in progress). */
  everyMs: number;
  /** Asks PM2 whether the configured apps run: a line for the operator, or null when all is well. */
  checkApps?: () => Promise<string | null>;
  /** PM2 is asked at every this many checks (default 10). */
  appsEveryChecks?: number;
}

/** The periodic checks of the daemon; `check` is cheap (a stat per followed file) and never throws. */
export class HealthCheck {
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly missingSince = new Map<string, number>();
  private asking = false;
  private checks = 0;
  private readonly startedMs: number;

  constructor(
    private readonly streams: StreamSpec[],
    readonly warnings: Warnings,
    private readonly opts: HealthCheckOptions,
    nowMs: number,
  ) {
    this.startedMs = nowMs;
  }

  /** `minerReadMs`: when a miner line was last read live (null: none since start). */
  check(nowMs: number, minerReadMs: number | null): void {
    if (nowMs - this.lastMs < this.opts.everyMs) return;
    this.lastMs = nowMs;
    let minerWroteMs = minerReadMs ?? Number.NEGATIVE_INFINITY;
    for (const s of this.streams) {
      let mtimeMs: number | null = null;
      try {
        mtimeMs = fs.statSync(s.file).mtimeMs;
      } catch {
        /* missing */
      }
      const key = `file-missing:${s.file}`;
      if (mtimeMs === null) {
        const since = this.missingSince.get(s.file) ?? nowMs;
        this.missingSince.set(s.file, since);
        if (nowMs - since >= this.opts.everyMs)
          this.warnings.raise(key, `followed file does not exist: ${s.file} (${s.role} ${s.app}, ${s.stream}); read as soon as it appears`, nowMs, { file: s.file });
        continue;
      }
      this.missingSince.delete(s.file);
      this.warnings.clear(key, `followed file exists now: ${s.file}`, { file: s.file });
      if (s.role === 'miner') minerWroteMs = Math.max(minerWroteMs, mtimeMs);
    }
    if (this.streams.some((s) => s.role === 'miner')) {
      const quietSince = Number.isFinite(minerWroteMs) ? minerWroteMs : this.startedMs;
      if (nowMs - quietSince >= this.opts.minerSilentMs)
        this.warnings.raise(
          'miner-silent',
          `the miner has written nothing for ${Math.round(this.opts.minerSilentMs / 60000)} minutes or more (it logs a status line every 30 s): is it running, and are these its log files?`,
          nowMs,
          Number.isFinite(minerWroteMs) ? { lastWrite: new Date(minerWroteMs).toISOString() } : {},
        );
      else this.warnings.clear('miner-silent', 'the miner writes again');
    }
    // PM2 is asked at the first check and every 10th after (5 minutes by default): a connect per check would be most of an idle collector's CPU
    if (this.opts.checkApps && !this.asking && this.checks++ % (this.opts.appsEveryChecks ?? 10) === 0) {
      this.asking = true;
      this.opts
        .checkApps()
        .then(
          (problem) => {
            if (problem) this.warnings.raise('pm2-apps', problem, nowMs);
            else this.warnings.clear('pm2-apps', 'PM2 runs the configured apps');
          },
          () => {},
        )
        .finally(() => {
          this.asking = false;
        });
    }
  }
}
