/**
 * End to end under a real PM2 (its own PM2_HOME in a temp dir): the fake miner and workers run as
 * PM2 apps, the collector runs from ecosystem.config.js in the same daemon and finds their log files
 * by asking PM2. The test stops and starts the miner, flushes its logs, rotates them the way
 * pm2-logrotate does, and restarts the collector mid-stream; at the end the data dir holds exactly
 * one correct record per task of the ground truth.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPlan } from '../fixtures/fake-miner/plan';
import { Pm2Harness } from '../harness/pm2-harness';
import { expectPlysLinked } from '../helpers/truth-match';
import { statusReport } from '../../src/cli/status';
import { loadState } from '../../src/pipeline/state-shape';
import type { GenerationRecord } from '../../src/schema';
import { caughtUp, collectorApp, expectOneRecordPerTask, outputDirOf, recordsOf, until, writeConfig } from './collector';

// A failure is retried once with its errors logged: real PM2, real processes and timing on a shared 2-core machine.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

/** The collector under PM2 with PM2's immediate restart (no back-off), as after any crash; returns its data dir. */
async function startRestartingCollector(h: Pm2Harness): Promise<string> {
  const dataDir = path.join(h.root, 'data');
  fs.mkdirSync(dataDir);
  // 250x clock: feedback can come 70 virtual seconds after the generation (cooldowns)
  const app = collectorApp(h, writeConfig(h, dataDir, 3));
  delete (app as { exp_backoff_restart_delay?: number }).exp_backoff_restart_delay;
  await h.start([app]);
  return dataDir;
}

/** SIGKILLs the running collector `count` times, pausing min..min+spread ms (seeded) between tries. */
async function killAtRandom(h: Pm2Harness, count: number, seed: number, minMs: number, spreadMs: number): Promise<number> {
  let kills = 0;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  while (kills < count) {
    await new Promise((r) => setTimeout(r, minMs + rand() * spreadMs));
    const pid = (await h.status()).find((s) => s.name === 'data-collector' && s.status === 'online')?.pid;
    if (!pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
      kills++;
    } catch {
      /* it was restarting */
    }
  }
  return kills;
}

describe('the collector under PM2', () => {
  let h: Pm2Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it('survives a miner stop/start, pm2 flush, pm2-logrotate and its own restart: one correct record per task', async () => {
    const plan = buildPlan({ seed: 6, tasks: 40, everyCase: true, clock: { scale: 25, startMs: Date.UTC(2025, 10, 12, 21, 13, 20, 200) } });
    h = await Pm2Harness.create({ plan, mode: 'plain' });
    const dataDir = path.join(h.root, 'data');
    fs.mkdirSync(dataDir);
    await h.start([collectorApp(h, writeConfig(h, dataDir))]);
    const miner = plan.minerApp;

    await until('the first records', () => recordsOf(dataDir).length >= 3, 30000);
    // the miner stops (its open tasks are cut off), the collector catches up, the logs are flushed
    await h.stopApp(miner);
    await until('the collector to catch up', () => caughtUp(dataDir), 30000);
    await h.flush(miner);
    await h.startApp(miner);
    await until('more records', () => recordsOf(dataDir).length >= 8, 30000);
    // pm2-logrotate: copy, then truncate; the collector finishes the copy from where it was. (Lines
    // written between the copy and the truncate are lost to any reader: the miner is stopped for it.)
    await h.stopApp(miner);
    h.rotate(miner, 'out');
    await h.startApp(miner);
    await until('more records after the rotation', () => recordsOf(dataDir).length >= 12, 30000);
    await h.restartApp('data-collector');
    const run = await h.waitDone(120000);
    // no-feedback tasks at the very end are finished by the feedback timeout (60 s)
    await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, 90000);
    await until('the collector to commit', () => caughtUp(dataDir), 30000);
    expectOneRecordPerTask(run.truth, recordsOf(dataDir));
    const pm2Logs = fs.readFileSync(path.join(h.logDir, 'data-collector-out.log'), 'utf8') + fs.readFileSync(path.join(h.logDir, 'data-collector-error.log'), 'utf8');
    expect(pm2Logs).toMatch(/log files from the PM2 daemon/);
    expect(pm2Logs).not.toMatch(new RegExp(plan.wallet.name));
  }, 300000);
});

describe('the collector SIGKILLed at random moments', () => {
  let h: Pm2Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it('25 kills while the miner runs 200 tasks: exactly one valid record per task, no duplicate, no corrupt line', async () => {
    h = await Pm2Harness.create({ plan: buildPlan({ seed: 25, tasks: 200, everyCase: true }), mode: 'plain' });
    const dataDir = await startRestartingCollector(h);
    const kills = await killAtRandom(h, 25, 42, 150, 600);
    const run = await h.waitDone(180000);
    await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, 120000);
    await until('the collector to commit', () => caughtUp(dataDir), 30000);
    const text = fs.readFileSync(path.join(dataDir, 'generation_history.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    const keys = lines.map((l) => {
      const r = JSON.parse(l) as GenerationRecord; // every line is whole and valid
      return `${r.metadata.generation_id}#${r.provenance.revision}`;
    });
    expect(new Set(keys).size).toBe(keys.length);
    expect(kills).toBe(25);
    expectOneRecordPerTask(run.truth, recordsOf(dataDir));
  }, 480000);
});

describe('the collector watching the workers\' output directories under PM2', () => {
  let h: Pm2Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it('links every PLY to one generation across a SIGKILL and a stop; keeps the accepted ones; the state ends with no pending blob', async () => {
    const plan = buildPlan({ seed: 9, tasks: 24, plyOutput: true, clock: { scale: 25, startMs: Date.UTC(2025, 10, 12, 21, 13, 20, 200) } });
    h = await Pm2Harness.create({ plan, mode: 'plain' });
    const dataDir = path.join(h.root, 'data');
    fs.mkdirSync(dataDir);
    await h.start([collectorApp(h, writeConfig(h, dataDir))]);
    await until('the first records', () => recordsOf(dataDir).length >= 2, 30000);
    // killed: PM2 restarts it at once; its state says which files it had handed on
    const pid = (await h.status()).find((s) => s.name === 'data-collector' && s.status === 'online')!.pid!;
    // PM2 starts it with the node flags of ecosystem.config.js (the bench measures it so); info goes to stdout
    expect(fs.readFileSync(path.join(h.logDir, 'data-collector-out.log'), 'utf8')).toMatch(/ INFO {2}collector started .*nodeFlags=--max-semi-space-size=2/);
    process.kill(pid, 'SIGKILL');
    await until('more records', () => recordsOf(dataDir).length >= 6, 30000);
    // stopped for a while: the workers write files nobody watches
    await h.stopApp('data-collector');
    await new Promise((r) => setTimeout(r, 3000));
    await h.startApp('data-collector');
    const run = await h.waitDone(120000);
    await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, 90000);
    await until('the collector to commit', () => caughtUp(dataDir), 30000);
    const records = recordsOf(dataDir);
    expectOneRecordPerTask(run.truth, records);

    const withPly = run.truth.filter((t) => t.ply_path !== null);
    expect(withPly.length).toBeGreaterThan(6);
    const hashes = new Map(withPly.map((t) => [t.ply_path!, createHash('sha256').update(fs.readFileSync(t.ply_path!)).digest('hex')]));
    const { kept, exact } = expectPlysLinked(run.truth, records, hashes, dataDir);
    expect(kept).toBeGreaterThan(0);
    // live, a file is seen after its generation's end lines: with two endpoints more links are guesses than in ingest
    expect(exact).toBeGreaterThanOrEqual(withPly.length / 4);
    const state = loadState(dataDir);
    expect(state.pending_blobs).toEqual([]);
    expect(Object.keys(state.output_dirs).sort()).toEqual(plan.endpoints.map((e) => outputDirOf(h!, e.workerApp)).sort());
    const status = statusReport(dataDir);
    expect(status.pendingPlys).toBe(0);
    expect(status.outputDirs.map((d) => d.dir).sort()).toEqual(Object.keys(state.output_dirs).sort());
    for (const d of status.outputDirs) expect(d.handedOnUpTo).toMatch(/^2025-11-12T21:/); // the fakes' virtual time
  }, 300000);
});

describe('the collector SIGKILLed at random moments while it links PLY files', () => {
  let h: Pm2Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it('12 kills over 60 tasks with PLY outputs: each file linked once, each accepted one kept once, nothing half-written', async () => {
    h = await Pm2Harness.create({ plan: buildPlan({ seed: 31, tasks: 60, everyCase: true, plyOutput: true }), mode: 'plain' });
    const dataDir = await startRestartingCollector(h);
    expect(await killAtRandom(h, 12, 7, 200, 700)).toBe(12);
    const run = await h.waitDone(180000);
    await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, 240000);
    await until('the collector to commit', () => caughtUp(dataDir), 30000);
    const records = recordsOf(dataDir);
    expectOneRecordPerTask(run.truth, records);
    const withPly = run.truth.filter((t) => t.ply_path !== null);
    const hashes = new Map(withPly.map((t) => [t.ply_path!, createHash('sha256').update(fs.readFileSync(t.ply_path!)).digest('hex')]));
    const { kept } = expectPlysLinked(run.truth, records, hashes, dataDir);
    expect(kept).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(dataDir, 'ply_files')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(loadState(dataDir).pending_blobs).toEqual([]);
    // no event was skipped by the bulkhead (a throw would cost its task an end)
    expect(loadState(dataDir).quarantine).toEqual([]);
  }, 480000);
});
