/** The flags several commands share: the config and data dir, the pipeline's inputs, the rules file. */
import * as fs from 'node:fs';
import { defaultConfig, loadConfigFile, type Config } from '../config';
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

/** The collector's config when no --config is given (looked for in the working directory). */
export const DEFAULT_CONFIG_FILE = 'data-collector.config.json';

/** The config from --config (or $DC_CONFIG, or ./data-collector.config.json), with the flags that override it. */
export function configFromFlags(values: { config?: string; 'data-dir'?: string; 'time-zone'?: string }): Config {
  const file = values.config ?? process.env.DC_CONFIG ?? (fs.existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  const config = file ? loadConfigFile(file) : defaultConfig();
  if (values['data-dir']) config.dataDir = values['data-dir'];
  if (values['time-zone']) config.timeZone = values['time-zone'];
  return config;
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

