/** Which files feed the pipeline, and what each belongs to (the miner, or a worker group). */
import * as path from 'node:path';
import { pm2FileName, type Config } from '../config';
import type { StreamSpec } from '../parse';

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
    const file = path.resolve(f);
    const named = pm2FileName(file);
    specs.push({ app: minerApp ?? named?.app ?? path.basename(file), role: 'miner', group: 'miner', stream: named?.stream ?? 'out', file });
  }
  for (const w of workerLogs) {
    const { group, file: f } = parseWorkerLogFlag(w);
    const file = path.resolve(f);
    const named = pm2FileName(file);
    const app = named?.app ?? path.basename(file);
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
