/**
 * The daemon as the operator runs it (`data-collector run` with a config, a child process that asks a
 * running PM2 daemon for the miner app's log file, here a dummy app in the bench's own PM2_HOME, and
 * follows it):
 * - latency from a feedback line being written to its record being in the data file (p50/p99 over
 *   N tasks; the store fsyncs in the same call, so it is durable one fsync later), beside the same
 *   run's bare `write` + `fsync` of one line;
 * - CPU (share of one core) right after the load and idle (30-60 s after it), RSS and anonymous
 *   memory idle, and both under 10 tasks/s with 500 KB image prompts.
 * Run: node dist/bench/daemon.js [--tasks N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { printRows, type BenchRow } from './report';

const CLI = path.resolve(__dirname, '../src/cli/main.js');
const PM2 = require.resolve('pm2/bin/pm2');
/** The node flags and environment PM2 starts the collector with (ecosystem.config.js): measured as it runs. */
const ECOSYSTEM_APP = (require('../../ecosystem.config.js') as { apps: { node_args?: string; env?: Record<string, string> }[] }).apps[0]!;
const NODE_ARGS = String(ECOSYSTEM_APP.node_args ?? '')
  .split(' ')
  .filter(Boolean);
const CHILD_ENV = { ...process.env, ...ECOSYSTEM_APP.env, DC_LOG_FORMAT: 'json', DC_LOG_LEVEL: 'warn' };
const TICKS = 100; // USER_HZ on Linux

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}
const line = (ms: number, msg: string) => `${stamp(ms)} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
/**
 * The process's own memory (anonymous pages: V8's heap, buffers, malloc), without the file-backed
 * pages RSS also counts: the node binary's code and ICU data, shared with every node process.
 */
function anonMb(pid: number): number {
  const m = /^Anonymous:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * A collector as deployed: the apps (PM2 apps of the bench's own daemon in `dir/home`, idle: the bench
 * writes the miner's log file itself, starting with the neuron line) and `data-collector run` with a
 * config naming that PM2_HOME (`config` adds to it), started as PM2 would (ecosystem's flags and env).
 */
function underPm2(dir: string, home: string, apps: string[], config: { dataDir: string; workers?: unknown[] }) {
  const pm2Home = path.join(dir, home);
  const pm2Env = { ...process.env, PM2_HOME: pm2Home };
  const app = path.join(dir, `${home}-app.js`);
  fs.writeFileSync(app, 'setInterval(() => {}, 60000);\n');
  for (const name of apps) execFileSync(process.execPath, [PM2, 'start', app, '--name', name], { env: pm2Env, stdio: 'ignore' });
  const log = path.join(pm2Home, 'logs', 'miner-sn17-mainnet-out.log');
  fs.appendFileSync(log, line(Date.now(), 'Running neuron on subnet 17 with uid 226 using network: wss://entrypoint-finney.opentensor.ai:443'));
  const configFile = path.join(dir, `${home}.config.json`);
  fs.writeFileSync(configFile, JSON.stringify({ ...config, timeZone: 'UTC', pm2Home }));
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'], env: CHILD_ENV });
  return { child, log, pm2Env, dataFile: path.join(config.dataDir, 'generation_history.jsonl') };
}

/** A text task's lines: received, generating and completed; then its feedback and detail. */
function textTask(ms: number, prompt: string): { generation: string; feedback: string } {
  return {
    generation: line(ms, `Task received. Prompt: ${prompt}.`) + line(ms + 1, `Generating for prompt: ${prompt} with timeout None seconds`) + line(ms + 2, 'Generation completed. Size: 1000'),
    feedback: line(ms + 3, `Feedback received from [57]. Score: 0.7. (${prompt})`) + line(ms + 4, 'Average score: 0.6. Current duel rating: 1500.0. Accepted results (last 4h): 1. Reward: 0.01.'),
  };
}

export async function benchDaemon(tasks = 1000): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-daemon-'));
  const { child, log, dataFile, pm2Env } = underPm2(dir, 'pm2', ['miner-sn17-mainnet'], { dataDir: path.join(dir, 'data'), workers: [] });
  const fd = fs.openSync(log, 'a');
  try {
    await sleep(1500);
    // baseline: one line written and fsynced by us
    const bare: number[] = [];
    const probe = fs.openSync(path.join(dir, 'probe'), 'a');
    for (let i = 0; i < 200; i++) {
      const t0 = process.hrtime.bigint();
      fs.writeSync(probe, line(Date.now(), 'x'));
      fs.fsyncSync(probe);
      bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    fs.closeSync(probe);

    const latencies: number[] = [];
    let readTo = 0;
    let records = 0;
    for (let i = 0; i < tasks; i++) {
      const task = textTask(Date.now(), `a bench chair number ${i}`);
      fs.writeSync(fd, task.generation);
      await sleep(2);
      const t0 = process.hrtime.bigint();
      fs.writeSync(fd, task.feedback);
      // visible: the data file holds i + 1 records (one per task, in order)
      for (;;) {
        let size = 0;
        try {
          size = fs.statSync(dataFile).size;
        } catch {
          /* not yet */
        }
        if (size > readTo) {
          const buf = Buffer.alloc(size - readTo);
          const rfd = fs.openSync(dataFile, 'r');
          fs.readSync(rfd, buf, 0, buf.length, readTo);
          fs.closeSync(rfd);
          readTo = size;
          for (const b of buf) if (b === 10) records++;
        }
        if (records > i) break;
        await new Promise((r) => setTimeout(r, 0));
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }

    // right after the load: the state commits and garbage collection the load left; then idle
    await sleep(2000);
    const after0 = cpuTicks(child.pid!);
    await sleep(10000);
    const afterCpu = (cpuTicks(child.pid!) - after0) / TICKS / 10;
    await sleep(18000);
    const idle0 = cpuTicks(child.pid!);
    await sleep(30000);
    const idleCpu = (cpuTicks(child.pid!) - idle0) / TICKS / 30;
    const idleRss = rssMb(child.pid!);
    const idleAnon = anonMb(child.pid!);

    // 10 tasks/s with 500 KB image prompts, for 10 s
    const blake = await createBLAKE3();
    const load0 = cpuTicks(child.pid!);
    let peakRss = 0;
    for (let i = 0; i < 100; i++) {
      const b64 = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(370_000)]).toString('base64');
      blake.init();
      blake.update(b64);
      const t = Date.now();
      fs.writeSync(fd, line(t, `Task received. Prompt: ${b64}.`) + line(t + 1, `Generating for prompt: ${b64} with timeout None seconds`) + line(t + 2, 'Generation completed. Size: 1000') + line(t + 3, `Feedback received from [57]. Score: 0.7. (image:${blake.digest('hex')})`) + line(t + 4, 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.'));
      peakRss = Math.max(peakRss, rssMb(child.pid!));
      await sleep(100);
    }
    const loadCpu = (cpuTicks(child.pid!) - load0) / TICKS / 10;
    const withOutputs = await idleWithOutputDirs(dir);
    const withWorker = await burstWithWorker(dir, tasks);
    const oneTimer = await bareNodeIdle();
    // a bare process often spends no whole tick in 30 s: then there is no ratio
    const perTimer = (cpu: number) => (oneTimer.cpu > 0 ? cpu / oneTimer.cpu : undefined);
    return [
      { name: 'bare write + fsync of one line', value: pct(bare, 50), unit: 'ms (p50)' },
      // the store writes and fsyncs in one call: durable one fsync after the record shows in the file
      { name: `feedback line -> record in the file, p50 (${tasks} tasks)`, value: pct(latencies, 50), unit: 'ms', baseline: pct(bare, 50), ratio: pct(latencies, 50) / pct(bare, 50) },
      { name: 'feedback line -> record in the file, p99', value: pct(latencies, 99), unit: 'ms', baseline: pct(bare, 99), ratio: pct(latencies, 99) / pct(bare, 99) },
      // what one wake-up a second costs a process on this machine: the unit idle CPU is measured in
      { name: 'bare node, one empty timer a second: idle CPU (30 s)', value: oneTimer.cpu * 100, unit: '%' },
      { name: 'CPU in the 10 s right after the load (share of one core)', value: afterCpu * 100, unit: '%', baseline: oneTimer.cpu * 100, ratio: perTimer(afterCpu) },
      { name: 'idle CPU, 30-60 s after the load', value: idleCpu * 100, unit: '%', baseline: oneTimer.cpu * 100, ratio: perTimer(idleCpu) },
      { name: 'idle RSS, 60 s after the load', value: idleRss, unit: 'MB', baseline: oneTimer.rss, ratio: idleRss / oneTimer.rss },
      { name: 'idle anonymous memory (RSS without the node binary and libraries)', value: idleAnon, unit: 'MB', baseline: oneTimer.anon, ratio: idleAnon / oneTimer.anon },
      { name: 'CPU at 10 image tasks/s (500 KB prompts)', value: loadCpu * 100, unit: '%' },
      { name: 'peak RSS at 10 image tasks/s', value: peakRss, unit: 'MB' },
      { name: 'idle CPU, watching 2 output dirs of 500 files each (fresh)', value: withOutputs.cpu * 100, unit: '%', baseline: idleCpu * 100, ratio: idleCpu > 0 ? withOutputs.cpu / idleCpu : undefined },
      { name: 'idle RSS, watching 2 output dirs', value: withOutputs.rss, unit: 'MB', baseline: idleRss, ratio: withOutputs.rss / idleRss },
      { name: `a worker configured (the default config), ${tasks} tasks in a burst: last record written after`, value: withWorker.doneS, unit: 's' },
      { name: 'a worker configured: CPU in the 10 s after the last record', value: withWorker.afterCpu * 100, unit: '%', baseline: afterCpu * 100, ratio: afterCpu > 0 ? withWorker.afterCpu / afterCpu : undefined },
      { name: 'a worker configured: idle RSS, 30 s after the last record', value: withWorker.rss, unit: 'MB', baseline: idleRss, ratio: withWorker.rss / idleRss },
    ];
  } finally {
    fs.closeSync(fd);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    // this bench's own PM2 daemon, by its PM2_HOME
    execFileSync(process.execPath, [PM2, 'kill'], { env: pm2Env, stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A bare node process that wakes once a second and does nothing: the floor of any process that polls
 * (its CPU), and of any node process (its RSS and anonymous memory).
 */
async function bareNodeIdle(): Promise<{ cpu: number; rss: number; anon: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(2000);
    const t0 = cpuTicks(child.pid!);
    await sleep(30000);
    return { cpu: (cpuTicks(child.pid!) - t0) / TICKS / 30, rss: rssMb(child.pid!), anon: anonMb(child.pid!) };
  } finally {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** A fresh daemon that also watches two worker output directories (chokidar, the 2 s tick, the 30 s rescan): idle CPU and RSS. */
async function idleWithOutputDirs(dir: string): Promise<{ cpu: number; rss: number }> {
  const log = path.join(dir, 'quiet-out.log');
  fs.writeFileSync(log, line(Date.now(), 'Running neuron on subnet 17 with uid 226 using network: wss://entrypoint-finney.opentensor.ai:443'));
  const dirs = ['w1', 'w2'].map((w) => path.join(dir, 'outputs', w));
  for (const d of dirs) {
    fs.mkdirSync(d, { recursive: true });
    for (let i = 0; i < 500; i++) fs.writeFileSync(path.join(d, `gen_${i}.ply`), 'ply\n');
  }
  const args = [...NODE_ARGS, CLI, 'run', '--miner-log', log, '--data-dir', path.join(dir, 'data-outputs'), '--time-zone', 'UTC', ...dirs.flatMap((d) => ['--output-dir', `${path.basename(d)}=${d}`])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: CHILD_ENV });
  try {
    await sleep(3000);
    const t0 = cpuTicks(child.pid!);
    await sleep(30000); // one 30 s rescan of both directories falls in the window
    return { cpu: (cpuTicks(child.pid!) - t0) / TICKS / 30, rss: rssMb(child.pid!) };
  } finally {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * The default config names a worker (`gen-worker-1`, here an idle PM2 app of the bench's daemon): the
 * collector then holds each settled event 3 s of event time for the worker's late lines. `tasks` tasks
 * written 5 ms apart (200 tasks/s, a burst far beyond a miner): when the last record is in the file,
 * the CPU in the 10 s after, and the RSS 30 s after.
 */
async function burstWithWorker(dir: string, tasks: number): Promise<{ doneS: number; afterCpu: number; rss: number }> {
  // the config's workers left out: the default's, gen-worker-1
  const { child, log, dataFile, pm2Env } = underPm2(dir, 'pm2-worker', ['miner-sn17-mainnet', 'gen-worker-1'], { dataDir: path.join(dir, 'data-worker') });
  const records = () => {
    try {
      return fs.readFileSync(dataFile, 'utf8').split('\n').length - 1;
    } catch {
      return 0;
    }
  };
  try {
    await sleep(2500);
    const fd = fs.openSync(log, 'a');
    const t0 = Date.now();
    for (let i = 0; i < tasks; i++) {
      const task = textTask(Date.now(), `a burst chair number ${i}`);
      fs.writeSync(fd, task.generation + task.feedback);
      await sleep(5);
    }
    fs.closeSync(fd);
    while (records() < tasks && Date.now() - t0 < 600_000) await sleep(100);
    const doneS = (Date.now() - t0) / 1000;
    const c0 = cpuTicks(child.pid!);
    await sleep(10000);
    const afterCpu = (cpuTicks(child.pid!) - c0) / TICKS / 10;
    await sleep(20000);
    return { doneS, afterCpu, rss: rssMb(child.pid!) };
  } finally {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
    execFileSync(process.execPath, [PM2, 'kill'], { env: pm2Env, stdio: 'ignore' });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--tasks');
  benchDaemon(i > 0 ? Number(process.argv[i + 1]) : 1000).then(
    (rows) => printRows('The daemon: latency, idle and loaded cost', rows),
    (err: Error) => {
      process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    },
  );
}
