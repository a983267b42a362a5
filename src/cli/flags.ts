/** The flags several commands share: the config and data dir, the pipeline's inputs, the rules file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultConfig, loadConfigFile, type Config } from '../config';
import { minerAppOf, outputDirsOf } from '../pipeline/inputs';
import type { PipelineInputs } from '../pipeline/wiring';
import { checkTimeZone, type StreamSpec } from '../parse';
import type { Logger } from '../common/logger';
import { CollectorError } from '../common/errors';
import { UsageError } from './command';

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

/** The collector's config when no --config is given (looked for in the working directory). */
export const DEFAULT_CONFIG_FILE = 'data-collector.config.json';

/** The config from --config (or $DC_CONFIG, or ./data-collector.config.json), with the flags that override it. */
export function configFromFlags(values: { config?: string; 'data-dir'?: string; 'time-zone'?: string }): Config {
  const file = values.config ?? process.env.DC_CONFIG ?? (fs.existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  const config = file ? loadConfigFile(file) : defaultConfig();
  if (values['data-dir']) config.dataDir = values['data-dir'];
  if (values['time-zone']) config.timeZone = timeZoneFlag(values['time-zone']);
  return config;
}

/** --time-zone ZONE, checked here so a bad zone is a usage error and not a RangeError deep in a parse. */
function timeZoneFlag(zone: string): string {
  try {
    checkTimeZone(zone);
  } catch {
    throw new UsageError(`--time-zone: '${zone}' is not a time zone; give an IANA zone, e.g. --time-zone Europe/Berlin (or UTC)`);
  }
  return zone;
}

/** The data dir a command reads must exist (exit 1 naming it); commands that create it do not call this. */
export function existingDataDir(command: string, dataDir: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch {
    throw new CollectorError('NOT_FOUND', `${command}: the data dir does not exist`, dataDir, 'give --data-dir DIR (or dataDir in the config); the collector creates it when it first runs');
  }
  if (!st.isDirectory()) throw new CollectorError('NOT_A_DIRECTORY', `${command}: the data dir is not a directory`, dataDir, 'give the right --data-dir (or dataDir in the config)');
  return dataDir;
}

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
