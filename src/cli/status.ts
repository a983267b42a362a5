/** `data-collector status`: what the running collector is doing, from its state file and lock (no IPC). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadState, readInstanceLock } from '../state';
import type { TrackerSnapshot } from '../assemble';
import { edgeLines } from '../common/lines';
import type { Command } from './commands';
import { configFromFlags } from './ingest';
import { parseFlags } from './usage';

const HELP = `Usage: data-collector status [--data-dir DIR] [--config FILE] [--json]

Shows what the collector of a data dir is doing, read from its state file and lock: whether it runs
(pid, host, since), each followed file with its committed offset against its size, the open tasks and
their age, and the last record written.
`;

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
}

export function statusReport(dataDir: string): StatusReport {
  const lock = readInstanceLock(dataDir);
  const hasState = fs.existsSync(path.join(dataDir, 'state', 'collector-state.json'));
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
  const snap = state?.open_tasks[0] as TrackerSnapshot | undefined;
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
  };
}

function formatStatus(s: StatusReport): string {
  const out: string[] = [];
  const c = s.collector;
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
  out.push(`open tasks: ${s.openTasks.count}${s.openTasks.oldestReceivedAt ? `, oldest received ${s.openTasks.oldestReceivedAt}` : ''}`);
  out.push(`last record: ${s.lastRecord ? `${s.lastRecord.id} ${s.lastRecord.time} ${s.lastRecord.outcome}` : 'none yet'}`);
  return `${out.join('\n')}\n`;
}

export const statusCommand: Command = {
  name: 'status',
  summary: "what the collector of a data dir is doing (from its state file and lock)",
  help: HELP,
  async run(args) {
    const { values } = parseFlags('status', args, { 'data-dir': { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } });
    const config = configFromFlags(values);
    const report = statusReport(config.dataDir);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 1)}\n` : formatStatus(report));
    return 0;
  },
};
