/** The flags of the commands that run the pipeline (`run`, `ingest`): its inputs, the rules file, log paths. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';
import { minerAppOf, outputDirsOf } from '../pipeline/inputs';
import type { PipelineInputs } from '../pipeline/wiring';
import type { StreamSpec } from '../parse';
import type { Logger } from '../common/logger';
import { CollectorError } from '../common/errors';

/** The input flags of `run` and `ingest`. */
export const INPUT_FLAGS = {
  'miner-log': { type: 'string', multiple: true },
  'worker-log': { type: 'string', multiple: true },
  'output-dir': { type: 'string', multiple: true },
  'miner-app': { type: 'string' },
  rules: { type: 'string' },
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'time-zone': { type: 'string' },
} as const;

/** The pipeline's inputs from the shared flags, for `run` and `ingest` alike. */
export function pipelineInputs(
  values: { 'output-dir'?: string[]; 'miner-app'?: string; rules?: string },
  config: Config,
  streams: StreamSpec[],
  logger: Logger,
): PipelineInputs {
  return {
    config,
    streams,
    outputDirs: outputDirsOf(config, streams, values['output-dir'] ?? []),
    minerApp: minerAppOf(streams, config, values['miner-app']),
    rulesFile: readRulesFile(values.rules ?? config.rulesFile ?? undefined),
    logger,
  };
}

export function readRulesFile(file: string | undefined): unknown {
  if (!file) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CollectorError('CONFIG_INVALID', `cannot read the rules file: ${(err as Error).message}`, file, 'fix the JSON');
  }
}

/** The flags that name log files: each takes several paths (`--miner-log a b c`, what a shell glob gives) and globs. */
const PATH_FLAGS = new Set(['--miner-log', '--worker-log']);

/**
 * `--miner-log a b c --x` -> `--miner-log a --miner-log b --miner-log c --x`, and each path's glob
 * (`*`, `?` in its file name, e.g. `miner-out*.log*` for the rotated and gzipped copies) expanded to
 * the matching files, sorted. A `--worker-log NAME=GLOB` keeps its NAME for every file.
 */
export function expandPathArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (!PATH_FLAGS.has(flag)) {
      out.push(flag);
      continue;
    }
    while (i + 1 < args.length && !args[i + 1]!.startsWith('--')) {
      const value = args[++i]!;
      const eq = value.indexOf('=');
      const name = eq > 0 && !value.slice(0, eq).includes('/') ? value.slice(0, eq + 1) : '';
      for (const p of globFiles(value.slice(name.length))) out.push(flag, name + p);
    }
  }
  return out;
}

/** A path whose file name holds `*` or `?`: the files of its directory that match, sorted; else the path itself. */
function globFiles(p: string): string[] {
  const base = path.basename(p);
  if (!/[*?]/.test(base)) return [p];
  const dir = path.dirname(p);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [p];
  }
  const found = names.filter((n) => re.test(n)).sort();
  return found.length ? found.map((n) => path.join(dir, n)) : [p];
}
