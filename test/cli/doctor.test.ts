/**
 * `doctor` against real problems: a data dir under a regular file, a file size limit, a data dir
 * not there yet (never created by doctor), quarantined lines, no collector and a live one, and in a
 * real PM2: a PM2 app that does not exist (a misnamed miner), a stopped miner app, a miner app with a
 * log_date_format, and the collector's app stopped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fixedPlan } from '../fixtures/fake-miner/plan';
import { Pm2Harness } from '../harness/pm2-harness';
import { runChecks, zoneMismatch, type Check } from '../../src/cli/doctor';
import { configFromFlags } from '../../src/cli/flags';
import { checkPm2Apps, defaultConfig, type Config } from '../../src/config';
import { configuredStreams } from '../../src/pipeline/inputs';
import { readInstanceLock } from '../../src/state';
import { emptyState, saveState } from '../../src/pipeline/state-shape';
import type { Logger } from '../../src/common/logger';

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');

interface Report {
  ok: boolean;
  checks: Check[];
}

function doctor(args: string[], env: NodeJS.ProcessEnv = process.env, shellPrefix = ''): { code: number; report: Report } {
  const cmd = `${shellPrefix}exec "${process.execPath}" "${CLI}" doctor --json ${args.map((a) => `"${a}"`).join(' ')}`;
  const r = spawnSync('bash', ['-c', cmd], { env, encoding: 'utf8' });
  return { code: r.status ?? -1, report: JSON.parse(r.stdout) as Report };
}

/** `status` of a data dir: its exit code. */
function status(dataDir: string, env: NodeJS.ProcessEnv = process.env): { code: number; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'status', '--data-dir', dataDir], { env, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout };
}

function check(report: Report, name: string): Check {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in ${JSON.stringify(report.checks.map((x) => x.name))}`);
  return c;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dc-doctor-'));
}

describe('doctor', () => {
  it('a data dir under a regular file: the problem and its fix, exit 1', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const logs = path.join(dir, 'miner-out.log');
    fs.writeFileSync(logs, '');
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ dataDir: path.join(dir, 'file', 'data'), miner: { logs: [logs] }, workers: [] }));
    const { code, report } = doctor(['--config', cfg]);
    expect(code).toBe(1);
    const c = check(report, 'data dir writable');
    expect(c.ok).toBe(false);
    expect(c.fix).toMatch(/regular file/);
  });

  it("workers' output directories: a missing one, one whose files the name pattern misses, and a good one", () => {
    const dir = tmp();
    const logs = path.join(dir, 'miner-out.log');
    fs.writeFileSync(logs, '');
    for (const d of ['wrong', 'good']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'wrong', 'gen.splat'), 'x');
    fs.writeFileSync(path.join(dir, 'good', 'gen.ply'), 'x');
    const cfg = path.join(dir, 'c.json');
    const worker = (name: string, outputDir: string) => ({ name, pm2App: null, logs: [logs], outputDir });
    fs.writeFileSync(
      cfg,
      JSON.stringify({ dataDir: path.join(dir, 'data'), miner: { logs: [logs] }, workers: [worker('w1', 'missing'), worker('w2', 'wrong'), worker('w3', 'good')] }),
    );
    const { code, report } = doctor(['--config', cfg]);
    expect(code).toBe(1);
    expect(check(report, 'output dir of w1')).toMatchObject({ ok: false, detail: expect.stringMatching(/does not exist/) as unknown });
    expect(check(report, 'output dir of w2')).toMatchObject({ ok: false, fix: expect.stringMatching(/namePattern/) as unknown });
    expect(check(report, 'output dir of w3')).toMatchObject({ ok: true, detail: expect.stringMatching(/1 file\(s\) match/) as unknown });
  });

  it('a file size limit that stops writes (ulimit -f): reported with the ulimit fix', () => {
    const dir = tmp();
    const logs = path.join(dir, 'miner-out.log');
    fs.writeFileSync(logs, '');
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ dataDir: path.join(dir, 'data'), miner: { logs: [logs] }, workers: [] }));
    const { code, report } = doctor(['--config', cfg], process.env, 'ulimit -f 8; ');
    expect(code).toBe(1);
    const c = check(report, 'data dir writable');
    expect(c.ok).toBe(false);
    expect(c.detail).toMatch(/EFBIG/);
    expect(c.fix).toMatch(/ulimit/);
  });

  it('a data dir not there yet: tested through its nearest parent and never created; no collector runs: a problem with its fix', () => {
    const dir = tmp();
    const logs = path.join(dir, 'miner-out.log');
    fs.writeFileSync(logs, '');
    const dataDir = path.join(dir, 'a', 'b', 'data');
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ dataDir, miner: { logs: [logs] }, workers: [] }));
    const { code, report } = doctor(['--config', cfg]);
    expect(check(report, 'data dir writable')).toMatchObject({ ok: true, detail: expect.stringContaining(`${dataDir} does not exist yet; ${dir} is writable`) as unknown });
    expect(fs.existsSync(path.join(dir, 'a'))).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['c.json', 'miner-out.log']); // no probe left behind
    const c = check(report, 'collector');
    expect(c).toMatchObject({ ok: false, detail: expect.stringContaining(`no collector runs for ${dataDir}`) as unknown });
    expect(c.fix).toMatch(/pm2 start ecosystem\.config\.js/);
    expect(report.checks.filter((x) => !x.ok).map((x) => x.name)).toEqual(['collector']);
    expect(code).toBe(1);
  });

  it('quarantined lines: a warning naming their positions, "report it; the lines were skipped"', () => {
    const dir = tmp();
    const logs = path.join(dir, 'miner-out.log');
    fs.writeFileSync(logs, '');
    const dataDir = path.join(dir, 'data');
    const state = emptyState();
    state.quarantine = [0, 1, 2, 3, 4, 5].map((i) => ({
      file: logs,
      offset: 100 * i,
      length: 7,
      sha256: 'b'.repeat(64),
      reason: `RangeError ${i}`,
      at: new Date().toISOString(),
    }));
    saveState(dataDir, state);
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ dataDir, miner: { logs: [logs] }, workers: [] }));
    const { code, report } = doctor(['--config', cfg]);
    expect(code).toBe(1);
    const q = check(report, 'quarantined lines');
    expect(q).toMatchObject({ ok: false, warning: true });
    expect(q.detail).toMatch(/^6 line\(s\)/);
    expect(q.detail).toContain(`${logs}:500+7 (RangeError 5`);
    expect(q.detail).toContain(`${logs}:100+7 (RangeError 1`);
    expect(q.detail).not.toContain(`${logs}:0+7`); // the last five only
    expect(q.fix).toMatch(/^report it; the lines were skipped/);
  });

  it('a live collector on the data dir is named with its pid (and is not a problem)', async () => {
    const dir = tmp();
    const dataDir = path.join(dir, 'data');
    const script = `const { acquireInstanceLock } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/src/state'))}); acquireInstanceLock(${JSON.stringify(dataDir)}); console.log('READY'); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && resolve()));
      const logs = path.join(dir, 'miner-out.log');
      fs.writeFileSync(logs, '');
      const cfg = path.join(dir, 'c.json');
      fs.writeFileSync(cfg, JSON.stringify({ dataDir, miner: { logs: [logs] }, workers: [] }));
      const { report } = doctor(['--config', cfg]);
      const c = check(report, 'collector');
      expect(c.ok).toBe(true);
      expect(c.detail).toContain(`pid ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  describe('with a real PM2', () => {
    let h: Pm2Harness;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      h = await Pm2Harness.create({ plan: fixedPlan(), mode: 'plain' });
      await h.startApps([
        h.idleApp('miner-dated', { log_date_format: 'YYYY-MM-DD HH:mm:ss Z' }),
        h.idleApp('miner-plain'),
        h.idleApp('worker-plain'),
        h.idleApp('miner-stopped'),
      ]);
      await h.stopApp('miner-stopped');
      env = { ...h.env };
      dir = tmp();
    }, 60000);
    afterAll(async () => {
      await h?.cleanup();
    });

    const cfg = (miner: string, worker: string, dataDir = path.join(dir, 'data')) => {
      const f = path.join(dir, `${miner}-${worker}.json`);
      fs.writeFileSync(f, JSON.stringify({ dataDir, pm2Home: h.home, miner: { pm2App: miner }, workers: [{ name: 'w', pm2App: worker }] }));
      return f;
    };
    const configOf = (miner: string, worker: string): Config => ({
      ...defaultConfig(),
      pm2Home: h.home,
      miner: { pm2App: miner, logs: [] },
      workers: [{ name: 'w', pm2App: worker, endpoint: null, logs: [], outputDir: null }],
    });

    it('a missing worker app and a miner app with log_date_format: each with its fix', () => {
      const missing = doctor(['--config', cfg('miner-plain', 'no-such-worker')], env);
      expect(missing.code).toBe(1);
      const app = check(missing.report, 'app no-such-worker');
      expect(app.ok).toBe(false);
      expect(app.fix).toMatch(/pm2 ls/);

      const dated = doctor(['--config', cfg('miner-dated', 'worker-plain')], env);
      expect(dated.code).toBe(1);
      const opt = check(dated.report, 'miner app log options');
      expect(opt.ok).toBe(false);
      expect(opt.detail).toMatch(/log_date_format/);
      expect(opt.fix).toMatch(/pm2 delete miner-dated/);
    }, 30000);

    it('a misnamed miner app: "not in PM2" with the apps PM2 runs, never "not reachable"', async () => {
      const r = await checkPm2Apps(configOf('miner-typo', 'worker-plain'));
      expect(r).toMatchObject({ reachable: true, pm2Home: h.home, missing: ['miner-typo'], stopped: [] });
      expect(r.apps).toEqual(
        expect.arrayContaining([
          { name: 'miner-plain', status: 'online' },
          { name: 'worker-plain', status: 'online' },
          { name: 'miner-stopped', status: 'stopped' },
        ]),
      );

      // what the daemon logs when it looks for the files
      const said: string[] = [];
      const rec = (_: object, msg: string) => void said.push(msg);
      const logger: Logger = { info: rec, warn: rec, error: rec, debug: rec };
      const specs = await configuredStreams(configOf('miner-typo', 'worker-plain'), logger);
      expect(specs.filter((s) => s.role === 'worker').map((s) => s.file)).toContain(h.appFiles('worker-plain').err);
      const text = said.join('\n');
      expect(text).toContain(`PM2 (PM2_HOME ${h.home}) has no app named miner-typo; the apps it runs: `);
      expect(text).toContain('miner-plain (online)');
      expect(text).toContain('PM2 runs no app miner-typo');
      expect(text).not.toMatch(/not reachable/);

      const d = doctor(['--config', cfg('miner-typo', 'worker-plain')], env);
      expect(d.code).toBe(1);
      const app = check(d.report, 'app miner-typo');
      expect(app.ok).toBe(false);
      expect(app.detail).toContain('runs no app of that name; the apps it runs: ');
      expect(app.detail).toContain('miner-plain (online)');
      expect(app.fix).toMatch(/miner\.pm2App/);
      expect(check(d.report, 'PM2 daemon').ok).toBe(true);
    }, 30000);

    it('PM2 is asked from a child process: the collector never loads the pm2 client (13 MB it would keep)', () => {
      const config = path.join(path.dirname(CLI), '..', 'config');
      const script = `const { checkPm2Apps } = require(${JSON.stringify(config)});
        checkPm2Apps(['miner-plain'], ${JSON.stringify(h.home)}).then((r) => console.log(JSON.stringify({
          online: r.apps.some((a) => a.name === 'miner-plain' && a.status === 'online'), loaded: Object.keys(require.cache).some((k) => k.includes('/node_modules/pm2/')),
        })));`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(JSON.parse(r.stdout)).toEqual({ online: true, loaded: false });
    }, 30000);

    it('a stopped miner app: exit 1, naming it, with pm2 start', async () => {
      expect((await checkPm2Apps(['miner-stopped', 'worker-plain'], h.home)).stopped).toEqual(['miner-stopped']);
      const d = doctor(['--config', cfg('miner-stopped', 'worker-plain')], env);
      expect(d.code).toBe(1);
      const app = check(d.report, 'app miner-stopped');
      expect(app).toMatchObject({ ok: false, fix: 'pm2 start miner-stopped' });
      expect(app.detail).toMatch(/stopped in PM2/);
      expect(check(d.report, 'app worker-plain').ok).toBe(true);
    }, 30000);

    it('no collector: status 3 and doctor fails only that; one running: status 0, all is well; its app stopped: pm2 restart', async () => {
      const dataDir = path.join(dir, 'collected');
      fs.mkdirSync(dataDir);
      const good = cfg('miner-plain', 'worker-plain', dataDir);
      const none = doctor(['--config', good], env);
      expect(none.report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['collector']);
      expect(check(none.report, 'collector').fix).toMatch(/^pm2 start ecosystem\.config\.js/);
      expect(none.code).toBe(1);
      expect(status(dataDir, env).code).toBe(3);

      await h.startApps([h.lockHolderApp(dataDir)]);
      const deadline = Date.now() + 15000;
      while (!readInstanceLock(dataDir)?.alive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const running = doctor(['--config', good], env);
      expect(running.report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(running.code).toBe(0);
      expect(status(dataDir, env).code).toBe(0);

      await h.stopApp('data-collector');
      const stopped = doctor(['--config', good], env);
      expect(check(stopped.report, 'collector')).toMatchObject({ ok: false, fix: expect.stringMatching(/^pm2 restart data-collector/) as unknown });
      expect(check(stopped.report, 'collector').detail).toMatch(/stale lock.*PM2's app data-collector is stopped/);
      expect(stopped.code).toBe(1);
      const st = status(dataDir, env);
      expect(st.code).toBe(3);
      expect(st.out).toMatch(/^collector: not running \(stale lock/);
    }, 45000);
  });
});

describe("the logs' time zone (issue 15, item 6)", () => {
  test('a log whose newest line, read in the configured zone, is hours off its last write is warned about; a fitting one is not', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-zone-'));
    try {
      const log = path.join(d, 'miner-out.log');
      fs.writeFileSync(log, '2025-11-12 21:30:45.123 |       INFO       | bittensor:miner.py:50 | Miner | UID: 7 | Stake: 1.0\nno header here\n');
      // written at 23:30 UTC: "21:30" is the local time of a host two hours west of UTC (Noronha, UTC-2)
      fs.utimesSync(log, new Date(Date.UTC(2025, 10, 12, 23, 30, 50)), new Date(Date.UTC(2025, 10, 12, 23, 30, 50)));
      expect(Math.round(zoneMismatch(log, 'UTC')!.aheadMs / 60_000)).toBe(-120);
      expect(Math.abs(zoneMismatch(log, 'America/Noronha')!.aheadMs)).toBeLessThan(60_000);
      const cfg = path.join(d, 'c.json');
      fs.writeFileSync(cfg, JSON.stringify({ dataDir: path.join(d, 'data'), miner: { logs: [log] }, workers: [], timeZone: 'UTC' }));
      const warned = (await runChecks(configFromFlags({ config: cfg }), undefined)).find((c) => c.name === "miner logs' time zone");
      expect(warned).toMatchObject({ ok: false, warning: true });
      expect(warned!.detail).toContain('read in UTC is 2 h before the file');
      fs.writeFileSync(cfg, JSON.stringify({ dataDir: path.join(d, 'data'), miner: { logs: [log] }, workers: [], timeZone: 'America/Noronha' }));
      expect((await runChecks(configFromFlags({ config: cfg }), undefined)).find((c) => c.name === "miner logs' time zone")).toBeUndefined();
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 30000);
});
