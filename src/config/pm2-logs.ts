/**
 * Where each PM2 app's log files are. Asks the operator's running PM2 daemon through the `pm2`
 * package, but only when that daemon is there (its pid file names a live process and its RPC socket
 * exists): `pm2.connect` would otherwise start a new daemon. Without one, PM2's naming convention:
 * `$PM2_HOME/logs/<app>-out.log` and `-error.log`, `-<n>` per instance when logs are not merged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
  pm2_env?: { pm_out_log_path?: string; pm_err_log_path?: string; log_date_format?: string; log_type?: string; time?: boolean };
}

/** Asks the running daemon; resolves null when it cannot be asked. Never starts a daemon. */
export async function askPm2(pm2Home: string, apps: string[], timeoutMs = 5000): Promise<Map<string, AppLogs> | null> {
  if (!pm2DaemonRunning(pm2Home)) return null;
  const prev = process.env.PM2_HOME;
  process.env.PM2_HOME = pm2Home;
  // pm2 reads PM2_HOME when it is loaded; a fresh custom instance reads it here.
  const { custom: Pm2 } = require('pm2') as { custom: new (o: object) => Pm2Api };
  const pm2 = new Pm2({ pm2_home: pm2Home, independent: false, daemon_mode: true });
  try {
    return await withTimeout(timeoutMs, async () => {
      // daemon mode: with a daemon already there, connect only attaches (no modules launched)
      await new Promise<void>((resolve, reject) => pm2.connect((err) => (err ? reject(err) : resolve())));
      const out = new Map<string, AppLogs>();
      for (const app of apps) {
        const list = await new Promise<Pm2Description[]>((resolve, reject) =>
          pm2.describe(app, (err, d) => (err ? reject(err) : resolve(d ?? []))),
        );
        const envs = list.map((d) => d.pm2_env ?? {});
        const uniq = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x && x !== '/dev/null'))];
        const first = envs[0];
        out.set(app, {
          app,
          out: uniq(envs.map((e) => e.pm_out_log_path)),
          error: uniq(envs.map((e) => e.pm_err_log_path)),
          foundBy: 'pm2',
          logDateFormat: first?.log_date_format ?? (first?.time ? 'time' : null),
          logType: first?.log_type ?? null,
          known: list.length > 0,
        });
      }
      return out;
    });
  } catch {
    return null;
  } finally {
    try {
      pm2.disconnect();
    } catch {
      /* not connected */
    }
    if (prev === undefined) delete process.env.PM2_HOME;
    else process.env.PM2_HOME = prev;
  }
}

interface Pm2Api {
  connect(cb: (err?: Error | null) => void): void;
  describe(name: string, cb: (err: Error | null, d?: Pm2Description[]) => void): void;
  disconnect(): void;
}

async function withTimeout<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('pm2 did not answer')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each app's files: from the running daemon when there is one, else by convention (said in `foundBy`). */
export async function findAppLogs(pm2Home: string, apps: string[]): Promise<AppLogs[]> {
  const asked = await askPm2(pm2Home, apps);
  return apps.map((app) => {
    const a = asked?.get(app);
    return a && a.known ? a : { ...conventionalLogs(pm2Home, app), ...(asked ? { known: false } : {}) };
  });
}
