/**
 * The flags every command shares: the config, the data dir, the time zone. Leaf modules only: analyze
 * and export come here too, and must not load the pipeline (input-flags.ts holds what run and ingest add).
 */
import * as fs from 'node:fs';
import { defaultConfig, loadConfigFile, type Config } from '../config/config';
import { checkTimeZone } from '../parse/local-time';
import { CollectorError } from '../common/errors';
import { UsageError } from './command';

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
