/**
 * `data-collector doctor`: everything an operator would otherwise debug by hand (the spec's
 * Troubleshooting section), each problem with the command that fixes it. Exit 0 only when all is well.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFully } from '../common/fsx';
import { freeBytes } from '../sinks/space';
import { discoverAppLogs, pm2AppsOf, pm2HomeOf, type AppLogs, type Config, type Pm2AppsReport } from '../config';
import { compileRules, DEFAULT_RULES, checkTimeZone, hostTimeZone, localTimeToUtc, parseHeader } from '../parse';
import { readInstanceLock, stateFilePath } from '../state';
import { loadState } from '../pipeline/state-shape';
import { CollectorError } from '../common/errors';
import { scanOutputDir } from '../sources';
import { isGitClone, readCompetitionFacts } from '../sources/state-repo';
import type { CompetitionFacts } from '../parse/competition-state';
import { measureStorage } from '../sinks/space';
import { parseFlags, type Command } from './command';
import { configFromFlags } from './flags';
import { readRulesFile } from './input-flags';
import { formatBytes, guardLine, jsonDocument } from './format';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to run or change when not ok. */
  fix: string | null;
  /** A warning: not ok, but the collector records meanwhile (exit 1 all the same). */
  warning?: true;
}

const HELP = `Usage: data-collector doctor [--config FILE] [--data-dir DIR] [--json]

Checks what stops a collector from recording: the config and rules, the data dir (writable, free
space and days left at the current rate), the PM2 daemon, the miner's and workers' apps (in PM2 and
online), their log files, a log_date_format on the miner's app (PM2 then cuts long lines), whether a
collector runs for the data dir, and lines the collector quarantined (skipped because handling them
failed). Each problem comes with its fix. doctor only reads: it never creates the data dir (its
write test uses the data dir, or the nearest existing parent when it does not exist yet).

Exit status: 0 when all is well, 1 otherwise (a warning included), 2 a usage error.
`;

/** How many quarantined lines doctor names by position. */
const QUARANTINE_SHOWN = 5;

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

/** The data dir, or its nearest existing ancestor when it does not exist yet; an error when a component is not a directory. */
function existingDirOf(dataDir: string): { dir: string; missing: boolean } {
  for (let d = path.resolve(dataDir); ; d = path.dirname(d)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && path.dirname(d) !== d) continue;
      throw err;
    }
    if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
    return { dir: d, missing: d !== path.resolve(dataDir) };
  }
}

/** Writes and removes a 64 KiB probe in the data dir (or its nearest existing parent): never creates the data dir. */
function checkDataDir(dataDir: string): Check[] {
  const checks: Check[] = [];
  let probe: string | null = null;
  let target = dataDir;
  try {
    const { dir, missing } = existingDirOf(dataDir);
    target = dir;
    probe = path.join(dir, `.doctor-${process.pid}-${randomBytes(3).toString('hex')}.tmp`);
    const fd = fs.openSync(probe, 'wx', 0o640);
    try {
      writeFully(fd, Buffer.alloc(64 * 1024, 0x20));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    checks.push({
      name: 'data dir writable',
      ok: true,
      detail: missing ? `${dataDir} does not exist yet; ${dir} is writable, so the collector can create it at its first start` : dataDir,
      fix: null,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const fix =
      e.code === 'ENOTDIR' || e.code === 'EEXIST'
        ? `a path component of ${dataDir} is a regular file: choose another dataDir (--data-dir) or move the file`
        : e.code === 'EFBIG'
          ? 'the file size limit (ulimit -f) is too small: raise it (ulimit -f unlimited) for the user that runs PM2'
          : e.code === 'ENOSPC'
            ? `free space on the disk of ${dataDir} (df -h)`
            : `make ${target} writable: sudo chown -R $(whoami) ${target} && chmod 750 ${target}`;
    checks.push({ name: 'data dir writable', ok: false, detail: `${dataDir}: ${e.code ?? e.message}`, fix });
  } finally {
    try {
      if (probe) fs.rmSync(probe, { force: true });
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

/**
 * Whether a log's times read in `timeZone` fit when the file was written: its newest line with a
 * header time against the file's mtime (a log's mtime is its last append). Null when it cannot tell.
 */
export function zoneMismatch(file: string, timeZone: string): { aheadMs: number; timeText: string } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size === 0) return null;
    const len = Math.min(st.size, 64 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, st.size - len);
    const lines = buf.toString('latin1').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const h = parseHeader(Buffer.from(lines[i]!.slice(0, 256), 'latin1'));
      if (!h) continue;
      const ms = localTimeToUtc(h.zone ? `${h.timeText}${h.zone}` : h.timeText, timeZone);
      if (!Number.isFinite(ms)) return null;
      return { aheadMs: ms - st.mtimeMs, timeText: h.timeText };
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Logs whose newest line is more than 15 minutes off its file's last write, read in the configured zone. */
function checkZone(role: string, files: string[], timeZone: string): Check[] {
  const off = files.map((f) => ({ f, m: zoneMismatch(f, timeZone) })).filter((x) => x.m && Math.abs(x.m.aheadMs) > 15 * 60_000);
  if (!off.length) return [];
  const h = (ms: number) => `${(Math.abs(ms) / 3_600_000).toFixed(1).replace(/\.0$/, '')} h ${ms > 0 ? 'after' : 'before'}`;
  return [
    {
      name: `${role} logs' time zone`,
      ok: false,
      warning: true,
      detail: off.map((x) => `${x.f}: its newest line (${x.m!.timeText}) read in ${timeZone} is ${h(x.m!.aheadMs)} the file's last write`).join('; '),
      fix: `set "timeZone" in the config to the zone of the host that writes these logs (a worker in a container in another zone is corrected live by the collector; the miner's zone must be right)`,
    },
  ];
}

function checkLogs(role: string, a: AppLogs, miner: boolean, timeZone: string): Check[] {
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
  checks.push(...checkZone(role, files.filter((f) => !unreadable.includes(f)), timeZone));
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
async function checkOutputDir(worker: string, dir: string, output: Config['output'], fixKey = 'workers[].outputDir'): Promise<Check> {
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
      fix: missing ? `fix ${fixKey}, or ignore this until the first file is written` : `make it readable by this user (ls -ld ${dir})`,
    };
  }
  const taken = (await scanOutputDir({ dir, group: worker }, output)).length;
  const ok = files === 0 || taken > 0;
  return {
    name,
    ok,
    detail: `${dir}: ${taken} file(s) match output.namePattern ${output.namePattern} (${files} file(s) at the top)`,
    fix: ok ? null : `set ${fixKey === 'workers[].outputDir' ? 'output.namePattern' : 'competition.namePattern'} to match the files written there (docs/outputs.md)`,
  };
}

/**
 * Competition mode: the state repository is a clone git can fetch and read, the hotkey is one the
 * competition knows (in a round's submissions.json), and the output directory is readable.
 */
async function checkCompetition(c: NonNullable<Config['competition']>, output: Config['output']): Promise<Check[]> {
  const checks: Check[] = [];
  const cloneHint = `git clone https://github.com/404-Repo/404-active-competition ${c.stateRepo} (or the repository of the competition you mine)`;
  const clone = await isGitClone(c.stateRepo);
  checks.push({
    name: 'state repository',
    ok: clone,
    detail: clone ? `${c.stateRepo} is a git clone with a remote${c.fetchMinutes > 0 ? `, fetched every ${c.fetchMinutes} min` : ', never fetched (fetchMinutes 0)'}` : `${c.stateRepo} is not the top of a git clone with a remote`,
    fix: clone ? null : cloneHint,
  });
  let facts: CompetitionFacts | null = null;
  try {
    facts = await readCompetitionFacts(c.stateRepo, c.hotkey);
  } catch (err) {
    checks.push({ name: 'state repository read', ok: false, detail: (err as Error).message, fix: clone ? `git -C ${c.stateRepo} status` : cloneHint });
  }
  if (!facts) return [...checks, await checkOutputDir('the generation driver', c.outputDir, { ...output, namePattern: c.namePattern }, 'competition.outputDir')];
  const withPrompts = facts.rounds.filter((r) => r.prompts.length > 0);
  const last = withPrompts.at(-1);
  checks.push({
    name: 'state repository read',
    ok: true,
    detail: `competition ${facts.name ?? '?'} at ${facts.commit.slice(0, 12)} (${new Date(facts.commitMs).toISOString()}): ${withPrompts.length} round(s) with prompts, the last ${last?.round ?? '-'}`,
    fix: null,
  });
  const registered = facts.rounds.filter((r) => r.registered).map((r) => r.round);
  const inLast = last ? last.registered : false;
  checks.push({
    name: 'hotkey in the submissions',
    ok: registered.length > 0,
    ...(registered.length > 0 && !inLast ? { warning: true as const, ok: false } : {}),
    detail: registered.length
      ? `${c.hotkey} submitted in round(s) ${registered.join(', ')}${inLast ? '' : `, not in round ${last?.round ?? '?'}: its generations there get no duel`}`
      : `${c.hotkey} is in no round's submissions.json: no duel will ever name it`,
    fix: registered.length && inLast ? null : 'check competition.hotkey is the public hotkey the submission was registered with (404-cli), and that the submission was revealed for the round',
  });
  if (facts.notUnderstood.length)
    checks.push({
      name: 'state repository files',
      ok: false,
      warning: true,
      detail: `of a shape this collector does not know (not read): ${facts.notUnderstood.map((n) => `${n.file} (${n.reason})`).join('; ')}`,
      fix: 'a newer competition: upgrade data-collector; the rest is read meanwhile',
    });
  checks.push(await checkOutputDir('the generation driver', c.outputDir, { ...output, namePattern: c.namePattern }, 'competition.outputDir'));
  return checks;
}

function appList(r: Pm2AppsReport): string {
  return r.apps.length ? r.apps.map((a) => `${a.name} (${a.status})`).join(', ') : 'none';
}

/** A configured app: in PM2 and online. */
function appCheck(app: string, miner: boolean, r: Pm2AppsReport, competition = false): Check {
  const name = `app ${app}`;
  const role = miner ? 'miner' : competition ? 'generation service' : 'worker';
  if (r.missing.includes(app))
    return {
      name,
      ok: false,
      detail: `PM2 (PM2_HOME ${r.pm2Home}) runs no app of that name; the apps it runs: ${appList(r)}`,
      fix: `set ${miner ? 'miner.pm2App' : competition ? 'competition.generationApp' : 'workers[].pm2App'} in data-collector.config.json to the name \`pm2 ls\` shows`,
    };
  const status = r.apps.find((a) => a.name === app)?.status ?? 'unknown';
  if (status !== 'online')
    return { name, ok: false, detail: `the ${role}'s app is ${status} in PM2: it writes no lines, so nothing is recorded`, fix: `pm2 start ${app}` };
  return { name, ok: true, detail: 'online in PM2', fix: null };
}

/** A collector must run for the data dir: a live instance lock. */
function collectorCheck(dataDir: string, r: Pm2AppsReport): Check {
  let lock: ReturnType<typeof readInstanceLock> = null;
  try {
    lock = readInstanceLock(dataDir);
  } catch {
    /* the data dir check says why */
  }
  if (lock?.alive) return { name: 'collector', ok: true, detail: `running: pid ${lock.holder?.pid} on ${lock.holder?.host} since ${lock.holder?.started_at}`, fix: null };
  const inPm2 = r.apps.find((a) => a.name === 'data-collector');
  return {
    name: 'collector',
    ok: false,
    detail: `no collector runs for ${dataDir}${lock ? ` (a stale lock: ${lock.reason}; taken over at the next start)` : ''}${inPm2 ? `; PM2's app data-collector is ${inPm2.status}` : ''}`,
    fix: inPm2 ? 'pm2 restart data-collector (then pm2 logs data-collector if it stops again)' : 'pm2 start ecosystem.config.js (in the data-collector directory, with the PM2_HOME the miner runs in), then pm2 save',
  };
}

/** The state file: readable, and the lines the collector quarantined (a warning: they were skipped). */
function checkState(dataDir: string): Check[] {
  if (!fs.existsSync(stateFilePath(dataDir))) return [];
  let quarantine;
  try {
    quarantine = loadState(dataDir).quarantine;
  } catch (err) {
    const e = err instanceof CollectorError ? err : null;
    return [{ name: 'state file', ok: false, detail: e ? e.message : (err as Error).message, fix: e?.hint ?? `check ${stateFilePath(dataDir)}` }];
  }
  if (!quarantine.length) return [{ name: 'quarantined lines', ok: true, detail: 'none', fix: null }];
  const last = quarantine.slice(-QUARANTINE_SHOWN).map((q) => `${q.file}:${q.offset}+${q.length} (${q.reason}, ${q.at})`);
  return [
    {
      name: 'quarantined lines',
      ok: false,
      warning: true,
      detail: `${quarantine.length} line(s) made the collector fail and were skipped; ${quarantine.length > last.length ? `the last ${last.length}: ` : ''}${last.join('; ')}`,
      fix: 'report it; the lines were skipped (the rest is recorded): give the data-collector version and the positions and reasons above, and the line at a position if it holds no secret',
    },
  ];
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
  if (config.competition) checks.push(...(await checkCompetition(config.competition, config.output)));
  else for (const w of config.workers) if (w.outputDir) checks.push(await checkOutputDir(w.name, w.outputDir, config.output));
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

  checks.push(...checkState(config.dataDir));

  // the apps read through PM2 must be in PM2 and online; an app whose files are given is checked only if PM2 lists it
  const pm2Home = pm2HomeOf(config.pm2Home);
  const needed = pm2AppsOf(config);
  const apps = [...new Set([...needed, ...(config.competition ? [] : [config.miner.pm2App]), 'data-collector'])];
  const { logs, pm2 } = await discoverAppLogs(pm2Home, apps);
  const logsOf = new Map(logs.map((a) => [a.app, a]));
  checks.push(collectorCheck(config.dataDir, pm2));
  if (needed.length) {
    checks.push({
      name: 'PM2 daemon',
      ok: pm2.reachable,
      detail: pm2.reachable ? `running (PM2_HOME ${pm2Home}); its apps: ${appList(pm2)}` : `no PM2 daemon answers for PM2_HOME ${pm2Home}`,
      fix: pm2.reachable ? null : 'start the miner under PM2, or set pm2Home / PM2_HOME to the home the miner runs in',
    });
  }
  const timeZone = config.timeZone ?? hostTimeZone();
  const c = config.competition;
  if (c?.logs.length)
    checks.push(...checkLogs('generation service', { app: c.generationApp, out: c.logs, error: [], foundBy: 'convention', logDateFormat: null, logType: null, known: true }, false, timeZone));
  else if (!c && config.miner.logs.length) checks.push(...checkLogs('miner', { ...logsOf.get(config.miner.pm2App)!, out: config.miner.logs, error: [] }, false, timeZone));
  for (const app of apps) {
    if (app === 'data-collector') continue;
    const miner = app === config.miner.pm2App;
    const isNeeded = needed.includes(app);
    const listed = pm2.reachable && !pm2.missing.includes(app);
    const service = app === config.competition?.generationApp;
    if (pm2.reachable && (isNeeded || listed)) checks.push(appCheck(app, miner && !service, pm2, service));
    if (isNeeded && (!pm2.reachable || listed)) checks.push(...checkLogs(service ? 'generation service' : miner ? 'miner' : `worker ${app}`, logsOf.get(app)!, miner && !service, timeZone));
  }
  return checks;
}

export const doctorCommand: Command = {
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
    if (values.json) process.stdout.write(jsonDocument({ ok, checks }, 1));
    else {
      for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : c.warning ? 'WARN' : 'FAIL'}  ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}\n`);
      process.stdout.write(ok ? 'all is well\n' : `${checks.filter((c) => !c.ok).length} problem(s)\n`);
    }
    return ok ? 0 : 1;
  },
};
