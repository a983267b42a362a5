/** `data-collector status`: what the running collector is doing, from its state file and lock (no IPC). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInstanceLock, stateFilePath } from '../state';
import { loadState, type CollectorState } from '../pipeline/state-shape';
import type { WorkerGroup } from '../config';
import { CollectorError, fromFsError } from '../common/errors';
import { edgeLines } from '../common/lines';
import { parseFlags, type Command } from './command';
import { configFromFlags } from './flags';
import { formatDuration, jsonDocument, snakeKeys } from './format';

export { formatDuration };

const HELP = `Usage: data-collector status [--data-dir DIR] [--config FILE] [--json]

Shows what the collector of a data dir is doing, read from its state file and lock: whether it runs
(pid, host, since), each followed file with its committed offset against its size, how long ago the
miner's last line was read (and the time it carried), the warnings in force, the clock offsets
measured between the miner and its workers, the quarantined lines (skipped because handling them
failed), the open tasks and their age, and the last record written.

Exit status (as systemctl is-active):
  0  a collector runs for the data dir
  3  no collector runs for it (also when the data dir does not exist)
  1  the data dir or its state cannot be read (the message says why)
  2  a usage error
`;

/** Exit codes of `status`. */
export const STATUS_RUNNING = 0;
export const STATUS_ERROR = 1;
export const STATUS_NOT_RUNNING = 3;

/** How many quarantined lines `status` lists by position (the count covers all). */
const QUARANTINE_SHOWN = 5;

export interface StatusReport {
  dataDir: string;
  collector: { running: boolean; pid: number | null; host: string | null; since: string | null; note: string } | null;
  stateUpdatedAt: string | null;
  files: { source: string; path: string; offset: number; size: number | null; behindBytes: number | null; sameFile: boolean | null }[];
  openTasks: { count: number; oldestReceivedAt: string | null };
  /** Worker output directories: the newest file handed on (high-water mark), and linked PLYs waiting for their feedback. */
  outputDirs: { dir: string; handedOnUpTo: string | null }[];
  pendingPlys: number;
  lastRecord: { id: string; time: string; outcome: string } | null;
  /** False when the data dir does not exist (nothing has run there): no collector. */
  dataDirExists: boolean;
  health: StatusHealth;
}

export interface StatusHealth {
  /**
   * The miner's last line: when the collector read it, the time the line carried, and its age. With
   * no collector running the age is as of the last commit (`asOf`), since nothing newer is known.
   */
  minerLastLine: { readAt: string; lineTime: string | null; ageSeconds: number; asOf: 'now' | 'last commit' } | null;
  warnings: { key: string; message: string; since: string }[];
  /** Sources whose clock disagrees with the miner's: ms ahead (negative: behind); their times are corrected. */
  clockOffsets: { source: string; label: string; aheadMs: number }[];
  /** Lines skipped because handling them threw: the count, and the last few by position. */
  quarantine: { count: number; last: { file: string; offset: number; length: number; reason: string; at: string }[] };
}

export interface StatusOptions {
  /** The clock (tests). */
  nowMs?: number;
  /** The config's worker groups, to name the sources of clock offsets. */
  workers?: WorkerGroup[];
}

/** A source key as the operator knows it: `worker <name>` when it is a worker group's (by name or PM2 app). */
function sourceLabel(key: string, workers: WorkerGroup[]): string {
  const app = key.includes(':') ? key.slice(0, key.lastIndexOf(':')) : key;
  const w = workers.find((x) => x.name === key || x.name === app || (x.pm2App !== null && x.pm2App === app));
  return w ? `worker ${w.name}` : `source ${key}`;
}

function healthOf(state: CollectorState | null, running: boolean, nowMs: number, workers: WorkerGroup[]): StatusHealth {
  const h = state?.health;
  const read = h?.miner_last_line_read_ms ?? null;
  // with no collector running, nothing newer than the last commit is known
  const asOfMs = running || !state ? nowMs : Date.parse(state.updated_at);
  const q = state?.quarantine ?? [];
  return {
    minerLastLine:
      read === null
        ? null
        : {
            readAt: new Date(read).toISOString(),
            lineTime: h!.miner_last_line_time_ms === null ? null : new Date(h!.miner_last_line_time_ms).toISOString(),
            ageSeconds: Math.max(0, Math.round((asOfMs - read) / 1000)),
            asOf: running ? 'now' : 'last commit',
          },
    warnings: h?.warnings ?? [],
    clockOffsets: Object.entries(h?.clock_offsets_ms ?? {}).map(([source, aheadMs]) => ({ source, label: sourceLabel(source, workers), aheadMs })),
    quarantine: { count: q.length, last: q.slice(-QUARANTINE_SHOWN).map(({ file, offset, length, reason, at }) => ({ file, offset, length, reason, at })) },
  };
}

/** The data dir as a directory we can read; false when it does not exist. Throws (a CollectorError) otherwise. */
function readableDir(dataDir: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fromFsError(err, dataDir, 'reading the data dir');
  }
  if (!st.isDirectory()) throw new CollectorError('NOT_A_DIRECTORY', `the data dir ${dataDir} is not a directory`, dataDir, 'give the right --data-dir (or dataDir in the config)');
  try {
    fs.accessSync(dataDir, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw fromFsError(err, dataDir, 'reading the data dir');
  }
  return true;
}

/**
 * What `status` shows. A data dir that does not exist is a report with `dataDirExists: false`; one
 * that cannot be read (or an unreadable state file) throws a CollectorError.
 */
export function statusReport(dataDir: string, options: StatusOptions = {}): StatusReport {
  const nowMs = options.nowMs ?? Date.now();
  const exists = readableDir(dataDir);
  const lock = exists ? readInstanceLock(dataDir) : null;
  const hasState = exists && fs.existsSync(stateFilePath(dataDir));
  const state = hasState ? loadState(dataDir) : null;
  const files = Object.entries(state?.sources ?? {}).map(([source, cp]) => {
    let size: number | null = null;
    let sameFile: boolean | null = null;
    try {
      const st = fs.statSync(cp.path);
      size = st.size;
      sameFile = cp.identity ? cp.identity.ino === st.ino && cp.identity.dev === st.dev : null;
    } catch {
      /* missing for now */
    }
    return { source, path: cp.path, offset: cp.offset, size, behindBytes: size !== null && sameFile !== false ? Math.max(0, size - cp.offset) : null, sameFile };
  });
  const snap = state?.open_tasks[0];
  // finished tasks waiting for their output file are still open
  const tasks = [...(snap?.tasks ?? []), ...(snap?.closing ?? [])];
  const oldest = tasks.length ? Math.min(...tasks.map((t) => t.receivedMs)) : null;
  let lastRecord: StatusReport['lastRecord'] = null;
  const line = edgeLines(path.join(dataDir, 'generation_history.jsonl'))?.last;
  if (line?.length) {
    try {
      const r = JSON.parse(line.toString('utf8')) as { metadata: { generation_id: string; timestamp: string }; outcome: string };
      lastRecord = { id: r.metadata.generation_id, time: r.metadata.timestamp, outcome: r.outcome };
    } catch {
      /* not a record: nothing to show (the store moves a torn tail aside at its next append) */
    }
  }
  return {
    dataDir,
    collector: lock
      ? { running: lock.alive, pid: lock.holder?.pid ?? null, host: lock.holder?.host ?? null, since: lock.holder?.started_at ?? null, note: lock.reason }
      : null,
    stateUpdatedAt: state?.updated_at ?? null,
    files,
    openTasks: { count: tasks.length, oldestReceivedAt: oldest === null ? null : new Date(oldest).toISOString() },
    outputDirs: Object.entries(state?.output_dirs ?? {}).map(([dir, m]) => {
      const newest = Math.max(m.high_water_mtime_ms, ...Object.values(m.recent));
      return { dir, handedOnUpTo: newest > 0 ? new Date(newest).toISOString() : null };
    }),
    pendingPlys: state?.pending_blobs.length ?? 0,
    lastRecord,
    dataDirExists: exists,
    health: healthOf(state, lock?.alive ?? false, nowMs, options.workers ?? []),
  };
}

function healthLines(s: StatusReport): string[] {
  const out: string[] = [];
  const h = s.health;
  const m = h.minerLastLine;
  const its = m?.lineTime ? ` (its time ${m.lineTime})` : '';
  out.push(
    !m
      ? "miner:     no line of the miner's read yet"
      : m.asOf === 'now'
        ? `miner:     miner's last line read ${formatDuration(m.ageSeconds * 1000)} ago${its}`
        : `miner:     miner's last line read ${formatDuration(m.ageSeconds * 1000)} before the last commit (${s.stateUpdatedAt}; no collector runs, so that age is as of then)${its}`,
  );
  out.push(`warnings:  ${h.warnings.length ? `${h.warnings.length} in force` : 'none'}`);
  for (const w of h.warnings) out.push(`  since ${w.since}: ${w.message}`);
  for (const o of h.clockOffsets)
    out.push(
      Math.abs(o.aheadMs) < 1000
        ? `clock:     ${o.label}'s clock agrees with the miner's`
        : `clock:     ${o.label}'s clock runs ${formatDuration(o.aheadMs)} ${o.aheadMs > 0 ? 'ahead of' : 'behind'} the miner's; its times are corrected`,
    );
  const q = h.quarantine;
  out.push(`quarantined lines: ${q.count}${q.count ? ' (skipped because handling them failed; please report them)' : ''}`);
  if (q.count > q.last.length) out.push(`  ... the last ${q.last.length}:`);
  for (const e of q.last) out.push(`  ${e.file}:${e.offset}+${e.length} at ${e.at}: ${e.reason}`);
  return out;
}

/** The text `status` prints. */
export function formatStatus(s: StatusReport): string {
  const out: string[] = [];
  const c = s.collector;
  if (!s.dataDirExists) return `collector: not running (the data dir ${s.dataDir} does not exist: no collector has run there)
`;
  out.push(
    c?.running
      ? `collector: running, pid ${c.pid} on ${c.host} since ${c.since}`
      : `collector: not running${c ? ` (stale lock: ${c.note})` : ''}`,
  );
  out.push(`data dir:  ${s.dataDir}`, `state:     ${s.stateUpdatedAt ? `committed ${s.stateUpdatedAt}` : 'none yet'}`, 'files:');
  if (!s.files.length) out.push('  (none yet)');
  for (const f of s.files) {
    const where = f.size === null ? 'missing now' : f.sameFile === false ? 'rotated since (resumes in the rotated copy)' : `${f.offset} of ${f.size} bytes${f.behindBytes ? `, ${f.behindBytes} behind` : ''}`;
    out.push(`  ${f.path}: ${where}`);
  }
  for (const d of s.outputDirs) out.push(`output dir ${d.dir}: files handed on up to ${d.handedOnUpTo ?? '(none yet)'}`);
  if (s.outputDirs.length) out.push(`PLYs waiting for their feedback: ${s.pendingPlys}`);
  out.push(...healthLines(s));
  out.push(`open tasks: ${s.openTasks.count}${s.openTasks.oldestReceivedAt ? `, oldest received ${s.openTasks.oldestReceivedAt}` : ''}`);
  out.push(`last record: ${s.lastRecord ? `${s.lastRecord.id} ${s.lastRecord.time} ${s.lastRecord.outcome}` : 'none yet'}`);
  return `${out.join('\n')}\n`;
}

/** What `status --json` prints: the report with snake_case keys (the in-process report keeps its names). */
export function statusJson(s: StatusReport): object {
  return snakeKeys(s) as object;
}

/** 0 when a collector runs for the data dir, 3 when none does (as `systemctl is-active`). */
export function statusExitCode(s: StatusReport): number {
  return s.collector?.running ? STATUS_RUNNING : STATUS_NOT_RUNNING;
}

export const statusCommand: Command = {
  help: HELP,
  async run(args) {
    const { values } = parseFlags('status', args, { 'data-dir': { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } });
    let report: StatusReport;
    try {
      const config = configFromFlags(values);
      report = statusReport(config.dataDir, { workers: config.workers });
    } catch (err) {
      // an unreadable data dir or state: the reason and its fix, never a stack trace
      const text = err instanceof CollectorError ? err.describe() : err instanceof Error ? err.message : String(err);
      process.stderr.write(`data-collector status: ${text}\n`);
      return STATUS_ERROR;
    }
    process.stdout.write(values.json ? jsonDocument(statusJson(report), 1) : formatStatus(report));
    return statusExitCode(report);
  },
};
