/**
 * `status` from hand-made state files: the miner's last line and its age (now, or as of the last
 * commit when no collector runs), warnings in force, clock offsets, quarantined lines, and the exit
 * codes (0 running, 3 not running or no data dir, 1 unreadable).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../src/common/clock';
import { acquireInstanceLock, stateFilePath, type InstanceLock } from '../../src/state';
import { emptyState, saveState, type CollectorState } from '../../src/pipeline/state-shape';
import { formatDuration, formatStatus, statusCommand, statusReport } from '../../src/cli/status';

/** The parts of `status --json` the tests read. */
interface StatusJson {
  files: unknown[];
  health: { miner_last_line: unknown; warnings: unknown[]; clock_offsets: unknown[]; quarantine: { count: number; last: { offset: number }[] } };
}

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const WORKERS = [{ name: 'w1', pm2App: 'gen-worker-1', endpoint: null, logs: [], outputDir: null }];

let root: string;
let dataDir: string;
let lock: InstanceLock | null = null;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-status-'));
  dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
});
afterEach(() => {
  lock?.release();
  lock = null;
  fs.rmSync(root, { recursive: true, force: true });
});

/** A state committed at T0 whose miner line was read 40 s before, carrying a time 2 s before that. */
function writeState(edit: (s: CollectorState) => void = () => undefined): void {
  const s = emptyState();
  s.health = {
    miner_last_line_read_ms: T0 - 40_000,
    miner_last_line_time_ms: T0 - 42_000,
    clock_offsets_ms: { 'gen-worker-1:error': 3 * 3600_000, 'gen-worker-9:out': -90_000 },
    warnings: [{ key: 'app-missing:miner-sn17', message: 'PM2 has no app named miner-sn17', since: new Date(T0 - 3600_000).toISOString() }],
  };
  s.quarantine = Array.from({ length: 7 }, (_, i) => ({
    file: '/logs/miner-out.log',
    offset: 1000 * i,
    length: 10 + i,
    sha256: 'a'.repeat(64),
    reason: `TypeError ${i}`,
    at: new Date(T0 - 1000).toISOString(),
  }));
  edit(s);
  saveState(dataDir, s, { clock: new ManualClock(T0) });
}

/** Runs the command; its exit code, stdout and stderr. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    const code = await statusCommand.run(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [12_400, '12 s'],
    [245_000, '4 min 5 s'],
    [3 * 3600_000, '3 h 0 min'],
    [-(3 * 3600_000 + 61_000), '3 h 1 min'],
    [49 * 3600_000, '2 d 1 h'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('status', () => {
  it('no data dir: exit 3, naming the dir (text and --json)', async () => {
    const missing = path.join(root, 'nope');
    const r = await run('--data-dir', missing);
    expect(r.code).toBe(3);
    expect(r.out).toContain(`the data dir ${missing} does not exist`);
    expect(fs.existsSync(missing)).toBe(false);
    const j = await run('--data-dir', missing, '--json');
    expect(j.code).toBe(3);
    expect(JSON.parse(j.out)).toMatchObject({ schema_version: 1, data_dir: missing, data_dir_exists: false, collector: null });
  });

  it('a data dir with no state and no lock: not running, exit 3', async () => {
    const r = await run('--data-dir', dataDir);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^collector: not running\n/);
    expect(r.out).toContain("no line of the miner's read yet");
    expect(r.out).toContain('quarantined lines: 0\n');
  });

  it('no collector running: the age is as of the last commit; warnings, clock offsets, quarantine; exit 3', async () => {
    writeState();
    const cfg = path.join(root, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ dataDir, workers: WORKERS }));
    const r = await run('--config', cfg);
    expect(r.code).toBe(3);
    expect(r.out).toContain(
      `miner's last line read 40 s before the last commit (${new Date(T0).toISOString()}; no collector runs, so that age is as of then) (its time ${new Date(T0 - 42_000).toISOString()})`,
    );
    expect(r.out).toContain(`warnings:  1 in force\n  since ${new Date(T0 - 3600_000).toISOString()}: PM2 has no app named miner-sn17\n`);
    expect(r.out).toContain("worker w1's clock runs 3 h 0 min ahead of the miner's; its times are corrected");
    expect(r.out).toContain("source gen-worker-9:out's clock runs 1 min 30 s behind the miner's; its times are corrected");
    expect(r.out).toContain('quarantined lines: 7 (skipped because handling them failed; please report them)');
    // the last five by position, not the first two
    for (let i = 2; i < 7; i++) expect(r.out).toContain(`/logs/miner-out.log:${1000 * i}+${10 + i} at `);
    expect(r.out).not.toContain('/logs/miner-out.log:1000+11');
    expect(r.out).not.toContain('/logs/miner-out.log:0+10');
  });

  it('a collector running (a live lock): the age is from now; exit 0', async () => {
    writeState();
    lock = acquireInstanceLock(dataDir);
    const s = statusReport(dataDir, { nowMs: T0 + 60_000 });
    expect(s.collector?.running).toBe(true);
    expect(s.health.minerLastLine).toEqual({
      readAt: new Date(T0 - 40_000).toISOString(),
      lineTime: new Date(T0 - 42_000).toISOString(),
      ageSeconds: 100,
      asOf: 'now',
    });
    expect(formatStatus(s)).toContain(`miner's last line read 1 min 40 s ago (its time ${new Date(T0 - 42_000).toISOString()})`);
    expect((await run('--data-dir', dataDir)).code).toBe(0);
  });

  it('--json carries the same facts and keeps the file keys', async () => {
    const log = path.join(root, 'miner-out.log');
    fs.writeFileSync(log, 'x'.repeat(100));
    writeState((s) => {
      s.sources['miner:out'] = { path: log, identity: null, offset: 60 };
    });
    const r = await run('--data-dir', dataDir, '--json');
    expect(r.code).toBe(3);
    // snake_case keys, as the records spell theirs (the in-process StatusReport keeps its names)
    const j = JSON.parse(r.out) as StatusJson;
    expect(j.files).toEqual([{ source: 'miner:out', path: log, offset: 60, size: 100, behind_bytes: 40, same_file: null }]);
    expect(j.health.miner_last_line).toMatchObject({ age_seconds: 40, as_of: 'last commit' });
    expect(j.health.warnings).toHaveLength(1);
    // the default config's worker group gen-worker-1 names it
    expect(j.health.clock_offsets).toContainEqual({ source: 'gen-worker-1:error', label: 'worker gen-worker-1', ahead_ms: 3 * 3600_000 });
    expect(j.health.quarantine.count).toBe(7);
    expect(j.health.quarantine.last.map((e) => e.offset)).toEqual([2000, 3000, 4000, 5000, 6000]);
  });

  it('an unreadable data dir or state: exit 1 with a clear message, no stack trace', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    const notDir = await run('--data-dir', file);
    expect(notDir.code).toBe(1);
    expect(notDir.out).toBe('');
    expect(notDir.err).toContain(`the data dir ${file} is not a directory`);
    expect(notDir.err).not.toMatch(/\n\s+at /);

    const under = await run('--data-dir', path.join(file, 'data'));
    expect(under.code).toBe(1);
    expect(under.err).toMatch(/ENOTDIR/);

    fs.mkdirSync(path.dirname(stateFilePath(dataDir)), { recursive: true });
    fs.writeFileSync(stateFilePath(dataDir), '{not json');
    const bad = await run('--data-dir', dataDir);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('state file is not valid');
    expect(bad.err).toContain(stateFilePath(dataDir));
    expect(bad.err).not.toMatch(/\n\s+at /);
  });
});
