/**
 * Where each PM2 app's log files are. Asks the operator's running PM2 daemon through the `pm2`
 * package (in a short-lived child process), but only when that daemon is there (its pid file names a
 * live process and its RPC socket exists): `pm2.connect` would otherwise start a new daemon. Without one, PM2's naming convention:
 * `$PM2_HOME/logs/<app>-out.log` and `-error.log`, `-<n>` per instance when logs are not merged.
 * One `list` call answers everything: each app's files and settings, and (`checkPm2Apps`) which
 * configured apps PM2 does not run or runs stopped, for the daemon's warnings and `doctor`.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from './config';

export interface AppLogs {
  app: string;
  out: string[];
  error: string[];
  /** How they were found, for the start-up log and `doctor`. */
  foundBy: 'pm2' | 'convention';
  /** PM2's settings that matter: a `log_date_format` on the miner destroys long lines. */
  logDateFormat: string | null;
  logType: string | null;
  /** False when PM2 knows no such app (or, by convention, no file exists yet). */
  known: boolean;
}

export function pm2HomeOf(configured: string | null): string {
  return configured ?? process.env.PM2_HOME ?? path.join(os.homedir(), '.pm2');
}

/** True when a PM2 daemon runs for this PM2_HOME (pid file with a live pid, and its RPC socket). */
export function pm2DaemonRunning(pm2Home: string): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return fs.existsSync(path.join(pm2Home, 'rpc.sock'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PM2's convention: `<app>-out.log`, or `<app>-out-<n>.log` per instance. */
export function conventionalLogs(pm2Home: string, app: string): AppLogs {
  const dir = path.join(pm2Home, 'logs');
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    /* no logs yet */
  }
  const find = (stream: string): string[] => {
    const re = new RegExp(`^${app.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-${stream}-\\d+\\.log$`);
    const instances = names.filter((n) => re.test(n)).map((n) => path.join(dir, n));
    return instances.length ? instances.sort() : [path.join(dir, `${app}-${stream}.log`)];
  };
  const out = find('out');
  const error = find('error');
  return {
    app,
    out,
    error,
    foundBy: 'convention',
    logDateFormat: null,
    logType: null,
    known: [...out, ...error].some((f) => fs.existsSync(f)),
  };
}

interface Pm2Description {
  name?: string;
  pm2_env?: {
    status?: string;
    pm_out_log_path?: string;
    pm_err_log_path?: string;
    log_date_format?: string;
    log_type?: string;
    time?: boolean;
  };
}

/**
 * The child that asks PM2: `pm2`'s client, connected to the running daemon, lists its processes and
 * prints only what the collector reads of each (its name, status, log files and log settings; never
 * an app's environment). In a child, the client (13 MB of RSS once loaded) never stays in the daemon.
 * argv: the `pm2` package's main file, PM2_HOME. Its answer is the line that starts with LIST_MARK
 * (the client may print lines of its own).
 */
const LIST_MARK = 'data-collector pm2 list: ';
const LIST_SCRIPT = `
const [main, home] = process.argv.slice(1);
process.env.PM2_HOME = home;
const { custom: Pm2 } = require(main);
// daemon mode: with a daemon already there, connect only attaches (no modules launched)
const api = new Pm2({ pm2_home: home, independent: false, daemon_mode: true });
api.connect((err) => {
  if (err) process.exit(2);
  api.list((err, list) => {
    if (err) process.exit(3);
    const keep = (list || []).map((d) => {
      const e = d.pm2_env || {};
      return { name: d.name, pm2_env: { status: e.status, pm_out_log_path: e.pm_out_log_path, pm_err_log_path: e.pm_err_log_path, log_date_format: e.log_date_format, log_type: e.log_type, time: e.time } };
    });
    process.stdout.write('\\n${LIST_MARK}' + JSON.stringify(keep) + '\\n', () => process.exit(0));
  });
});
`;

/**
 * Every process the daemon of `pm2Home` runs, from ONE `list` call (in a child process); null when no
 * daemon answers (none there, or no answer within `timeoutMs`). Never starts a daemon, never throws.
 */
function listPm2(pm2Home: string, timeoutMs: number): Promise<Pm2Description[] | null> {
  if (!pm2DaemonRunning(pm2Home)) return Promise.resolve(null);
  return new Promise((resolve) => {
    try {
      const args = ['-e', LIST_SCRIPT, require.resolve('pm2'), pm2Home];
      execFile(process.execPath, args, { env: { ...process.env, PM2_HOME: pm2Home }, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout) => {
        if (err) return resolve(null);
        try {
          const answer = stdout.split('\n').find((l) => l.startsWith(LIST_MARK));
          const list = answer === undefined ? null : (JSON.parse(answer.slice(LIST_MARK.length)) as unknown);
          resolve(Array.isArray(list) ? (list as Pm2Description[]) : null);
        } catch {
          resolve(null);
        }
      });
    } catch {
      resolve(null);
    }
  });
}

function logsFromList(list: Pm2Description[], app: string): AppLogs {
  const mine = list.filter((d) => d.name === app);
  const envs = mine.map((d) => d.pm2_env ?? {});
  const uniq = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x && x !== '/dev/null'))];
  const first = envs[0];
  return {
    app,
    out: uniq(envs.map((e) => e.pm_out_log_path)),
    error: uniq(envs.map((e) => e.pm_err_log_path)),
    foundBy: 'pm2',
    logDateFormat: first?.log_date_format ?? (first?.time ? 'time' : null),
    logType: first?.log_type ?? null,
    known: mine.length > 0,
  };
}

/** Asks the running daemon; resolves null when it cannot be asked. Never starts a daemon. */
export async function askPm2(pm2Home: string, apps: string[], timeoutMs = 5000): Promise<Map<string, AppLogs> | null> {
  const list = await listPm2(pm2Home, timeoutMs);
  return list && new Map(apps.map((app) => [app, logsFromList(list, app)]));
}

/** What PM2 says about the configured apps (`checkPm2Apps`). */
export interface Pm2AppsReport {
  /** False when no PM2 daemon answers for `pm2Home` (then `apps`, `missing` and `stopped` are empty). */
  reachable: boolean;
  /** The PM2_HOME asked. */
  pm2Home: string;
  /**
   * Every app PM2 runs, in PM2's order, one entry per name: `online` when any of its instances is,
   * else the first instance's status (`stopped`, `errored`, `launching`, ...).
   */
  apps: { name: string; status: string }[];
  /** Configured apps PM2 does not list. */
  missing: string[];
  /** Configured apps PM2 lists but that are not online. */
  stopped: string[];
}

/**
 * The PM2 apps the collector reads through PM2: the miner's unless its log files are given, and
 * each worker's that has a `pm2App` and no log files.
 */
export function pm2AppsOf(config: Config): string[] {
  // competition mode follows the generation service alone: there is no miner neuron any more
  if (config.competition) return config.competition.logs.length ? [] : [config.competition.generationApp];
  const apps = [...(config.miner.logs.length ? [] : [config.miner.pm2App]), ...config.workers.filter((w) => w.pm2App && !w.logs.length).map((w) => w.pm2App!)];
  return [...new Set(apps)];
}

/** The report from a list (null: PM2 did not answer). */
function appsReport(list: Pm2Description[] | null, wanted: string[], pm2Home: string): Pm2AppsReport {
  if (!list) return { reachable: false, pm2Home, apps: [], missing: [], stopped: [] };
  const byName = new Map<string, string>();
  for (const d of list) {
    const name = d.name ?? '?';
    const status = d.pm2_env?.status ?? 'unknown';
    const had = byName.get(name);
    if (had === undefined || (had !== 'online' && status === 'online')) byName.set(name, status);
  }
  const apps = [...byName].map(([name, status]) => ({ name, status }));
  return {
    reachable: true,
    pm2Home,
    apps,
    missing: wanted.filter((a) => !byName.has(a)),
    stopped: wanted.filter((a) => byName.has(a) && byName.get(a) !== 'online'),
  };
}

/**
 * Whether PM2 runs the configured apps (a config: `pm2AppsOf`; or app names), with one PM2 `list`
 * call; cheap enough to call every minute. Never throws and never starts a daemon: an unreachable
 * daemon is `reachable: false`.
 */
export async function checkPm2Apps(configOrApps: Config | string[], pm2Home?: string, timeoutMs = 5000): Promise<Pm2AppsReport> {
  const wanted = Array.isArray(configOrApps) ? configOrApps : pm2AppsOf(configOrApps);
  const home = pm2Home ?? pm2HomeOf(Array.isArray(configOrApps) ? null : configOrApps.pm2Home);
  try {
    return appsReport(await listPm2(home, timeoutMs), wanted, home);
  } catch {
    return appsReport(null, wanted, home);
  }
}

/** One line for the operator: why configured apps are not read through PM2 (null when all is well). */
export function describePm2Apps(r: Pm2AppsReport): string | null {
  if (!r.reachable) return `PM2 daemon not reachable (PM2_HOME ${r.pm2Home}: no live pm2.pid and rpc.sock there, or no answer)`;
  const parts: string[] = [];
  const runs = r.apps.length ? r.apps.map((a) => `${a.name} (${a.status})`).join(', ') : 'none';
  if (r.missing.length) parts.push(`PM2 (PM2_HOME ${r.pm2Home}) has no app named ${r.missing.join(', ')}; the apps it runs: ${runs}`);
  if (r.stopped.length) parts.push(`${r.stopped.map((a) => `${a} is ${r.apps.find((x) => x.name === a)?.status}`).join(', ')} in PM2 (start it: ${r.stopped.map((a) => `pm2 start ${a}`).join('; ')})`);
  return parts.length ? parts.join('; ') : null;
}

/** Each app's files, and what PM2 said about the apps (one PM2 call for both). */
export async function discoverAppLogs(pm2Home: string, apps: string[], timeoutMs = 5000): Promise<{ logs: AppLogs[]; pm2: Pm2AppsReport }> {
  const list = await listPm2(pm2Home, timeoutMs);
  const logs = apps.map((app) => {
    const a = list ? logsFromList(list, app) : undefined;
    return a && a.known ? a : { ...conventionalLogs(pm2Home, app), ...(list ? { known: false } : {}) };
  });
  return { logs, pm2: appsReport(list, apps, pm2Home) };
}

/** Each app's files: from the running daemon when there is one, else by convention (said in `foundBy`). */
export async function findAppLogs(pm2Home: string, apps: string[]): Promise<AppLogs[]> {
  return (await discoverAppLogs(pm2Home, apps)).logs;
}
