/** Which files feed the pipeline, and what each belongs to (the miner, or a worker group). */
import * as path from 'node:path';
import { describePm2Apps, discoverAppLogs, pm2AppsOf, pm2FileName, pm2HomeOf, type Config } from '../config';
import type { Logger } from '../common/logger';
import type { StreamSpec } from '../parse';
import { resolveConfiguredLink, type OutputDirSpec } from '../sources';
import { CollectorError } from '../common/errors';
import { COMPETITION_GROUP } from '../assemble';

/** `--worker-log NAME=PATH` or `--worker-log PATH` (the group is then the file's PM2 app). */
export function parseWorkerLogFlag(value: string): { group: string | null; file: string } {
  const eq = value.indexOf('=');
  if (eq > 0 && !value.slice(0, eq).includes('/')) return { group: value.slice(0, eq), file: value.slice(eq + 1) };
  return { group: null, file: value };
}

/** The stream specs of explicit files; miner files first (they win event-time ties). */
export function explicitStreams(minerLogs: string[], workerLogs: string[], minerApp: string | null): StreamSpec[] {
  const specs: StreamSpec[] = [];
  for (const f of minerLogs) {
    const named = pm2FileName(path.resolve(f));
    const file = resolveConfiguredLink(path.resolve(f));
    specs.push({ app: minerApp ?? named?.app ?? path.basename(f), role: 'miner', group: 'miner', stream: named?.stream ?? 'out', file });
  }
  for (const w of workerLogs) {
    const { group, file: f } = parseWorkerLogFlag(w);
    const named = pm2FileName(path.resolve(f));
    const file = resolveConfiguredLink(path.resolve(f));
    const app = named?.app ?? path.basename(f);
    specs.push({ app, role: 'worker', group: group ?? app, stream: named?.stream ?? 'error', file });
  }
  return specs;
}

/** The miner app's name: configured, or from the first miner file's PM2 name. */
export function minerAppOf(specs: StreamSpec[], config: Config, flag: string | undefined): string {
  return flag ?? specs.find((s) => s.role === 'miner')?.app ?? config.miner.pm2App;
}

/** Endpoint URL -> worker group, from the config. */
export function endpointGroups(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of config.workers) if (w.endpoint) out[w.endpoint] = w.name;
  return out;
}

/**
 * The files to follow when none are given on the command line: the config's explicit files, else
 * each app's files as its PM2 daemon (or PM2's naming convention) says.
 */
export async function configuredStreams(config: Config, logger: Logger, opts: { pm2ProblemsSaidElsewhere?: boolean } = {}): Promise<StreamSpec[]> {
  const pm2Home = pm2HomeOf(config.pm2Home);
  const apps = pm2AppsOf(config);
  const { logs: found, pm2 } = apps.length ? await discoverAppLogs(pm2Home, apps) : { logs: [], pm2: null };
  const byApp = new Map(found.map((a) => [a.app, a]));
  // "not reachable" only when PM2 did not answer; an app PM2 does not run is said as such, with the apps it runs
  const problem = pm2 && describePm2Apps(pm2);
  if (pm2 && problem && !opts.pm2ProblemsSaidElsewhere) logger.warn({ pm2Home, missing: pm2.missing, stopped: pm2.stopped, pm2Apps: pm2.apps }, problem);
  for (const a of found)
    logger.info(
      { app: a.app, foundBy: a.foundBy, out: a.out, error: a.error, pm2Home },
      a.foundBy === 'pm2'
        ? 'log files from the PM2 daemon'
        : pm2?.reachable
          ? `PM2 runs no app ${a.app}: its log files by PM2 naming convention (waited for)`
          : `PM2 daemon not reachable (PM2_HOME ${pm2Home}): log files by PM2 naming convention`,
    );
  const specs: StreamSpec[] = [];
  const add = (app: string, role: StreamSpec['role'], group: string, files: string[]) => {
    for (const f of files) {
      const named = pm2FileName(path.resolve(f));
      specs.push({ app, role, group, stream: named?.stream ?? (role === 'miner' ? 'out' : 'error'), file: resolveConfiguredLink(path.resolve(f)) });
    }
  };
  if (config.competition) {
    const c = config.competition;
    const f = byApp.get(c.generationApp);
    add(c.generationApp, 'generation', 'generation', c.logs.length ? c.logs : [...(f?.out ?? []), ...(f?.error ?? [])]);
    return specs;
  }
  const minerFound = byApp.get(config.miner.pm2App);
  add(config.miner.pm2App, 'miner', 'miner', config.miner.logs.length ? config.miner.logs : [...(minerFound?.out ?? []), ...(minerFound?.error ?? [])]);
  for (const w of config.workers) {
    const f = w.pm2App ? byApp.get(w.pm2App) : undefined;
    add(w.pm2App ?? w.name, 'worker', w.name, w.logs.length ? w.logs : [...(f?.out ?? []), ...(f?.error ?? [])]);
  }
  return specs;
}

/**
 * The worker output directories to read: `--output-dir [GROUP=]DIR` flags (GROUP: a worker group of
 * the streams; may be left out when there is one), else each config worker's `outputDir`.
 */
export function outputDirsOf(config: Config, streams: StreamSpec[], flags: string[]): OutputDirSpec[] {
  if (config.competition && !flags.length)
    return [{ dir: path.resolve(config.competition.outputDir), group: COMPETITION_GROUP, namePattern: config.competition.namePattern }];
  if (!flags.length) return config.workers.filter((w) => w.outputDir).map((w) => ({ dir: path.resolve(w.outputDir!), group: w.name }));
  const groups = [...new Set(streams.filter((s) => s.role === 'worker').map((s) => s.group))];
  return flags.map((flag) => {
    const { group, file } = parseWorkerLogFlag(flag);
    if (group === null && groups.length !== 1)
      throw new CollectorError(
        'USAGE',
        `--output-dir ${flag}: name its worker group (GROUP=DIR); the worker groups are: ${groups.join(', ') || 'none'}`,
      );
    return { dir: path.resolve(file), group: group ?? groups[0]! };
  });
}
