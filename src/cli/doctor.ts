/**
 * `data-collector doctor`: everything an operator would otherwise debug by hand (the spec's
 * Troubleshooting section), each problem with the command that fixes it. Exit 0 only when all is well.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFully } from '../common/fsx';
import { freeBytes } from '../sinks/space';
import { askPm2, pm2DaemonRunning, pm2HomeOf, conventionalLogs, type AppLogs, type Config } from '../config';
import { compileRules, DEFAULT_RULES, checkTimeZone } from '../parse';
import { readInstanceLock } from '../state';
import { scanOutputDir } from '../sources';
import type { Command } from './commands';
import { configFromFlags, readRulesFile } from './ingest';
import { parseFlags } from './usage';
import { measureStorage } from '../sinks/space';
import { formatBytes, guardLine } from './storage';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to run or change when not ok. */
  fix: string | null;
}

const HELP = `Usage: data-collector doctor [--config FILE] [--data-dir DIR] [--json]

Checks what stops a collector from recording: the config and rules, the data dir (writable, free
space and days left at the current rate), the PM2 daemon and the apps it runs, their log files, a
log_date_format on the miner's app (PM2 then cuts long lines), and the instance lock. Each problem
comes with its fix. Exit status: 0 when all is well, 1 otherwise.
`;

function dirBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

/** Bytes per day the data dir grew, over the age of its oldest file (null when too young to tell). */
function growthPerDay(dataDir: string): number | null {
  const file = path.join(dataDir, 'generation_history.jsonl');
  let born: number;
  try {
    born = fs.statSync(file).birthtimeMs || fs.statSync(file).ctimeMs;
  } catch {
    return null;
  }
  const days = (Date.now() - born) / 86400000;
  return days < 1 / 24 ? null : dirBytes(dataDir) / days;
}

function checkDataDir(dataDir: string): Check[] {
  const checks: Check[] = [];
  const probe = path.join(dataDir, `.doctor-${process.pid}-${randomBytes(3).toString('hex')}.tmp`);
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o750 });
    const fd = fs.openSync(probe, 'wx', 0o640);
    writeFully(fd, Buffer.alloc(64 * 1024, 0x20));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    checks.push({ name: 'data dir writable', ok: true, detail: dataDir, fix: null });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const fix =
      e.code === 'ENOTDIR' || e.code === 'EEXIST'
        ? `a path component of ${dataDir} is a regular file: choose another dataDir (--data-dir) or move the file`
        : e.code === 'EFBIG'
          ? 'the file size limit (ulimit -f) is too small: raise it (ulimit -f unlimited) for the user that runs PM2'
          : e.code === 'ENOSPC'
            ? `free space on the disk of ${dataDir} (df -h)`
            : `make ${dataDir} writable: sudo chown -R $(whoami) ${dataDir} && chmod 750 ${dataDir}`;
    checks.push({ name: 'data dir writable', ok: false, detail: `${dataDir}: ${e.code ?? e.message}`, fix });
  } finally {
    try {
      fs.rmSync(probe, { force: true });
    } catch {
      /* nothing was created */
    }
  }
  const free = freeBytes(dataDir);
  const perDay = growthPerDay(dataDir);
  if (free !== null) {
    const daysLeft = perDay ? free / perDay : null;
    const low = free < 1024 ** 3 || (daysLeft !== null && daysLeft < 7);
    checks.push({
      name: 'free disk',
      ok: !low,
      detail: `${(free / 1024 ** 3).toFixed(1)} GiB free${perDay ? `, growing ${(perDay / 1024 ** 2).toFixed(1)} MiB/day: ${daysLeft!.toFixed(0)} days left` : ''}`,
      fix: low ? 'free disk space, or set store_ply_files / store_images to false in the config (records keep the hashes)' : null,
    });
  }
  return checks;
}

function checkLogs(role: string, a: AppLogs, miner: boolean): Check[] {
  const checks: Check[] = [];
  const files = [...a.out, ...a.error];
  const unreadable = files.filter((f) => {
    try {
      fs.accessSync(f, fs.constants.R_OK);
      return false;
    } catch {
      return true;
    }
  });
  checks.push({
    name: `${role} logs readable`,
    ok: unreadable.length === 0,
    detail: unreadable.length ? `cannot read ${unreadable.join(', ')}` : files.join(', '),
    fix: unreadable.length ? `check the paths exist and are readable by this user (ls -l ${unreadable.join(' ')}), or give them with --miner-log/--worker-log` : null,
  });
  if (miner && (a.logDateFormat || a.logType === 'json')) {
    checks.push({
      name: 'miner app log options',
      ok: false,
      detail: `${a.app} has ${a.logDateFormat ? `log_date_format "${a.logDateFormat}"` : "log_type 'json'"}: PM2 then splits every line over 64 KiB (every image prompt) and with a date format drops line starts (PM2 issue #6125; see README, Troubleshooting)`,
      fix: `restart the miner without it: pm2 delete ${a.app} && pm2 start <its script or ecosystem file> (remove log_date_format / --time / log_type from its definition) && pm2 save`,
    });
  }
  return checks;
}

/** A worker's output directory: there, readable, and holding files the name pattern takes. */
async function checkOutputDir(worker: string, dir: string, output: Config['output']): Promise<Check> {
  const name = `output dir of ${worker}`;
  let files: number;
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
    files = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile()).length;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      name,
      ok: false,
      detail: missing ? `${dir} does not exist (the collector waits for it)` : `cannot read ${dir}`,
      fix: missing ? 'fix workers[].outputDir, or ignore this until the worker writes its first file' : `make it readable by this user (ls -ld ${dir})`,
    };
  }
  const taken = (await scanOutputDir({ dir, group: worker }, output)).length;
  const ok = files === 0 || taken > 0;
  return {
    name,
    ok,
    detail: `${dir}: ${taken} file(s) match output.namePattern ${output.namePattern} (${files} file(s) at the top)`,
    fix: ok ? null : 'set output.namePattern to match the files the worker writes (docs/outputs.md)',
  };
}

export async function runChecks(config: Config, rulesFlag: string | undefined): Promise<Check[]> {
  const checks: Check[] = [];
  try {
    compileRules(DEFAULT_RULES, readRulesFile(rulesFlag ?? config.rulesFile ?? undefined));
    if (config.timeZone) checkTimeZone(config.timeZone);
    checks.push({ name: 'config and rules', ok: true, detail: 'valid', fix: null });
  } catch (err) {
    checks.push({ name: 'config and rules', ok: false, detail: (err as Error).message, fix: 'fix the file named in the message' });
  }
  checks.push(...checkDataDir(config.dataDir));
  for (const w of config.workers) if (w.outputDir) checks.push(await checkOutputDir(w.name, w.outputDir, config.output));
  try {
    // the storage section: what the data takes by kind, growth, and whether blobs are held back for space
    const r = await measureStorage(config.dataDir, Date.now());
    const guard = guardLine(r, config);
    checks.push({
      name: 'storage',
      ok: guard.ok,
      detail: `JSONL ${formatBytes(r.bytes.jsonl)}, images ${formatBytes(r.bytes.images)}, PLY ${formatBytes(r.bytes.ply)}, archives ${formatBytes(r.bytes.archives)}; +${formatBytes(r.perDay.total)}/day${r.daysUntilFull === null ? '' : `, full in ~${Math.floor(r.daysUntilFull)} days`}; ${guard.text}`,
      fix: guard.ok ? null : 'free disk space (data-collector rotate --prune-older-than MONTHS), lower minFreeBytes, or set store_ply_files / store_images to false',
    });
  } catch {
    /* the data dir check above says why */
  }

  let lock: ReturnType<typeof readInstanceLock> = null;
  try {
    lock = readInstanceLock(config.dataDir);
  } catch {
    /* the data dir check above says why */
  }
  checks.push(
    lock
      ? lock.alive
        ? { name: 'collector', ok: true, detail: `running: pid ${lock.holder?.pid} on ${lock.holder?.host} since ${lock.holder?.started_at}`, fix: null }
        : { name: 'collector', ok: true, detail: `not running; a stale lock (${lock.reason}) is taken over at the next start`, fix: null }
      : { name: 'collector', ok: true, detail: 'not running', fix: null },
  );

  const explicit = config.miner.logs.length > 0;
  const pm2Home = pm2HomeOf(config.pm2Home);
  const apps = [config.miner.pm2App, ...config.workers.filter((w) => w.pm2App && !w.logs.length).map((w) => w.pm2App!)];
  const running = pm2DaemonRunning(pm2Home);
  if (!explicit) {
    checks.push({
      name: 'PM2 daemon',
      ok: running,
      detail: running ? `running (PM2_HOME ${pm2Home})` : `no PM2 daemon answers for PM2_HOME ${pm2Home}`,
      fix: running ? null : 'start the miner under PM2, or set pm2Home / PM2_HOME to the home the miner runs in',
    });
  }
  const asked = running ? await askPm2(pm2Home, apps) : null;
  const appLogs = (app: string): AppLogs => asked?.get(app) ?? conventionalLogs(pm2Home, app);
  if (explicit) checks.push(...checkLogs('miner', { ...conventionalLogs(pm2Home, config.miner.pm2App), out: config.miner.logs, error: [], foundBy: 'convention' }, false));
  for (const app of apps) {
    const a = appLogs(app);
    const miner = app === config.miner.pm2App;
    if (asked) {
      checks.push({
        name: `app ${app}`,
        ok: a.known,
        detail: a.known ? 'known to PM2' : 'PM2 runs no app of that name',
        fix: a.known ? null : `set ${miner ? 'miner.pm2App' : 'workers[].pm2App'} in data-collector.config.json to the name \`pm2 ls\` shows`,
      });
    }
    if (!asked || a.known) checks.push(...checkLogs(miner ? 'miner' : `worker ${app}`, a, miner));
  }
  return checks;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check config, data dir, disk, PM2, log files and lock; each problem with its fix',
  help: HELP,
  async run(args) {
    const { values } = parseFlags('doctor', args, {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      rules: { type: 'string' },
      json: { type: 'boolean' },
    });
    let checks: Check[];
    try {
      checks = await runChecks(configFromFlags(values), values.rules);
    } catch (err) {
      checks = [{ name: 'config and rules', ok: false, detail: (err as Error).message, fix: 'fix the file named in the message' }];
    }
    const ok = checks.every((c) => c.ok);
    if (values.json) process.stdout.write(`${JSON.stringify({ ok, checks }, null, 1)}\n`);
    else {
      for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}\n`);
      process.stdout.write(ok ? 'all is well\n' : `${checks.filter((c) => !c.ok).length} problem(s)\n`);
    }
    return ok ? 0 : 1;
  },
};
