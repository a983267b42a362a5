/**
 * `doctor` against real problems: a data dir under a regular file, a file size limit, a PM2 app
 * that does not exist, a live collector, and a miner app with a log_date_format, in a real PM2.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fixedPlan } from '../fixtures/fake-miner/plan';
import { Pm2Harness } from '../harness/pm2-harness';
import type { Check } from '../../src/cli/doctor';

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
    let h: Pm2Harness | null = null;
    afterAll(async () => {
      await h?.cleanup();
    });

    it('a missing app and a miner app with log_date_format: each with its fix; a correct setup: all is well', async () => {
      h = await Pm2Harness.create({ plan: fixedPlan(), mode: 'plain' });
      const script = path.join(h.root, 'idle.js');
      fs.writeFileSync(script, 'setInterval(() => console.log("tick"), 200);\n');
      const idle = { script, interpreter: process.execPath };
      await h.startApps([
        h.app({ name: 'miner-dated', ...idle, log_date_format: 'YYYY-MM-DD HH:mm:ss Z' } as never, false),
        h.app({ name: 'miner-plain', ...idle } as never, false),
        h.app({ name: 'worker-plain', ...idle } as never, false),
      ]);
      const env = { ...h.env };
      const dir = tmp();
      const cfg = (miner: string, worker: string) => {
        const f = path.join(dir, `${miner}-${worker}.json`);
        fs.writeFileSync(f, JSON.stringify({ dataDir: path.join(dir, 'data'), pm2Home: h!.home, miner: { pm2App: miner }, workers: [{ name: 'w', pm2App: worker }] }));
        return f;
      };
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

      const good = doctor(['--config', cfg('miner-plain', 'worker-plain')], env);
      expect(good.report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(good.code).toBe(0);
    }, 120000);
  });
});
