import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../src/common/clock';
import { CollectorError } from '../../src/common/errors';
import { type Migration, stateFilePath } from '../../src/state';
import { type CollectorState, MIGRATIONS, STATE_VERSION, emptyState, loadState, saveState } from '../../src/pipeline/state-shape';
import { BIG_STATE_EPOCH_MS, makeBigState } from './helpers/big-state';
import { exited, killAllStarted, killHard, sleep, startNode, track, waitForLine } from './helpers/procs';

let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-state-'));
});
afterEach(async () => {
  await killAllStarted();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function writeRaw(text: string): string {
  const file = stateFilePath(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function caught(fn: () => unknown): CollectorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CollectorError) return err;
    throw err;
  }
  throw new Error('expected a CollectorError');
}

function sample(): CollectorState {
  const s = emptyState(new ManualClock());
  s.sources['miner:out'] = { path: '/logs/miner-out.log', identity: { dev: 1, ino: 2, fingerprint: 'ab', fingerprintBytes: 2 }, offset: 10 };
  s.open_tasks = [makeBigState(1, 2).open_tasks[0]!];
  s.pending_blobs = [{ generation_id: 'g1', kind: 'ply', source_path: '/out/a.ply', sha256: 'a'.repeat(64), size: 5, mtime_ms: 1.5 }];
  s.output_dirs['/out'] = { high_water_mtime_ms: 1700000000000.25, recent: { 'a.ply': 1700000000001.5 } };
  s.identity = { miner_uid: 7, network: 'testnet' };
  s.counters = { lines_unmatched: 3 };
  s.quarantine = [{ file: '/logs/x.log', offset: 0, length: 9, sha256: 'b'.repeat(64), reason: 'TypeError', at: '2026-01-02T03:04:05.000Z' }];
  s.health.miner_last_line_read_ms = 1700000000000;
  s.health.clock_offsets_ms['worker:w:w:out:/logs/w-out.log'] = 3 * 3600000;
  return s;
}

describe('state file', () => {
  test('round trip: what saveState wrote, loadState returns', () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 4, 5, 6, 7));
    const input = sample();
    const written = saveState(dataDir, input, { clock });
    expect(written.updated_at).toBe('2026-02-03T04:05:06.007Z');
    expect(input.updated_at).not.toBe(written.updated_at); // the caller's object is not changed
    expect(loadState(dataDir)).toEqual(written);
    expect(fs.statSync(stateFilePath(dataDir)).mode & 0o777).toBe(0o640);
  });

  test('a missing file is a fresh, empty state', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2));
    expect(loadState(dataDir, { clock })).toEqual({ ...emptyState(clock), updated_at: '2026-01-02T00:00:00.000Z' });
    expect(fs.existsSync(path.join(dataDir, 'state'))).toBe(false); // loading never writes
  });

  test('a newer version is refused, naming the file, its version, the known versions and the fix', () => {
    const file = writeRaw(JSON.stringify({ ...emptyState(), version: STATE_VERSION + 1, new_field: 1 }));
    const err = caught(() => loadState(dataDir));
    expect(err.code).toBe('STATE_VERSION');
    expect(err.path).toBe(file);
    expect(err.describe()).toContain(file);
    expect(err.message).toContain(`version ${STATE_VERSION + 1}`);
    expect(err.message).toMatch(new RegExp(`knows \\((\\d+, )*${STATE_VERSION}\\)`));
    expect(err.hint).toMatch(/upgrade the collector/);
  });

  test('an older version with no migration is refused with STATE_VERSION', () => {
    writeRaw(JSON.stringify({ version: 0 }));
    expect(caught(() => loadState(dataDir)).code).toBe('STATE_VERSION');
  });

  test.each([
    ['not JSON', '{"version": 1, "sources": {'],
    ['empty', ''],
    ['an array', '[]'],
    ['no version', '{}'],
    ['a string version', '{"version": "1"}'],
    ['a bad field', JSON.stringify({ ...emptyState(), counters: { x: 'many' } })],
    ['an unknown field', JSON.stringify({ ...emptyState(), surprise: true })],
    ['a bad checkpoint', JSON.stringify({ ...emptyState(), sources: { a: { path: 'x', identity: null, offset: -1 } } })],
  ])('%s is refused with STATE_INVALID and a hint to move it aside', (_what, text) => {
    const file = writeRaw(text);
    const err = caught(() => loadState(dataDir));
    expect(err.code).toBe('STATE_INVALID');
    expect(err.path).toBe(file);
    expect(err.hint).toMatch(/move the file aside/);
    expect(err.hint).toMatch(/re-reads the logs from the beginning.*drops records it already has/);
    expect(fs.readFileSync(file, 'utf8')).toBe(text); // never silently reset
  });

  test('the field that is wrong is named', () => {
    writeRaw(JSON.stringify({ ...emptyState(), counters: { x: 'many' } }));
    expect(caught(() => loadState(dataDir)).message).toContain('counters.x');
  });

  test('older versions are migrated in order, one version at a time', () => {
    const calls: number[] = [];
    const migrations: Record<number, Migration> = {
      ...MIGRATIONS,
      [-1]: (old) => {
        calls.push(-1);
        return { ...old, version: 0, tasks: old.tasks ?? [] };
      },
      // A test-only v0: `checkpoints` and `tasks` became `sources` and `open_tasks` in v1.
      0: (old) => {
        calls.push(0);
        const { checkpoints, tasks, ...rest } = old;
        return { ...emptyState(), ...rest, version: 1, sources: checkpoints, open_tasks: tasks };
      },
    };
    const checkpoints = { 'miner:out': { path: '/l', identity: null, offset: 5 } };
    writeRaw(JSON.stringify({ version: -1, updated_at: '2025-01-01T00:00:00.000Z', checkpoints }));
    const state = loadState(dataDir, { migrations });
    expect(calls).toEqual([-1, 0]);
    expect(state.version).toBe(STATE_VERSION);
    expect(state.sources).toEqual(checkpoints);
    expect(state.open_tasks).toEqual([]);
    expect(state.updated_at).toBe('2025-01-01T00:00:00.000Z');
  });

  test('version 1 (an output dir mark with the names at it) migrates to version 2 (names above it, with mtimes)', () => {
    const { health: _, ...v2shape } = emptyState();
    const v1 = { ...v2shape, version: 1, output_dirs: { '/out': { high_water_mtime_ms: 5000, names_at_mark: ['a.ply'] } } };
    writeRaw(JSON.stringify(v1));
    const state = loadState(dataDir);
    expect(state.version).toBe(STATE_VERSION);
    // files at the mark count as handed on under the new rule (at or below the mark)
    expect(state.output_dirs).toEqual({ '/out': { high_water_mtime_ms: 5000, recent: {} } });
  });

  test('version 2 gains an empty health section (version 3)', () => {
    const { health: _, ...v2shape } = emptyState();
    writeRaw(JSON.stringify({ ...v2shape, version: 2, sources: { 'miner:out': { path: '/l', identity: null, offset: 5 } } }));
    const state = loadState(dataDir);
    expect(state.version).toBe(3);
    expect(state.health).toEqual({ miner_last_line_read_ms: null, miner_last_line_time_ms: null, clock_offsets_ms: {}, warnings: [] });
    expect(state.sources['miner:out']!.offset).toBe(5);
  });

  test('a migration that skips a version is refused', () => {
    writeRaw(JSON.stringify({ version: -1 }));
    const err = caught(() => loadState(dataDir, { migrations: { [-1]: (old) => ({ ...old, version: 1 }) } }));
    expect(err.code).toBe('STATE_INVALID');
    expect(err.message).toContain('migration from version -1 produced version 1');
  });

  test('a migration that throws gives STATE_INVALID, not a crash', () => {
    writeRaw(JSON.stringify({ version: 0 }));
    const err = caught(() =>
      loadState(dataDir, {
        migrations: {
          0: () => {
            throw new Error('no tasks field');
          },
        },
      }),
    );
    expect(err.code).toBe('STATE_INVALID');
    expect(err.message).toContain('migration from version 0 failed (no tasks field)');
  });

  test('the version message lists every version this build can read', () => {
    writeRaw(JSON.stringify({ version: 5 }));
    const err = caught(() => loadState(dataDir, { migrations: { 0: (o) => ({ ...o, version: 1 }) } }));
    expect(err.message).toContain(`knows (0, ${STATE_VERSION})`);
  });

  test('saveState refuses an invalid state and leaves the previous file alone', () => {
    const good = saveState(dataDir, sample());
    const before = fs.readFileSync(stateFilePath(dataDir));
    const bad = { ...good, counters: { x: Number.NaN } };
    const err = caught(() => saveState(dataDir, bad));
    expect(err.code).toBe('STATE_INVALID');
    expect(err.message).toContain('counters.x');
    expect(fs.readFileSync(stateFilePath(dataDir))).toEqual(before);
  });

  test('stray *.tmp files do not disturb loading, and a save tidies those of dead writers', async () => {
    const good = saveState(dataDir, sample());
    const dead = track(spawn('true')); // a finished process gives a dead pid
    await exited(dead);
    const strayDead = `${stateFilePath(dataDir)}.${dead.pid}.tmp`;
    const strayLive = `${stateFilePath(dataDir)}.1.tmp`; // pid 1 is alive: its tmp must stay
    fs.writeFileSync(strayDead, '{"version": 1, "half');
    fs.writeFileSync(strayLive, 'garbage');
    expect(loadState(dataDir)).toEqual(good);
    jest.isolateModules(() => {
      // A fresh module instance, as in a restarted daemon: the sweep runs on its first save.
      const fresh = require('../../src/pipeline/state-shape') as typeof import('../../src/pipeline/state-shape');
      fresh.saveState(dataDir, good);
    });
    expect(fs.existsSync(strayDead)).toBe(false);
    expect(fs.existsSync(strayLive)).toBe(true);
  });

  test('the file is readable JSON for operators (jq)', () => {
    saveState(dataDir, sample());
    const text = fs.readFileSync(stateFilePath(dataDir), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text).version).toBe(STATE_VERSION);
  });
});

describe('state file under SIGKILL', () => {
  test('killing a writer at random moments, 30 times, always leaves a state it wrote', async () => {
    const kills = 30;
    let lastSeq = -1;
    let midWrite = 0;
    const file = stateFilePath(dataDir);
    for (let i = 0; i < kills; i++) {
      const child = startNode('state-writer', [dataDir]);
      await waitForLine(child, 'READY');
      await sleep(Math.random() * 60);
      await killHard(child);
      const tmps = fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('.tmp'));
      if (tmps.length > 0) midWrite++;

      const state = loadState(dataDir);
      const seq = state.counters.seq!;
      expect(seq).toBeGreaterThan(lastSeq);
      expect(state).toEqual({ ...makeBigState(seq), updated_at: new Date(BIG_STATE_EPOCH_MS + seq).toISOString() });
      lastSeq = seq;
    }
    const size = fs.statSync(file).size;
    console.log(`state crash test: ${kills} SIGKILLs, ${midWrite} left a *.tmp behind (killed mid-write), ${lastSeq + 1} states written, state file ${(size / 1e6).toFixed(2)} MB`);
    expect(midWrite).toBeGreaterThan(0); // the kills did land inside writes
  });

  test('save time of a large state', () => {
    const state = makeBigState(1);
    const size = JSON.stringify(state, null, 1).length;
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = process.hrtime.bigint();
      saveState(dataDir, state);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const t0 = process.hrtime.bigint();
    loadState(dataDir);
    const load = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`saveState ${(size / 1e6).toFixed(2)} MB: median ${times[7]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[14]!.toFixed(1)}); loadState ${load.toFixed(1)} ms`);
  });
});
