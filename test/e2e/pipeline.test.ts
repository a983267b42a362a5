/**
 * The pipeline under a real PM2 (its own PM2_HOME in a temp dir): an event whose handling throws is
 * quarantined and the daemon goes on; a collector stopped for longer than the feedback timeout links
 * the feedback written meanwhile; a worker whose clock runs hours ahead or behind gives the records
 * aligned clocks give; a misnamed app and a silent miner are said, in the log, `status` and `doctor`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPlan, type Plan } from '../fixtures/fake-miner/plan';
import { Pm2Harness } from '../harness/pm2-harness';
import { loadState } from '../../src/pipeline/state-shape';
import { caughtUp, collectorApp, END_OF_RUN_MS, expectOneRecordPerTask, recordsOf, until, writeConfig } from './collector';
import { scoreAttribution } from '../helpers/attribution-score';

jest.retryTimes(1, { logErrorsBeforeRetry: true });

const ROOT = path.resolve(__dirname, '../..');
const HOUR = 3_600_000;
const START = Date.UTC(2025, 10, 12, 21, 13, 20, 200);

function collectorLog(h: Pm2Harness): { out: string; err: string } {
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  return { out: read(path.join(h.logDir, 'data-collector-out.log')), err: read(path.join(h.logDir, 'data-collector-error.log')) };
}

function cli(h: Pm2Harness, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], { env: { ...process.env, PM2_HOME: h.home }, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

async function newDataDir(h: Pm2Harness): Promise<string> {
  const dataDir = path.join(h.root, 'data');
  fs.mkdirSync(dataDir);
  return dataDir;
}

describe('the pipeline under PM2', () => {
  let h: Pm2Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it('an event whose handling throws is quarantined, logged once with its position, and the daemon goes on (no restart)', async () => {
    const plan = buildPlan({ seed: 14, tasks: 24, clock: { scale: 25, startMs: START } });
    h = await Pm2Harness.create({ plan, mode: 'plain' });
    const dataDir = await newDataDir(h);
    await h.start([collectorApp(h, writeConfig(h, dataDir), { DC_TEST_FAULT_EVENT: 'feedback#3' })]);
    const run = await h.waitDone(120000);
    await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, END_OF_RUN_MS);
    await until('the collector to commit', () => caughtUp(dataDir), 30000);

    const collector = (await h.status()).find((s) => s.name === 'data-collector')!;
    expect(collector.status).toBe('online');
    expect(collector.restarts).toBe(0);
    const state = loadState(dataDir);
    expect(state.quarantine).toHaveLength(1);
    const q = state.quarantine[0]!;
    const minerLog = run.files.miner.out;
    expect(q.file).toBe(minerLog);
    // the span is the third feedback line of the miner's log, and nothing of its text is in the state
    const bytes = fs.readFileSync(minerLog);
    const line = bytes.subarray(q.offset, q.offset + q.length).toString('utf8');
    expect(line).toMatch(/Feedback received from \[\d+\]/);
    const before = bytes.subarray(0, q.offset).toString('utf8');
    expect(before.match(/Feedback received from \[/g)).toHaveLength(2);
    expect(JSON.stringify(state)).not.toContain(line.trim().slice(-40));

    const log = collectorLog(h);
    expect(log.err.match(/line quarantined/g)).toHaveLength(1);
    expect(log.err).toContain(`${minerLog}:${q.offset}`);
    expect(log.out).not.toMatch(/line quarantined/);

    // every task has its record; the one whose feedback was skipped has none, the others are faithful
    const logId = /\((.*)\)\s*$/.exec(line)![1]!;
    const hit = run.truth.find((t) => t.log_id === logId)!;
    const records = recordsOf(dataDir);
    expect(records).toHaveLength(run.truth.length);
    const skipped = records.find((r) => r.task.log_id === hit.log_id)!;
    expect(skipped.validator_feedback.score).toBeNull();
    expectOneRecordPerTask(
      run.truth.filter((t) => t !== hit),
      records.filter((r) => r !== skipped),
    );

    const status = cli(h, ['status', '--data-dir', dataDir]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/quarantined/);
    expect(status.out).toContain(`${minerLog}:${q.offset}`);
  }, 480000);

  it('stopped for 3x the feedback timeout while the miner works on: every feedback written meanwhile is linked', async () => {
    const plan = buildPlan({ seed: 15, tasks: 30, clock: { scale: 25, startMs: START } });
    h = await Pm2Harness.create({ plan, mode: 'plain' });
    const dataDir = await newDataDir(h);
    await h.start([collectorApp(h, writeConfig(h, dataDir, 1))]);
    await until('the first records', () => recordsOf(dataDir).length >= 3, 30000);
    await h.stopApp('data-collector');
    // 1 minute of feedback timeout is 2.4 s of the fakes' time at 25x: stopped 7.5 s, three timeouts
    await new Promise((r) => setTimeout(r, 7500));
    await h.startApp('data-collector');
    const run = await h.waitDone(120000);
    await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, END_OF_RUN_MS);
    await until('the collector to commit', () => caughtUp(dataDir), 30000);
    expectOneRecordPerTask(run.truth, recordsOf(dataDir));
  }, 480000);

  // a worker container in another zone: its loguru times run hours from the miner's
  for (const aheadMs of [HOUR, 3 * HOUR, -3 * HOUR]) {
    it(`a worker whose clock runs ${aheadMs / HOUR} h from the miner's: every record as with aligned clocks, the offset measured and kept`, async () => {
      // 10x, not 25x: a line read a few seconds late on a loaded machine is tens of seconds of the fakes' time, not minutes
      const plan: Plan = buildPlan({ seed: 16, tasks: 24, endpoints: 2, clock: { scale: 10, startMs: START } });
      plan.endpoints[1]!.clockAheadMs = aheadMs;
      h = await Pm2Harness.create({ plan, mode: 'plain' });
      const dataDir = await newDataDir(h);
      // the collector first, so it reads the workers' lines as they are written; PM2 does not know
      // the apps yet, so their files are named
      const cfg = writeConfig(h, dataDir);
      const named = JSON.parse(fs.readFileSync(cfg, 'utf8')) as { miner: { logs: string[] }; workers: { pm2App: string; logs: string[] }[] };
      const files = (app: string) => [h!.appFiles(app).out, h!.appFiles(app).err];
      named.miner.logs = files(plan.minerApp);
      for (const w of named.workers) w.logs = files(w.pm2App);
      fs.writeFileSync(cfg, JSON.stringify(named));
      await h.startApps([collectorApp(h, cfg)]);
      await until('the collector to start', () => collectorLog(h!).out.includes('collector started'), 30000);
      await h.start();
      const run = await h.waitDone(120000);
      await until('a record for every task', () => recordsOf(dataDir).length >= run.truth.length, END_OF_RUN_MS);
      await until('the collector to commit', () => caughtUp(dataDir), 30000);
      const records = recordsOf(dataDir);
      expectOneRecordPerTask(run.truth, records);
      // the skewed worker's own figures (upstream's ` Generation took`) are on its generations, as with aligned clocks
      const score = scoreAttribution(
        run.truth.filter((t) => t.endpoint_index === 1),
        records,
        // the daemon waits out every timeout: no task is cut off by the end of the input
        { feedbackTimeoutMs: 0, workerLogs: true },
      );
      const wt = score.fields.worker_time;
      expect(wt.compared).toBeGreaterThan(5);
      expect(wt.wrongAsserted).toBe(0);
      expect(wt.right).toBeGreaterThanOrEqual(0.9 * wt.compared);
      const offsets = loadState(dataDir).health.clock_offsets_ms;
      expect(Object.entries(offsets)).toEqual([[expect.stringContaining(plan.endpoints[1]!.workerApp), aheadMs]]);
      expect(collectorLog(h).err).toMatch(new RegExp(`the clock of ${plan.endpoints[1]!.workerApp}'s lines runs ${Math.abs(aheadMs / HOUR)} h ${aheadMs > 0 ? 'ahead' : 'behind'}`));
    }, 480000);
  }

  it('a misnamed miner app and a silent miner: warned in the log, shown by status, failed by doctor', async () => {
    const plan = buildPlan({ seed: 17, tasks: 6, clock: { scale: 25, startMs: START } });
    h = await Pm2Harness.create({ plan, mode: 'plain' });
    const dataDir = await newDataDir(h);
    const cfg = writeConfig(h, dataDir);
    const wrong = JSON.parse(fs.readFileSync(cfg, 'utf8')) as { miner: { pm2App: string } };
    wrong.miner.pm2App = `${plan.minerApp}-typo`;
    fs.writeFileSync(cfg, JSON.stringify(wrong));
    await h.start([collectorApp(h, cfg, { DC_HEALTH_EVERY_MS: '500', DC_MINER_SILENT_MS: '3000' })]);
    await until('the warnings', () => /has no app named/.test(collectorLog(h!).err) && /the miner has written nothing/.test(collectorLog(h!).err), 30000);
    const log = collectorLog(h);
    expect(log.err).toContain(`has no app named ${plan.minerApp}-typo; the apps it runs: `);
    expect(log.err).toContain(`${plan.minerApp} (online)`);
    expect(log.err).not.toMatch(/not reachable/);
    // said once, not at every check
    expect(log.err.match(/has no app named/g)).toHaveLength(1);
    await until('the warnings in the state', () => loadState(dataDir).health.warnings.length >= 2, 30000);
    const status = cli(h, ['status', '--data-dir', dataDir]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/has no app named/);
    const doctor = cli(h, ['doctor', '--config', cfg]);
    expect(doctor.code).toBe(1);
    expect(doctor.out).toMatch(new RegExp(`${plan.minerApp}-typo`));

    await h.stopApp('data-collector');
    expect(cli(h, ['status', '--data-dir', dataDir]).code).toBe(3);
  }, 120000);
});
