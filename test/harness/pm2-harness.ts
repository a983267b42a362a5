/**
 * Runs the fake miner and its fake workers as apps of a REAL PM2 (pm2 7, this repo's node_modules)
 * with its own PM2_HOME in a temp dir, never the user's. PM2 is driven through its CLI, a child process
 * with that PM2_HOME in its env: `require('pm2')`'s default instance fixes its home from
 * process.env.PM2_HOME when first required (pm2/constants.js), so one jest process could not serve
 * several homes through it. PM2 passes PM2_HOME on to the apps it starts (pm2/lib/API.js), so an
 * extra app (the collector) started in this PM2 reaches this daemon with a plain `pm2.connect()`.
 *
 *   const h = await Pm2Harness.create({ plan: fixedPlan(), mode: 'date' });
 *   await h.start();
 *   const run = await h.waitDone();      // run.truth, run.files.miner.out, ...
 *   await h.cleanup();                   // pm2 kill + every pid gone + temp dir removed
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Plan } from '../fixtures/fake-miner/plan';
import type { TruthLine } from '../fixtures/fake-miner/truth';
import { repoRoot } from '../fixtures/fake-miner/runtime';

export type Pm2Mode = 'plain' | 'date' | 'json';

/** The repository root, from test/harness/ under ts-jest or from dist/test/harness/ (a bench). */
export const REPO = repoRoot();
export const PM2_BIN = path.join(REPO, 'node_modules', 'pm2', 'bin', 'pm2');
const FAKE_DIST = path.join(REPO, 'dist', 'test', 'fixtures', 'fake-miner');

/** An entry of a PM2 ecosystem file (only what we use is typed; anything else passes through). */
export interface Pm2App {
  name: string;
  script: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  out_file?: string;
  error_file?: string;
  log_date_format?: string;
  log_type?: 'json';
  [key: string]: unknown;
}

export interface HarnessOptions {
  plan: Plan;
  /** plain (no PM2 log options), date (`log_date_format`), json (`log_type: 'json'`). Default plain. */
  mode?: Pm2Mode;
  /** For mode 'date'. Default 'YYYY-MM-DD HH:mm:ss Z' (as `pm2 start --time` but with seconds). */
  dateFormat?: string;
  /** Which apps get the mode's options (default all; 'miner' leaves the workers plain). */
  modeApps?: 'all' | 'miner';
  /** TZ of the fake apps: the miner's header times are local times of this zone. Default 'UTC'. */
  tz?: string;
  /** Parent of the temp dir (default os.tmpdir()). */
  tmpRoot?: string;
  /** Leave the temp dir after cleanup() (for a look at the files); env FAKE_MINER_KEEP=1 does the same. */
  keep?: boolean;
}

export interface AppFiles {
  app: string;
  out: string;
  err: string;
}

export interface RunFiles {
  miner: AppFiles;
  workers: AppFiles[];
}

/** Written by the fake miner when the whole plan has run. */
export interface DoneInfo {
  tasks: number;
  truthLines: number;
  minerStarts: number;
}

export interface RunResult {
  runDir: string;
  logDir: string;
  files: RunFiles;
  truth: TruthLine[];
  done: DoneInfo;
  /** From start() to the done file. */
  elapsedMs: number;
}

export interface AppStatus {
  name: string;
  pid: number;
  status: string;
  restarts: number;
  out: string;
  err: string;
}

export interface KillReport {
  /** Every pid the harness knew of (daemon and apps, past and present). */
  pids: number[];
  /** Pids that outlived `pm2 kill` and had to be SIGKILLed (should be empty). */
  forced: number[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Until `files` stop growing for `quietMs` (at most 50 looks). */
async function untilQuiet(files: string[], quietMs: number): Promise<void> {
  const sizes = () => files.map((f) => fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0).join();
  for (let last = sizes(), i = 0; i < 50; i++) {
    await sleep(quietMs);
    const now = sizes();
    if (now === last) return;
    last = now;
  }
}

/**
 * Builds a fixture's fakes (tsc on its folder's tsconfig: test/fixtures/fake-miner by default, or
 * fake-generation) when dist/ lacks them or is older than the sources; a lock dir keeps parallel jest
 * workers from building at once.
 */
export function ensureFakesBuilt(fixture = 'fake-miner'): void {
  const src = path.join(REPO, 'test', 'fixtures', fixture);
  const dist = path.join(REPO, 'dist', 'test', 'fixtures', fixture);
  const sources = fs.readdirSync(src).filter((f) => f.endsWith('.ts'));
  const stale = () =>
    sources.some((f) => {
      const js = path.join(dist, f.replace(/\.ts$/, '.js'));
      return !fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(src, f)).mtimeMs;
    });
  if (!stale()) return;
  const lock = path.join(os.tmpdir(), `fake-miner-build-${Buffer.from(REPO).toString('hex').slice(-16)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held too long`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // sync sleep: another worker builds
    }
  }
  try {
    if (!stale()) return;
    try {
      execFileSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(src, 'tsconfig.json')], {
        cwd: REPO,
        stdio: 'pipe',
      });
    } catch (e) {
      // tsc emits despite type errors (elsewhere in the tree, say); only missing output is fatal
      if (stale()) throw new Error(`building the fakes failed: ${String((e as { stdout?: Buffer }).stdout ?? e)}`, { cause: e });
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export class Pm2Harness {
  readonly root: string;
  /** PM2_HOME of this harness's PM2 daemon. */
  readonly home: string;
  /** The plan, the truth, the fakes' state and work dirs. */
  readonly runDir: string;
  /** Where PM2 writes the apps' log files. */
  readonly logDir: string;
  readonly planPath: string;
  readonly mode: Pm2Mode;
  /** Env for anything that must talk to this PM2 (PM2_HOME set; the caller's PM2 variables removed). */
  readonly env: NodeJS.ProcessEnv;
  private startedAt = 0;
  private readonly knownPids = new Set<number>();

  private constructor(
    readonly plan: Plan,
    private readonly opts: HarnessOptions,
  ) {
    this.root = fs.mkdtempSync(path.join(opts.tmpRoot ?? os.tmpdir(), 'fake-miner-'));
    this.home = path.join(this.root, 'pm2');
    this.runDir = path.join(this.root, 'run');
    this.logDir = path.join(this.root, 'logs');
    for (const d of [this.home, this.runDir, this.logDir]) fs.mkdirSync(d, { recursive: true });
    this.planPath = path.join(this.runDir, 'plan.json');
    this.mode = opts.mode ?? 'plain';
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(PM2_|pm_|PM2$)/.test(k)) env[k] = v;
    this.env = { ...env, PM2_HOME: this.home, FORCE_COLOR: '0' };
  }

  static async create(opts: HarnessOptions): Promise<Pm2Harness> {
    ensureFakesBuilt();
    return new Pm2Harness(structuredClone(opts.plan), opts);
  }

  /** Runs the pm2 CLI against this PM2_HOME; resolves with its stdout. */
  pm2(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [PM2_BIN, ...args], { env: this.env, timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`pm2 ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  appFiles(app: string): AppFiles {
    return { app, out: path.join(this.logDir, `${app}-out.log`), err: path.join(this.logDir, `${app}-error.log`) };
  }

  get files(): RunFiles {
    return { miner: this.appFiles(this.plan.minerApp), workers: this.plan.endpoints.map((e) => this.appFiles(e.workerApp)) };
  }

  /** An app definition with the mode's log options and log files in logDir; for extra apps too. */
  app(def: Pm2App, applyMode = true): Pm2App {
    const files = this.appFiles(def.name);
    const a: Pm2App = {
      interpreter: process.execPath,
      out_file: files.out,
      error_file: files.err,
      autorestart: true,
      restart_delay: 100,
      max_restarts: 50,
      kill_timeout: 1000,
      ...def,
      env: { TZ: this.opts.tz ?? 'UTC', ...def.env },
    };
    if (applyMode && this.mode === 'date') a.log_date_format = this.opts.dateFormat ?? 'YYYY-MM-DD HH:mm:ss Z';
    if (applyMode && this.mode === 'json') a.log_type = 'json';
    return a;
  }

  /** An app that only prints a tick now and then (a stand-in miner or worker whose lines do not matter). */
  idleApp(name: string, extra: Partial<Pm2App> = {}): Pm2App {
    const script = path.join(this.root, 'idle.js');
    if (!fs.existsSync(script)) fs.writeFileSync(script, 'setInterval(() => console.log("tick"), 200);\n');
    return this.app({ name, script, interpreter: process.execPath, ...extra }, false);
  }

  /**
   * An app that holds the collector's instance lock of `dataDir` as a running collector does (from
   * dist/: build first), until PM2 stops it; the lock is then stale (its pid is gone).
   */
  lockHolderApp(dataDir: string, name = 'data-collector'): Pm2App {
    const script = path.join(this.root, `hold-lock-${name}.js`);
    const state = path.join(REPO, 'dist', 'src', 'state');
    fs.writeFileSync(
      script,
      `require(${JSON.stringify(state)}).acquireInstanceLock(${JSON.stringify(dataDir)});\nconsole.log('holding');\nsetInterval(() => {}, 1000);\n`,
    );
    return this.app({ name, script, interpreter: process.execPath, autorestart: false }, false);
  }

  /** The miner's and the workers' app definitions. */
  fakeApps(): Pm2App[] {
    const workersToo = (this.opts.modeApps ?? 'all') === 'all';
    return [
      this.app({ name: this.plan.minerApp, script: path.join(FAKE_DIST, 'miner.js'), args: ['--plan', this.planPath], cwd: this.runDir }),
      ...this.plan.endpoints.map((e, i) =>
        this.app(
          { name: e.workerApp, script: path.join(FAKE_DIST, 'worker.js'), args: ['--plan', this.planPath, '--endpoint', String(i)], cwd: this.runDir },
          workersToo,
        ),
      ),
    ];
  }

  /** Writes the plan (with the clock's real origin) and starts the fakes, plus `extraApps` if given. */
  async start(extraApps: Pm2App[] = []): Promise<void> {
    this.plan.clock.originMs = Date.now();
    fs.writeFileSync(this.planPath, JSON.stringify(this.plan, null, 1));
    this.startedAt = Date.now();
    // workers first, so the first requests find them listening
    const apps = this.fakeApps();
    await this.startApps([...apps.slice(1), apps[0]!, ...extraApps]);
  }

  /** Starts app definitions (already passed through app() or raw) from an ecosystem file. */
  async startApps(apps: Pm2App[]): Promise<void> {
    const eco = path.join(this.root, `ecosystem-${Date.now()}-${Math.floor(Math.random() * 1e6)}.json`);
    fs.writeFileSync(eco, JSON.stringify({ apps }, null, 1));
    await this.pm2('start', eco);
    await this.rememberPids();
  }

  /** Waits for the miner's done file, then for PM2 to have written what the fakes printed. */
  async waitDone(timeoutMs = 60_000): Promise<RunResult> {
    const done = path.join(this.runDir, 'done');
    const deadline = Date.now() + timeoutMs;
    while (!fs.existsSync(done)) {
      if (Date.now() > deadline) throw new Error(`plan not done after ${timeoutMs} ms\n${await this.diagnose()}`);
      await sleep(100);
    }
    const elapsedMs = Date.now() - this.startedAt;
    await this.settle();
    await this.rememberPids();
    return {
      runDir: this.runDir,
      logDir: this.logDir,
      files: this.files,
      truth: this.truth(),
      done: JSON.parse(fs.readFileSync(done, 'utf8')) as DoneInfo,
      elapsedMs,
    };
  }

  /** PM2 writes asynchronously: wait until the workers' files stop growing (the miner never does: stats). */
  async settle(quietMs = 300): Promise<void> {
    await untilQuiet(this.files.workers.flatMap((w) => [w.out, w.err]), quietMs);
  }

  truth(): TruthLine[] {
    const file = path.join(this.runDir, 'truth.jsonl');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as TruthLine)
      .sort((a, b) => a.index - b.index);
  }

  async status(): Promise<AppStatus[]> {
    const list = JSON.parse(await this.pm2('jlist')) as {
      name: string;
      pid: number;
      pm2_env: { status: string; restart_time: number; pm_out_log_path: string; pm_err_log_path: string };
    }[];
    return list.map((p) => ({
      name: p.name,
      pid: p.pid,
      status: p.pm2_env.status,
      restarts: p.pm2_env.restart_time,
      out: p.pm2_env.pm_out_log_path,
      err: p.pm2_env.pm_err_log_path,
    }));
  }

  async startApp(name: string): Promise<void> {
    await this.pm2('start', name);
    await this.rememberPids();
  }
  /**
   * `pm2 stop`, then until PM2 has written what the app printed: the daemon writes a stopped app's last
   * output after the stop returns, so a flush or a copy-truncate right away could lose it.
   */
  async stopApp(name: string): Promise<void> {
    await this.pm2('stop', name);
    const files = this.appFiles(name);
    await untilQuiet([files.out, files.err], 200);
  }
  async restartApp(name: string): Promise<void> {
    await this.pm2('restart', name);
    await this.rememberPids();
  }
  /** `pm2 flush [app]`: PM2 truncates the log files. A kept run (FAKE_MINER_KEEP) keeps a copy of what was flushed, for a look after. */
  async flush(name?: string): Promise<void> {
    if ((this.opts.keep ?? process.env.FAKE_MINER_KEEP === '1') && name)
      for (const f of [this.appFiles(name).out, this.appFiles(name).err]) {
        // outside the log dir: the collector must not take it for a rotated file
        fs.mkdirSync(path.join(this.root, 'flushed'), { recursive: true });
        if (fs.existsSync(f)) fs.copyFileSync(f, path.join(this.root, 'flushed', `${path.basename(f)}.${Date.now()}`));
      }
    await this.pm2('flush', ...(name ? [name] : []));
  }

  /**
   * What pm2-logrotate does: copy `<app>-out.log` to `<app>-out__YYYY-MM-DD_HH-mm-ss.log` (local time),
   * then truncate the original (PM2 keeps appending to it). Returns the rotated file's path.
   */
  rotate(app: string, stream: 'out' | 'err' = 'out', at = new Date()): string {
    const file = stream === 'out' ? this.appFiles(app).out : this.appFiles(app).err;
    const p2 = (n: number) => String(n).padStart(2, '0');
    const stamp = `${at.getFullYear()}-${p2(at.getMonth() + 1)}-${p2(at.getDate())}_${p2(at.getHours())}-${p2(at.getMinutes())}-${p2(at.getSeconds())}`;
    const rotated = file.replace(/\.log$/, `__${stamp}.log`);
    fs.copyFileSync(file, rotated);
    fs.truncateSync(file, 0);
    return rotated;
  }

  private async rememberPids(): Promise<void> {
    try {
      for (const s of await this.status()) if (s.pid > 0) this.knownPids.add(s.pid);
    } catch {
      // daemon gone: the pid files below still name everything
    }
  }

  /** Every pid known: the daemon's, PM2's pid files, jlist snapshots, and the fakes' own records. */
  private allPids(): number[] {
    const pids = new Set(this.knownPids);
    const read = (f: string) => Number(fs.readFileSync(f, 'utf8').trim());
    const daemon = path.join(this.home, 'pm2.pid');
    if (fs.existsSync(daemon)) pids.add(read(daemon));
    const pidDir = path.join(this.home, 'pids');
    if (fs.existsSync(pidDir)) for (const f of fs.readdirSync(pidDir)) pids.add(read(path.join(pidDir, f)));
    const fakeDir = path.join(this.runDir, 'pids');
    if (fs.existsSync(fakeDir)) for (const f of fs.readdirSync(fakeDir)) pids.add(Number(f.split('.').pop()));
    return [...pids].filter((p) => Number.isInteger(p) && p > 0);
  }

  /** True if `pid` runs and is ours (its command line or env names our temp dir): pids get reused. */
  private ours(pid: number): boolean {
    if (!alive(pid)) return false;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (cmd.includes(this.root)) return true;
      return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(this.root);
    } catch {
      return false;
    }
  }

  /** `pm2 kill` for this PM2_HOME, then makes sure the daemon and every app pid are gone (by pid). */
  async kill(): Promise<KillReport> {
    await this.rememberPids();
    const pids = this.allPids();
    if (fs.existsSync(path.join(this.home, 'pm2.pid')) || fs.existsSync(path.join(this.home, 'rpc.sock'))) {
      await this.pm2('kill').catch(() => undefined);
    }
    const deadline = Date.now() + 5000;
    while (pids.some((p) => this.ours(p)) && Date.now() < deadline) await sleep(50);
    const forced = pids.filter((p) => this.ours(p));
    for (const p of forced) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    return { pids, forced };
  }

  /** kill(), then remove the temp dir unless `keep`. */
  async cleanup(): Promise<KillReport> {
    const report = await this.kill();
    if (!(this.opts.keep ?? process.env.FAKE_MINER_KEEP === '1')) fs.rmSync(this.root, { recursive: true, force: true });
    return report;
  }

  /** What went wrong, for a timeout message: app statuses and the tails of the miner's logs. */
  async diagnose(): Promise<string> {
    const tail = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'latin1').slice(-1500) : '(no file)');
    const status = await this.status().then(
      (s) => s.map((a) => `${a.name}: ${a.status}, ${a.restarts} restarts`).join('\n'),
      (e: unknown) => String(e),
    );
    return `${status}\n--- miner err:\n${tail(this.files.miner.err)}\n--- miner out (tail):\n${tail(this.files.miner.out).replace(/[A-Za-z0-9+/=]{200,}/g, '<base64>')}`;
  }
}

/** A pid that runs (a zombie counts as gone: it has exited, only its parent has not reaped it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Shorthand: create, start, wait for the plan to be done. Call `harness.cleanup()` afterwards. */
export async function runPlan(opts: HarnessOptions & { timeoutMs?: number }): Promise<{ harness: Pm2Harness; run: RunResult }> {
  const harness = await Pm2Harness.create(opts);
  try {
    await harness.start();
    return { harness, run: await harness.waitDone(opts.timeoutMs) };
  } catch (e) {
    await harness.cleanup();
    throw e;
  }
}
